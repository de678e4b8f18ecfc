-- Shares within each category that has an eligible merchant must sum to 1.
SELECT main_category, sum(exposure_share) AS share_sum, count(*) AS merchants
FROM work.exposure_weights
WHERE month = $month
GROUP BY ALL
HAVING bool_or(eligible);
