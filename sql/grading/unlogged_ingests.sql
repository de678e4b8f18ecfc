-- The dataset-months of $datasets x $months with no raw.ingest_log row. An ingest that
-- stored its rows and stopped before moving the rejected ones out (pipelines/ingest/
-- load.py, _ingest_direct) leaves one of these with rows in raw.<dataset>: an
-- unfinished ingest, which month_order.unfinished_ingests then looks for in each
-- dataset-month listed here, and only there (usually none is listed: every month of a
-- window was ingested to the end). Reading the months present in raw.<dataset> instead
-- scanned every row of the window on every check.
SELECT d.dataset, m.month
FROM unnest(CAST($datasets AS VARCHAR[])) AS d(dataset)
CROSS JOIN unnest(CAST($months AS VARCHAR[])) AS m(month)
ANTI JOIN raw.ingest_log l ON l.dataset = d.dataset AND l.month = m.month
ORDER BY m.month, d.dataset;
