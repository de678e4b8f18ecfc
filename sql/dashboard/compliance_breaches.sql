-- Breaches of each eligibility rule (spec §6) per month and main category: merchants in
-- breach (one merchant_compliance row per merchant and rule).
SELECT c.month, coalesce(e.main_category, '(none)') AS main_category, c.violation,
       count(*)::BIGINT AS merchants
FROM main.merchant_compliance AS c
LEFT JOIN main.exposure_weights AS e ON e.month = c.month AND e.merchant_id = c.merchant_id
WHERE list_contains($months, c.month)
GROUP BY ALL;
