-- Per month, main category, tier and provisional flag: the merchants, their exposure and
-- their discrete resources (spec §7), in one pass over the month's exposure rows joined to
-- their grade (exposure_weights has no provisional flag; merchant_grades no category).
-- A provisional merchant (spec §4: too few orders to be assessed) is a segment of its own.
SELECT e.month, coalesce(e.main_category, '(none)') AS main_category, e.tier,
       coalesce(g.provisional, false) AS provisional,
       count(*)::BIGINT AS merchants,
       count_if(e.eligible)::BIGINT AS eligible,
       sum(e.exposure_share) AS exposure_share,
       sum(e.raw_weight) AS raw_weight,
       sum(e.showcase_slots)::BIGINT AS showcase_slots,
       count_if(e.promotion_eligible)::BIGINT AS promotion_eligible,
       sum(e.email_quota)::BIGINT AS email_quota
FROM main.exposure_weights AS e
LEFT JOIN main.merchant_grades AS g ON g.month = e.month AND g.merchant_id = e.merchant_id
WHERE list_contains($months, e.month)
GROUP BY ALL;
