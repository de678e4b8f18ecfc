SELECT order_id, merchant_id, buyer_id, created_at, ended_at, status,
       CAST(amount_usd AS DOUBLE) AS amount_usd
FROM raw.orders
WHERE month = $month;
