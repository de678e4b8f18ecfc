-- Merchants per month, main category and tier from the published tier_distribution,
-- plus the all-categories total (all_categories = 1) in the same pass.
SELECT month, main_category, GROUPING(main_category) AS all_categories, tier,
       sum(merchants)::BIGINT AS merchants
FROM (
    SELECT month, coalesce(main_category, '(none)') AS main_category, tier, merchants
    FROM main.tier_distribution
    WHERE list_contains($months, month)
)
GROUP BY GROUPING SETS ((month, main_category, tier), (month, tier));
