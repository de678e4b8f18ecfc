-- Eligible exactly when the merchant has no compliance violation; one row per grade.
WITH breached AS (
    SELECT DISTINCT merchant_id FROM work.merchant_compliance WHERE month = $month
)
SELECT e.merchant_id, e.eligible, b.merchant_id IS NOT NULL AS breached
FROM work.exposure_weights e
LEFT JOIN breached b USING (merchant_id)
WHERE e.month = $month AND e.eligible = (b.merchant_id IS NOT NULL)
UNION ALL
SELECT g.merchant_id, NULL, NULL
FROM work.merchant_grades g
ANTI JOIN (SELECT merchant_id FROM work.exposure_weights WHERE month = $month) w
    USING (merchant_id)
WHERE g.month = $month;
