-- An order_id is unique across all months.
SELECT order_id, count(*) AS copies, list(month ORDER BY month) AS months
FROM raw.orders
WHERE order_id IN (SELECT order_id FROM raw.orders WHERE month = $month)
GROUP BY ALL
HAVING count(*) > 1;
