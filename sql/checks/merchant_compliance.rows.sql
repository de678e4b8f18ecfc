SELECT merchant_id, violation
FROM work.merchant_compliance
WHERE month = $month;
