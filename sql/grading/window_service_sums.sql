-- Daily service metrics summed over the window's days.
SELECT merchant_id,
       sum(messages_received)::BIGINT AS messages_received,
       sum(messages_replied_24h)::BIGINT AS messages_replied_24h,
       sum(dsr_item_sum)::BIGINT AS dsr_item_sum,
       sum(dsr_item_count)::BIGINT AS dsr_item_count,
       sum(shipments_due)::BIGINT AS shipments_due,
       sum(shipments_on_time)::BIGINT AS shipments_on_time
FROM raw.service_metrics
WHERE month BETWEEN $first_month AND $month
  AND metric_date >= CAST($window_start AS DATE) AND metric_date < CAST($cutoff AS DATE)
GROUP BY merchant_id;
