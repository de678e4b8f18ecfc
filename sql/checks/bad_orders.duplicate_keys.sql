-- One record per (order_id, reason), across all months.
SELECT order_id, reason, count(*) AS copies, list(month ORDER BY month) AS months
FROM raw.bad_orders
WHERE (order_id, reason) IN (SELECT (order_id, reason) FROM raw.bad_orders WHERE month = $month)
GROUP BY ALL
HAVING count(*) > 1;
