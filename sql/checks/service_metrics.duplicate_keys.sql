-- One row per merchant and day, across all months. Two cheap passes find the colliding
-- keys: repeated within the month (grouped by hash first, much cheaper than grouping
-- strings; the last step keeps only real repeats), or present in another month (a semi
-- join that skips row groups whose key range cannot match). Only those are described.
WITH month_keys AS (
    SELECT merchant_id, metric_date, hash(merchant_id, metric_date) AS key_hash FROM raw.service_metrics WHERE month = $month
), repeated_hashes AS (
    SELECT key_hash FROM month_keys GROUP BY ALL HAVING count(*) > 1
), colliding AS (
    SELECT merchant_id, metric_date FROM month_keys SEMI JOIN repeated_hashes USING (key_hash)
    UNION
    SELECT merchant_id, metric_date FROM raw.service_metrics SEMI JOIN month_keys USING (merchant_id, metric_date)
    WHERE month <> $month
)
SELECT merchant_id, metric_date, count(*) AS copies, list(month ORDER BY month) AS months
FROM raw.service_metrics SEMI JOIN colliding USING (merchant_id, metric_date)
GROUP BY ALL
HAVING count(*) > 1;
