SELECT order_id, merchant_id, buyer_id, stars, feedback_at
FROM raw.feedback
WHERE month = $month;
