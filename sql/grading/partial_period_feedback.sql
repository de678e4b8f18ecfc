-- Feedback of the period the window starts inside of, from the window's first day on.
SELECT merchant_id, buyer_id, stars, feedback_at, order_amount_usd
FROM raw.feedback
WHERE month = $first_month
  AND feedback_at >= $window_start AND feedback_at < $period_end;
