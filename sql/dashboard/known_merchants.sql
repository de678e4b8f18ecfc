-- Which of the requested merchants have a published grade in any of the months shown.
SELECT DISTINCT merchant_id
FROM main.merchant_grades
WHERE list_contains($merchants, merchant_id) AND list_contains($months, month);
