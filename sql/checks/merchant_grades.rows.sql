-- Staged grades with what the policy says they must be, recomputed independently:
-- the level from the bounds, the provisional flag, and whether each rate is defined.
WITH service AS (
    SELECT merchant_id, sum(dsr_item_count) AS dsr_items, sum(shipments_due) AS due,
           sum(messages_received) AS received
    FROM raw.service_metrics
    WHERE month BETWEEN $first_month AND $month
      AND metric_date >= CAST($window_start AS DATE) AND metric_date < CAST($cutoff AS DATE)
    GROUP BY ALL
)
SELECT g.merchant_id, g.credit_points, g.level, g.tier, g.provisional, g.assessed_orders,
       g.bad_order_rate, g.seller_dispute_rate, g.positive_feedback_rate, g.dsr_item_avg,
       g.on_time_ship_rate, g.response_rate_24h,
       CAST(len(list_filter($level_bounds, lambda b: b <= g.credit_points)) AS INTEGER)
           AS expected_level,
       g.assessed_orders < $provisional_min AS expected_provisional,
       (g.bad_order_rate IS NULL) = (g.assessed_orders = 0) AS bad_order_rate_null_iff_undefined,
       (g.seller_dispute_rate IS NULL) = (g.assessed_orders = 0)
           AS seller_dispute_rate_null_iff_undefined,
       (g.positive_feedback_rate IS NULL) = (g.positive_feedback + g.negative_feedback = 0)
           AS positive_feedback_rate_null_iff_undefined,
       (g.dsr_item_avg IS NULL) = (coalesce(s.dsr_items, 0) < $min_dsr_item_count)
           AS dsr_item_avg_null_iff_undefined,
       (g.on_time_ship_rate IS NULL) = (coalesce(s.due, 0) < $min_shipments_due)
           AS on_time_ship_rate_null_iff_undefined,
       (g.response_rate_24h IS NULL) = (coalesce(s.received, 0) < $min_messages_received)
           AS response_rate_24h_null_iff_undefined
FROM work.merchant_grades g
LEFT JOIN service s USING (merchant_id)
WHERE g.month = $month;
