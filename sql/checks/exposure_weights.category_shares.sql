-- Shares within each category that has an eligible merchant must sum to 1.
-- fsum is compensated (Kahan) summation: a plain sum of ten million floats of about
-- 1e-7 can drift by 1e-9, the check's tolerance, and refuse a month that is right.
SELECT main_category, fsum(exposure_share) AS share_sum, count(*) AS merchants
FROM work.exposure_weights
WHERE month = $month
GROUP BY ALL
HAVING bool_or(eligible);
