-- The ineligible merchants of each month with the rules they break, at most $per_category
-- per month and main category (smallest ids first), so that a million merchants do not
-- all travel to the page: the section shows the total and says how many are listed.
SELECT c.month, c.merchant_id, coalesce(e.main_category, '(none)') AS main_category,
       e.tier, list(c.violation ORDER BY c.violation) AS violations
FROM main.merchant_compliance AS c
LEFT JOIN main.exposure_weights AS e ON e.month = c.month AND e.merchant_id = c.merchant_id
WHERE list_contains($months, c.month)
GROUP BY c.month, c.merchant_id, main_category, e.tier
QUALIFY row_number() OVER (
    PARTITION BY c.month, coalesce(e.main_category, '(none)') ORDER BY c.merchant_id
) <= $per_category
ORDER BY c.month, main_category, c.merchant_id;
