-- Daily service metrics of a few merchants summed over each month's assessment window,
-- with the same bounds as grading/window_service_sums.sql. The windows arrive as
-- parallel lists (one entry per month) built by pipelines.grading.window_params. The
-- rows are raw.service_metrics as published: a month a run has written and not
-- published reads its kept copy (pipelines.month_journal.as_published_sql).
WITH windows AS (
    SELECT unnest($months) AS month,
           unnest($first_months) AS first_month,
           CAST(unnest($window_starts) AS DATE) AS window_start,
           CAST(unnest($cutoffs) AS DATE) AS cutoff
)
SELECT w.month, s.merchant_id,
       sum(s.messages_received)::BIGINT AS messages_received,
       sum(s.messages_replied_24h)::BIGINT AS messages_replied_24h,
       sum(s.dsr_item_sum)::BIGINT AS dsr_item_sum,
       sum(s.dsr_item_count)::BIGINT AS dsr_item_count,
       sum(s.shipments_due)::BIGINT AS shipments_due,
       sum(s.shipments_on_time)::BIGINT AS shipments_on_time
FROM windows AS w
JOIN (__SERVICE_METRICS__) AS s
  ON s.month BETWEEN w.first_month AND w.month
 AND s.metric_date >= w.window_start AND s.metric_date < w.cutoff
WHERE list_contains($merchants, s.merchant_id)
GROUP BY w.month, s.merchant_id;
