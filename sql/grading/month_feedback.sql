-- Feedback ingested in the month folder (its feedback_at lies in the month), before the
-- cutoff: the month end, or the day after a preview's as-of day (spec §11).
SELECT merchant_id, buyer_id, stars, feedback_at, order_amount_usd
FROM raw.feedback
WHERE month = $month AND feedback_at < $cutoff;
