-- An order_id is unique across all months. Two cheap passes find the colliding
-- keys (repeated within the month, or present in another month: a semi join that skips
-- row groups whose key range cannot match); only those keys are then described.
WITH month_keys AS (
    SELECT order_id FROM raw.orders WHERE month = $month
), colliding AS (
    SELECT order_id FROM month_keys GROUP BY ALL HAVING count(*) > 1
    UNION
    SELECT order_id FROM raw.orders SEMI JOIN month_keys USING (order_id)
    WHERE month <> $month
)
SELECT order_id, count(*) AS copies, list(month ORDER BY month) AS months
FROM raw.orders SEMI JOIN colliding USING (order_id)
GROUP BY ALL
HAVING count(*) > 1;
