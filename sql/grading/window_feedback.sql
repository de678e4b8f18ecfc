-- Feedback given inside the assessment window.
SELECT merchant_id, buyer_id, stars, feedback_at, order_amount_usd
FROM raw.feedback
WHERE month BETWEEN $first_month AND $month
  AND feedback_at >= $window_start AND feedback_at < $cutoff;
