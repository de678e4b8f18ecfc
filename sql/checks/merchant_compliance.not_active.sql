-- Breaches are recorded for active merchants of the snapshot only.
SELECT c.merchant_id, c.violation
FROM work.merchant_compliance c
ANTI JOIN (SELECT merchant_id FROM raw.merchants WHERE month = $month AND status = 'active') a
    USING (merchant_id)
WHERE c.month = $month;
