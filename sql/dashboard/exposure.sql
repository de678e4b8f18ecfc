-- Exposure held by each tier: within a category the exposure shares sum to 1; across
-- all categories (all_categories = 1) the dashboard divides raw weight by its total.
SELECT month, main_category, GROUPING(main_category) AS all_categories, tier,
       sum(exposure_share) AS exposure_share,
       sum(raw_weight) AS raw_weight,
       count(*) FILTER (WHERE eligible)::BIGINT AS eligible
FROM (
    SELECT month, coalesce(main_category, '(none)') AS main_category, tier, exposure_share,
           raw_weight, eligible
    FROM main.exposure_weights
    WHERE list_contains($months, month)
)
GROUP BY GROUPING SETS ((month, main_category, tier), (month, tier));
