-- Stored counts of the window's whole periods: those starting on or after its first day.
SELECT merchant_id, period_start, positive_feedback, neutral_feedback, negative_feedback
FROM work.feedback_period_counts
WHERE month BETWEEN $first_month AND $month
  AND period_start >= CAST($window_start AS DATE);
