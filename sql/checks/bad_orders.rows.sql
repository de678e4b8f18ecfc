SELECT order_id, merchant_id, reason, recorded_at, epoch_us(recorded_at) AS recorded_at_us, exempt
FROM raw.bad_orders
WHERE month = $month;
