-- Months of the window whose ingested feedback has no stored period counts made from
-- exactly those rows (raw.ingest_log.rows_digest) under the same counting rule. None
-- missing: the window's counts can be added up from work.feedback_period_counts.
SELECT count(*)
FROM raw.ingest_log i
WHERE i.dataset = 'feedback' AND i.month BETWEEN $first_month AND $month
  AND NOT EXISTS (
      SELECT 1 FROM work.feedback_counts_log c
      WHERE c.month = i.month AND c.rule_key = $rule_key AND c.feedback_digest = i.rows_digest
  );
