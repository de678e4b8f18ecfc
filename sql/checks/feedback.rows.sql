-- order_id is not here: raw.feedback declares it NOT NULL, so no stored row can lack it.
SELECT merchant_id, buyer_id, stars, epoch_us(feedback_at) AS feedback_at_us
FROM raw.feedback
WHERE month = $month;
