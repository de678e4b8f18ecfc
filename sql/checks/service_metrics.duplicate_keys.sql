-- One row per merchant and day, across all months. The key holds the day, so a row of
-- another month can only collide with this month's rows if its metric_date lies in this
-- month (or this month's row lies outside it): both are date-range filters, which
-- DuckDB answers from row-group statistics, with no join over history. Keys repeated
-- within the month are found by grouping hashes first (much cheaper than grouping
-- strings; the last step keeps only real repeats). Only the colliding keys are described.
WITH month_keys AS (
    SELECT merchant_id, metric_date, hash(merchant_id, metric_date) AS key_hash
    FROM raw.service_metrics WHERE month = $month
), repeated_hashes AS (
    SELECT key_hash FROM month_keys GROUP BY ALL HAVING count(*) > 1
), colliding AS (
    SELECT merchant_id, metric_date FROM month_keys SEMI JOIN repeated_hashes USING (key_hash)
    UNION
    SELECT merchant_id, metric_date FROM raw.service_metrics
    WHERE month <> $month AND metric_date >= $month_start AND metric_date < $cutoff
    UNION
    SELECT merchant_id, metric_date FROM month_keys
    WHERE NOT (metric_date >= $month_start AND metric_date < $cutoff)
)
SELECT merchant_id, metric_date, count(*) AS copies, list(month ORDER BY month) AS months
FROM raw.service_metrics SEMI JOIN colliding USING (merchant_id, metric_date)
GROUP BY ALL
HAVING count(*) > 1;
