SELECT merchant_id, main_category, tier, level, eligible, raw_weight, exposure_share,
       showcase_slots, promotion_eligible, email_quota
FROM work.exposure_weights
WHERE month = $month;
