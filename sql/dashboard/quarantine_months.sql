-- Per shown month and dataset: rows read and quarantined (raw.ingest_log as published:
-- a month a run has written and not published reads its kept copy), whether the
-- quarantined share is over the limit of the month's policy ($limit_nums[i] /
-- $limit_dens[i] for $months[i], compared exactly by cross-multiplication in HUGEINT, as
-- the blocking check does), and the quarantined rows per reason as published
-- (main.quarantine).
WITH limits AS (
    SELECT unnest($months) AS month, unnest($limit_nums) AS num, unnest($limit_dens) AS den
),
reasons AS (
    SELECT month, dataset, reason, count(*)::BIGINT AS rows_
    FROM main.quarantine
    WHERE list_contains($months, month)
    GROUP BY ALL
),
by_dataset AS (
    SELECT month, dataset,
           list({'reason': reason, 'rows': rows_} ORDER BY rows_ DESC, reason) AS reasons
    FROM reasons
    GROUP BY ALL
)
SELECT l.month, l.dataset, l.rows_read::BIGINT AS rows_read,
       l.rows_quarantined::BIGINT AS rows_quarantined,
       l.rows_quarantined::HUGEINT * lim.den > l.rows_read::HUGEINT * lim.num AS over_limit,
       coalesce(r.reasons, []) AS reasons
FROM (__INGEST_LOG__) AS l
JOIN limits AS lim USING (month)
LEFT JOIN by_dataset AS r USING (month, dataset)
ORDER BY l.month, l.dataset;
