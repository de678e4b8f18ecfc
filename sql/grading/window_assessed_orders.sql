-- Orders that ended in the assessment window, any status.
SELECT merchant_id, count(*) AS assessed_orders
FROM raw.orders
WHERE month BETWEEN $first_month AND $month
  AND ended_at >= $window_start AND ended_at < $cutoff
GROUP BY merchant_id;
