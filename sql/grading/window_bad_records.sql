-- Bad-experience records of the window's orders, recorded before the cutoff.
-- order_ended_at was attached at ingest, so no join with order history is needed.
SELECT merchant_id, order_id, reason, exempt
FROM raw.bad_orders
WHERE month <= $month
  AND recorded_at < $cutoff
  AND order_ended_at >= $window_start AND order_ended_at < $cutoff;
