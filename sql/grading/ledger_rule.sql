-- The counting rule a month's stored credit ledger, all its history, was counted under.
-- A ledger stored before 2026-12-04 (no ledger_rule_key) rolled on the month before's, so
-- it holds one rule only when every month up to it was counted under that rule, by the
-- same code and not counted again since (a later regrade of an earlier month, under
-- another rule, would hide the mix); NULL otherwise, and the next month counts its
-- history again.
SELECT coalesce(
    c.ledger_rule_key,
    CASE WHEN (SELECT count(DISTINCT rule_key) = 1
                      AND count(ledger_rule_key) = 0
                      AND count(*) FILTER (WHERE coalesce(counted_at > c.counted_at, true)) = 0
               FROM work.feedback_counts_log
               WHERE month <= $month)
         THEN c.rule_key END)
FROM work.feedback_counts_log c
WHERE c.month = $month;
