SELECT order_id, merchant_id, buyer_id, stars, feedback_at, epoch_us(feedback_at) AS feedback_at_us
FROM raw.feedback
WHERE month = $month;
