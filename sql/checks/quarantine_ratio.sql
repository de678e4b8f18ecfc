-- The month's quarantined share of a dataset, compared exactly: q/n <= p/d <=> q*d <= p*n.
-- In HUGEINT: a policy's limit may have up to 19 decimals (numerator and denominator up
-- to 10**19), whose product with a 64-bit count does not fit 64 bits
-- (pipelines/policy.py, MAX_THRESHOLD_TERM). The what-if's "would this month publish?"
-- (pipelines/checks/quarantine_summary.over_limit) runs this same query.
SELECT dataset, rows_read, rows_quarantined,
       rows_quarantined::HUGEINT * CAST($ratio_den AS HUGEINT)
           <= CAST($ratio_num AS HUGEINT) * rows_read::HUGEINT AS within_limit
FROM raw.ingest_log
WHERE dataset = $dataset AND month = $month;
