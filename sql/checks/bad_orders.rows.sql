-- order_id is not here: raw.bad_orders declares it NOT NULL, so no stored row can lack it
-- (reason, the rest of the key, may be NULL in the table: the suite checks it).
SELECT merchant_id, reason, epoch_us(recorded_at) AS recorded_at_us, exempt
FROM raw.bad_orders
WHERE month = $month;
