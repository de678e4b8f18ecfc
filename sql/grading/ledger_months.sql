-- Whether the previous month's credit step ran: its ledger rows, or its row in the
-- counts log, which every credit step writes. A ledger may rightly hold no row: no
-- feedback counted yet (every order under the minimum amount, say), or none left once a
-- new policy's rules recounted the history.
SELECT (SELECT count(*) FROM work.credit_ledger WHERE month = $previous_month)
     + (SELECT count(*) FROM work.feedback_counts_log WHERE month = $previous_month);
