-- order_id is not here: raw.orders declares it NOT NULL, so no stored row can lack it.
SELECT merchant_id, buyer_id, created_at, ended_at, epoch_us(ended_at) AS ended_at_us, status,
       CAST(amount_usd AS DOUBLE) AS amount_usd
FROM raw.orders
WHERE month = $month;
