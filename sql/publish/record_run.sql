-- Log the publication; run inside the publishing transaction, before the month is replaced.
INSERT INTO main.run_log
SELECT $month, CAST(now() AS TIMESTAMP), $fingerprint, $policy_version,
       coalesce((SELECT input_fingerprint FROM main.run_log WHERE month = $month
                 ORDER BY published_at DESC LIMIT 1) <> $fingerprint, FALSE),
       (SELECT to_json(map_from_entries(list((tier, merchants) ORDER BY tier)))::VARCHAR
        FROM (SELECT tier, sum(merchants)::BIGINT AS merchants FROM main.tier_distribution
              WHERE month = $month GROUP BY ALL)),
       (SELECT to_json(map_from_entries(list((tier, merchants) ORDER BY tier)))::VARCHAR
        FROM (SELECT tier, sum(merchants)::BIGINT AS merchants FROM work.tier_distribution
              WHERE month = $month GROUP BY ALL)),
       $run_key;
