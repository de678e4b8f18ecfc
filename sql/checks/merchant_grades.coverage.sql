-- Merchants without exactly one grade, and grades of merchants that are not active.
WITH active AS (
    SELECT merchant_id FROM raw.merchants WHERE month = $month AND status = 'active'
), graded AS (
    SELECT merchant_id, count(*) AS grades FROM work.merchant_grades
    WHERE month = $month GROUP BY ALL
)
SELECT coalesce(a.merchant_id, g.merchant_id) AS merchant_id, coalesce(g.grades, 0) AS grades,
       a.merchant_id IS NOT NULL AS active
FROM active a
FULL JOIN graded g ON g.merchant_id = a.merchant_id
WHERE coalesce(g.grades, 0) <> 1 OR a.merchant_id IS NULL;
