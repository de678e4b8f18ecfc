-- Feedback months ingested before the graded month: credit history that must be in the ledger.
SELECT count(*) AS months, max(month) AS latest
FROM raw.ingest_log
WHERE dataset = 'feedback' AND month < $month AND rows_accepted > 0;
