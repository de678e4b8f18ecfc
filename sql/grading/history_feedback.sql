-- Every feedback row of the credit history at the month's cutoff: all ingested months up to
-- the month, before its cutoff (spec §3). A what-if recounts credit points from these when
-- its credit rules are not the ones the stored ledger was built under.
SELECT merchant_id, buyer_id, stars, feedback_at, order_amount_usd
FROM raw.feedback
WHERE month <= $month AND feedback_at < $cutoff;
