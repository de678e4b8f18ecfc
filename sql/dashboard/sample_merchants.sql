-- A small, stable sample of a month's merchants to explain: up to $per_tier of each tier,
-- picked by a hash of the id so the sample is spread over the id range.
SELECT merchant_id, tier
FROM main.merchant_grades
WHERE month = $month
QUALIFY row_number() OVER (PARTITION BY tier ORDER BY md5(merchant_id), merchant_id) <= $per_tier;
