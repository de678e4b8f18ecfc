-- The month's quarantined share of a dataset, compared exactly: q/n <= p/d <=> q*d <= p*n.
SELECT dataset, rows_read, rows_quarantined,
       rows_quarantined * $ratio_den <= $ratio_num * rows_read AS within_limit
FROM raw.ingest_log
WHERE dataset = $dataset AND month = $month;
