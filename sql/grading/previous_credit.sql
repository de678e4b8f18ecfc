-- Cumulative credit at the end of the previous month.
SELECT merchant_id, credit_points
FROM work.credit_ledger
WHERE month = $previous_month;
