-- The first merchant and metric whose window sum passes BIGINT, which
-- window_service_sums.sql casts each sum to: every row is in range, their sum is not,
-- and the cast stopped the month naming neither. Run only once that query has failed.
WITH counts AS (
    UNPIVOT (
        SELECT * EXCLUDE (month, metric_date, source_file, source_row)
        FROM raw.service_metrics
        WHERE month BETWEEN $first_month AND $month
          AND metric_date >= CAST($window_start AS DATE) AND metric_date < CAST($cutoff AS DATE)
    )
    ON COLUMNS(* EXCLUDE merchant_id) INTO NAME metric VALUE n
)
SELECT merchant_id, metric, sum(n::HUGEINT)::VARCHAR, count(*)
FROM counts
GROUP BY ALL
HAVING sum(n::HUGEINT) > 9223372036854775807
ORDER BY merchant_id, metric
LIMIT 1;
