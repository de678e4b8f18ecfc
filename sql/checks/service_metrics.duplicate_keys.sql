-- One row per merchant and day, across all months.
SELECT merchant_id, metric_date, count(*) AS copies, list(month ORDER BY month) AS months
FROM raw.service_metrics
WHERE (merchant_id, metric_date) IN
      (SELECT (merchant_id, metric_date) FROM raw.service_metrics WHERE month = $month)
GROUP BY ALL
HAVING count(*) > 1;
