-- Log the publication; run inside the publishing transaction, before the month is replaced.
-- It restates the month when the month was published before and its input fingerprint,
-- its policy version or its grades changed (a restated earlier month moves later months'
-- credit points and windows), and always under an explicit --policy-override.
INSERT INTO main.run_log (
    month, published_at, input_fingerprint, policy_version, restated, old_tier_counts,
    new_tier_counts, run_key, restatement_reason, policy_digest, policy_override,
    landing_digests, rules_version
)
WITH previous AS (
    SELECT month, input_fingerprint, policy_version FROM main.run_log WHERE month = $month
    ORDER BY published_at DESC LIMIT 1
),
grades_changed AS (
    SELECT EXISTS (
        (SELECT * EXCLUDE (policy_version) FROM main.merchant_grades WHERE month = $month
         EXCEPT ALL
         SELECT * EXCLUDE (policy_version) FROM work.merchant_grades WHERE month = $month)
        UNION ALL
        (SELECT * EXCLUDE (policy_version) FROM work.merchant_grades WHERE month = $month
         EXCEPT ALL
         SELECT * EXCLUDE (policy_version) FROM main.merchant_grades WHERE month = $month)
    ) AS changed
),
reasons AS (
    SELECT nullif(concat_ws('; ',
        CASE WHEN $policy_override THEN 'policy override ' || $policy_version END,
        CASE WHEN p.input_fingerprint <> $fingerprint THEN 'inputs changed' END,
        CASE WHEN p.month IS NOT NULL AND NOT $policy_override
                  AND p.policy_version IS DISTINCT FROM $policy_version
             THEN 'policy ' || coalesce(p.policy_version, '(none)') || ' -> '
                  || $policy_version END,
        CASE WHEN p.month IS NOT NULL AND g.changed THEN 'grades changed' END
    ), '') AS reason
    FROM grades_changed g LEFT JOIN previous p ON TRUE
)
SELECT $month, CAST(now() AS TIMESTAMP), $fingerprint, $policy_version,
       r.reason IS NOT NULL,
       (SELECT to_json(map_from_entries(list((tier, merchants) ORDER BY tier)))::VARCHAR
        FROM (SELECT tier, sum(merchants)::BIGINT AS merchants FROM main.tier_distribution
              WHERE month = $month GROUP BY ALL)),
       (SELECT to_json(map_from_entries(list((tier, merchants) ORDER BY tier)))::VARCHAR
        FROM (SELECT tier, sum(merchants)::BIGINT AS merchants FROM work.tier_distribution
              WHERE month = $month GROUP BY ALL)),
       $run_key, r.reason, $policy_digest, $policy_override, $landing_digests, $rules_version
FROM reasons r;
