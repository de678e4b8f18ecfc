-- Dataset-months of the window holding raw rows but no raw.ingest_log row: an ingest
-- that stored its rows and stopped before moving the rejected ones out
-- (pipelines/ingest.py, _ingest_direct). A month must not be published on them.
SELECT dataset, month FROM (
    SELECT DISTINCT 'merchants' AS dataset, month FROM raw.merchants
    WHERE month BETWEEN $first_month AND $month
    UNION ALL
    SELECT DISTINCT 'orders', month FROM raw.orders WHERE month BETWEEN $first_month AND $month
    UNION ALL
    SELECT DISTINCT 'service_metrics', month FROM raw.service_metrics
    WHERE month BETWEEN $first_month AND $month
) ANTI JOIN raw.ingest_log USING (dataset, month)
ORDER BY month, dataset;
