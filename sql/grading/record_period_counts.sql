-- Which feedback rows (their digest) and which counting rule a month's counts come from.
INSERT OR REPLACE INTO work.feedback_counts_log (month, feedback_digest, rule_key, counted_at)
SELECT $month, (SELECT rows_digest FROM raw.ingest_log
                WHERE dataset = 'feedback' AND month = $month),
       $rule_key, CAST(now() AS TIMESTAMP);
