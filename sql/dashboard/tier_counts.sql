-- Merchants per month, main category and tier, from the published tier_distribution.
-- (The all-categories totals are sums of these, taken by the dashboard.)
SELECT month, coalesce(main_category, '(none)') AS main_category, tier,
       sum(merchants)::BIGINT AS merchants
FROM main.tier_distribution
WHERE list_contains($months, month)
GROUP BY ALL;
