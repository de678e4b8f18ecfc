-- The merchants graded in the month: active in its snapshot.
SELECT merchant_id, main_category
FROM raw.merchants
WHERE month = $month AND status = 'active';
