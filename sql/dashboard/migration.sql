-- Tier migration: for each month whose previous month is published, how many merchants
-- went from each tier of the previous month to each tier of this one. A NULL from_tier
-- is a merchant new this month, a NULL to_tier one graded last month but not this one.
-- The category is this month's (last month's for those who left).
WITH pairs AS (
    SELECT unnest($months) AS month, unnest($previous_months) AS previous_month
),
graded AS (
    SELECT g.month, g.merchant_id, g.tier,
           coalesce(e.main_category, '(none)') AS main_category
    FROM main.merchant_grades AS g
    LEFT JOIN main.exposure_weights AS e
      ON e.month = g.month AND e.merchant_id = g.merchant_id
    WHERE list_contains($months, g.month) OR list_contains($previous_months, g.month)
),
now AS (
    SELECT p.month, g.merchant_id, g.tier, g.main_category
    FROM pairs AS p JOIN graded AS g ON g.month = p.month
),
before AS (
    SELECT p.month, g.merchant_id, g.tier, g.main_category
    FROM pairs AS p JOIN graded AS g ON g.month = p.previous_month
),
moves AS (
    SELECT coalesce(now.month, before.month) AS month,
           coalesce(now.main_category, before.main_category) AS main_category,
           before.tier AS from_tier, now.tier AS to_tier
    FROM now FULL JOIN before
      ON now.month = before.month AND now.merchant_id = before.merchant_id
)
SELECT month, main_category, GROUPING(main_category) AS all_categories, from_tier, to_tier,
       count(*)::BIGINT AS merchants
FROM moves
GROUP BY GROUPING SETS ((month, main_category, from_tier, to_tier), (month, from_tier, to_tier));
