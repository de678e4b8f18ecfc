-- Cells whose count differs from the staged grades (or that exist on one side only).
WITH counted AS (
    SELECT m.main_category, g.tier, count(*) AS merchants
    FROM work.merchant_grades g
    JOIN raw.merchants m ON m.month = g.month AND m.merchant_id = g.merchant_id
    WHERE g.month = $month
    GROUP BY ALL
), published AS (
    SELECT main_category, tier, merchants FROM work.tier_distribution WHERE month = $month
)
SELECT coalesce(c.main_category, p.main_category) AS main_category,
       coalesce(c.tier, p.tier) AS tier, c.merchants AS counted, p.merchants AS distributed
FROM counted c
FULL JOIN published p
    ON p.main_category IS NOT DISTINCT FROM c.main_category AND p.tier = c.tier
WHERE c.merchants IS DISTINCT FROM p.merchants;
