-- Months with published grades, oldest first.
SELECT DISTINCT month
FROM main.merchant_grades
ORDER BY month;
