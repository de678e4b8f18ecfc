-- Feedback ingested in the month folder (its feedback_at lies in the month).
SELECT merchant_id, buyer_id, stars, feedback_at, order_amount_usd
FROM raw.feedback
WHERE month = $month;
