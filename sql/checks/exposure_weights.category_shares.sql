-- Shares within each category that has a merchant of some weight must sum to 1. A
-- category whose raw weights sum to 0 (a policy may weigh a tier 0) has shares of 0
-- (spec §7), checked row by row: a merchant of no weight has no share.
-- fsum is compensated (Kahan) summation: a plain sum of ten million floats of about
-- 1e-7 can drift by 1e-9, the check's tolerance, and refuse a month that is right.
SELECT main_category, fsum(exposure_share) AS share_sum, count(*) AS merchants
FROM work.exposure_weights
WHERE month = $month
GROUP BY ALL
HAVING bool_or(eligible AND raw_weight > 0);
