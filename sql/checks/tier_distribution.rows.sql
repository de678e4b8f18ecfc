SELECT main_category, tier, merchants
FROM work.tier_distribution
WHERE month = $month;
