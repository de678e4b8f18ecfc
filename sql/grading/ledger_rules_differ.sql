-- Feedback months up to the month whose stored credit (ledger and period counts) was not
-- counted from exactly the rows now ingested under the given counting rule. None: the
-- stored ledger holds the credit points this rule gives; otherwise they must be recounted.
SELECT count(*)
FROM raw.ingest_log i
WHERE i.dataset = 'feedback' AND i.month <= $month
  AND NOT EXISTS (
      SELECT 1 FROM work.feedback_counts_log c
      WHERE c.month = i.month AND c.rule_key = $rule_key AND c.feedback_digest = i.rows_digest
  );
