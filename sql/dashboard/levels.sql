-- Merchants per month, main category and level L0-L10, with how many are provisional;
-- all_categories = 1 marks the totals over every category.
WITH graded AS (
    SELECT g.month, coalesce(e.main_category, '(none)') AS main_category, g.level, g.provisional
    FROM main.merchant_grades AS g
    LEFT JOIN main.exposure_weights AS e
      ON e.month = g.month AND e.merchant_id = g.merchant_id
    WHERE list_contains($months, g.month)
)
SELECT month, main_category, GROUPING(main_category) AS all_categories, level,
       count(*)::BIGINT AS merchants,
       count(*) FILTER (WHERE provisional)::BIGINT AS provisional
FROM graded
GROUP BY GROUPING SETS ((month, main_category, level), (month, level));
