-- Which feedback rows (their digest) and which counting rule a month's counts come from,
-- and the rule its whole ledger is counted under (the same: grading.month_credit counts the
-- history again when the month before was counted under another).
INSERT OR REPLACE INTO work.feedback_counts_log
    (month, feedback_digest, rule_key, counted_at, ledger_rule_key)
SELECT $month, (SELECT rows_digest FROM raw.ingest_log
                WHERE dataset = 'feedback' AND month = $month),
       $rule_key, CAST(now() AS TIMESTAMP), $rule_key;
