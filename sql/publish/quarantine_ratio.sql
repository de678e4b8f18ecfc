-- Per dataset: rows read and rows quarantined in the month folder.
SELECT dataset, rows_read, rows_quarantined
FROM raw.ingest_log
WHERE month = $month
ORDER BY dataset;
