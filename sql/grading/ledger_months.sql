SELECT count(*) FROM work.credit_ledger WHERE month = $previous_month;
