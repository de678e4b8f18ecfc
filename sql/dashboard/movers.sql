-- Movers: every merchant graded in a month and in the month before it whose tier differs,
-- with both months' level, reasons and exposure share, and this month's main category.
-- The months arrive as parallel lists ($months[i] follows $previous_months[i]).
WITH pairs AS (
    SELECT unnest($months) AS month, unnest($previous_months) AS previous_month
)
SELECT p.month, g.merchant_id,
       coalesce(e.main_category, '(none)') AS main_category,
       b.tier AS tier_before, g.tier AS tier_after,
       b.level AS level_before, g.level AS level_after,
       coalesce(eb.exposure_share, 0.0) AS share_before,
       coalesce(e.exposure_share, 0.0) AS share_after,
       b.reasons AS reasons_before, g.reasons AS reasons_after
FROM pairs AS p
JOIN main.merchant_grades AS g ON g.month = p.month
JOIN main.merchant_grades AS b
  ON b.month = p.previous_month AND b.merchant_id = g.merchant_id
LEFT JOIN main.exposure_weights AS e ON e.month = g.month AND e.merchant_id = g.merchant_id
LEFT JOIN main.exposure_weights AS eb
  ON eb.month = b.month AND eb.merchant_id = b.merchant_id
WHERE g.tier IS DISTINCT FROM b.tier;
