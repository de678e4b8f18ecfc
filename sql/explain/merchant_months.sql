-- The published months that hold a grade for one merchant (for error messages).
SELECT DISTINCT month
FROM main.merchant_grades
WHERE merchant_id = $merchant
ORDER BY month;
