-- The first merchant and metric whose window sum passes BIGINT, which
-- window_service_sums.sql casts each sum to: every row is in range, their sum is not,
-- and the cast stopped the month naming neither. Run only once that query has failed.
WITH sums AS (
    SELECT merchant_id,
           sum(messages_received)::HUGEINT AS messages_received,
           sum(messages_replied_24h)::HUGEINT AS messages_replied_24h,
           sum(dsr_item_sum)::HUGEINT AS dsr_item_sum,
           sum(dsr_item_count)::HUGEINT AS dsr_item_count,
           sum(shipments_due)::HUGEINT AS shipments_due,
           sum(shipments_on_time)::HUGEINT AS shipments_on_time,
           count(*) AS rows_
    FROM raw.service_metrics
    WHERE month BETWEEN $first_month AND $month
      AND metric_date >= CAST($window_start AS DATE) AND metric_date < CAST($cutoff AS DATE)
    GROUP BY merchant_id
)
SELECT merchant_id, metric, total::VARCHAR, rows_
FROM (UNPIVOT sums ON COLUMNS(* EXCLUDE (merchant_id, rows_)) INTO NAME metric VALUE total)
WHERE total > 9223372036854775807
ORDER BY merchant_id, metric
LIMIT 1;
