-- The counting rule a month's stored credit ledger, all its history, was counted under.
-- A ledger stored before 2026-12-04 (no ledger_rule_key) rolled on the month before's, so
-- it holds one rule only when every month up to it was counted under that rule; NULL
-- otherwise, and the next month counts its history again.
SELECT coalesce(
    c.ledger_rule_key,
    CASE WHEN (SELECT count(DISTINCT rule_key) FROM work.feedback_counts_log
               WHERE month <= $month) = 1
         THEN c.rule_key END)
FROM work.feedback_counts_log c
WHERE c.month = $month;
