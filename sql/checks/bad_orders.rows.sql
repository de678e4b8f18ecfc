SELECT order_id, merchant_id, reason, recorded_at, exempt
FROM raw.bad_orders
WHERE month = $month;
