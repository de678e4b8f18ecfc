-- Exposure held by each tier per month and category: within a category the exposure
-- shares sum to 1; across all categories the dashboard divides raw weight by its total.
SELECT month, coalesce(main_category, '(none)') AS main_category, tier,
       sum(exposure_share) AS exposure_share,
       sum(raw_weight) AS raw_weight
FROM main.exposure_weights
WHERE list_contains($months, month)
GROUP BY ALL;
