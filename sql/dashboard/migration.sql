-- Tier migration: for each month whose previous month is published, how many merchants
-- went from each tier of the previous month to each tier of this one. A NULL from_tier
-- is a merchant new this month, a NULL to_tier one graded last month but not this one.
-- The category is this month's (last month's for those who left). exposure_weights has
-- the tier and category of every graded merchant, so merchant_grades is not read.
WITH pairs AS (
    SELECT unnest($months) AS month, unnest($previous_months) AS previous_month
),
now AS (
    SELECT p.month, e.merchant_id, e.tier, coalesce(e.main_category, '(none)') AS main_category
    FROM pairs AS p JOIN main.exposure_weights AS e ON e.month = p.month
),
before AS (
    SELECT p.month, e.merchant_id, e.tier, coalesce(e.main_category, '(none)') AS main_category
    FROM pairs AS p JOIN main.exposure_weights AS e ON e.month = p.previous_month
),
moves AS (
    SELECT coalesce(now.month, before.month) AS month,
           coalesce(now.main_category, before.main_category) AS main_category,
           before.tier AS from_tier, now.tier AS to_tier
    FROM now FULL JOIN before
      ON now.month = before.month AND now.merchant_id = before.merchant_id
)
SELECT month, main_category, from_tier, to_tier, count(*)::BIGINT AS merchants
FROM moves
GROUP BY ALL;
