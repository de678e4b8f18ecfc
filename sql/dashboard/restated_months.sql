-- Every restatement (main.run_log): a month published again with other results, why, and
-- its tier counts before and after.
SELECT month, published_at, restatement_reason, policy_version, old_tier_counts,
       new_tier_counts
FROM main.run_log
WHERE restated
ORDER BY published_at, month;
