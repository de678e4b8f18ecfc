-- One feedback per order, across all months.
SELECT order_id, count(*) AS copies, list(month ORDER BY month) AS months
FROM raw.feedback
WHERE order_id IN (SELECT order_id FROM raw.feedback WHERE month = $month)
GROUP BY ALL
HAVING count(*) > 1;
