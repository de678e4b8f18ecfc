-- merchant_id is not here: raw.service_metrics declares it NOT NULL, so no stored row can
-- lack it (metric_date, the rest of the key, may be NULL in the table: the suite checks
-- it). dsr_item_max is the ceiling of dsr_item_sum (5 stars per item); where 5 times
-- the count is past 64 bits, it is the largest BIGINT, which every stored sum is within
-- (the product overflowed and stopped the month).
SELECT epoch_us(CAST(metric_date AS TIMESTAMP)) AS metric_date_us, messages_received,
       messages_replied_24h, dsr_item_sum, dsr_item_count,
       CASE WHEN dsr_item_count > 1844674407370955161 THEN 9223372036854775807
            ELSE 5 * dsr_item_count END AS dsr_item_max,
       shipments_due, shipments_on_time
FROM raw.service_metrics
WHERE month = $month;
