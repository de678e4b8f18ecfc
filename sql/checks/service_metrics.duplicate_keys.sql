-- One row per merchant and day, across all months. The key holds the day, so a row of
-- an earlier month can only collide with this month's rows if its metric_date lies in
-- this month (or this month's row lies outside it): both are date-range filters, which
-- DuckDB answers from row-group statistics, with no join over history. Keys repeated
-- within the month are found by their hashes first (much cheaper than grouping
-- strings; the last step keeps only real repeats). Only the keys this month holds and
-- another row repeats are described: two other months colliding on a day of this month
-- are their own months' fault, which their own checks report.
-- Compared with EARLIER months only, as ingest does (spec §1: the earlier row stands):
-- a later month's copy is that month's duplicate, quarantined when it is regraded, and
-- its own check reports it until then. Each colliding key is described with the months
-- that hold it (the error names key and months).
WITH month_keys AS NOT MATERIALIZED (  -- scanned twice: cheaper than storing the keys
    SELECT merchant_id, metric_date, hash(merchant_id, metric_date) AS key_hash
    FROM raw.service_metrics WHERE month = $month
), repeated_hashes AS (  -- neighbours in hash order: twice as fast as grouping,
    -- the hashes are read again on their own, as sorting month_keys would carry its keys
    SELECT key_hash FROM (
        SELECT key_hash, key_hash = lag(key_hash) OVER (ORDER BY key_hash) AS again
        FROM (SELECT hash(merchant_id, metric_date) AS key_hash FROM raw.service_metrics WHERE month = $month)
    ) WHERE again
), colliding AS (
    SELECT merchant_id, metric_date FROM month_keys SEMI JOIN repeated_hashes USING (key_hash)
    UNION
    SELECT merchant_id, metric_date FROM raw.service_metrics
    WHERE month < $month AND metric_date >= $month_start AND metric_date < $cutoff
    UNION
    SELECT merchant_id, metric_date FROM month_keys
    WHERE NOT (metric_date >= $month_start AND metric_date < $cutoff)
)
SELECT merchant_id, metric_date, count(*) AS copies,
       string_agg(month, ', ' ORDER BY month) AS months
FROM raw.service_metrics SEMI JOIN colliding USING (merchant_id, metric_date)
WHERE month <= $month
GROUP BY ALL
HAVING count(*) > 1 AND bool_or(month = $month);
