-- Months whose latest run did not publish: a blocked data check (or another failure)
-- rolls the month's rows back and leaves main.run_log as it was, so the only trace is
-- journal.landing_seen, the landing files a run saw before it loaded them. A month is
-- listed when files seen by a run differ from those of its latest publication, or when
-- it was never published. published_at: the publication that still stands (NULL: none).
WITH latest AS (
    SELECT month, published_at, landing_digests
    FROM main.run_log
    QUALIFY row_number() OVER (PARTITION BY month ORDER BY published_at DESC) = 1
)
SELECT s.month, max(s.seen_at) AS seen_at, any_value(l.published_at) AS published_at,
       list(s.dataset ORDER BY s.dataset) AS datasets
FROM journal.landing_seen AS s
LEFT JOIN latest AS l USING (month)
WHERE l.month IS NULL
   OR s.files_digest <> json_extract_string(l.landing_digests, '$.' || s.dataset)
GROUP BY s.month
ORDER BY s.month;
