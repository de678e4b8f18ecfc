-- Where each charted metric's values lie over the months shown (nulls left out), so the
-- histogram bins can cover the bulk of the data and every policy threshold.
WITH values AS (
    UNPIVOT (
        SELECT bad_order_rate, seller_dispute_rate, positive_feedback_rate, dsr_item_avg
        FROM main.merchant_grades
        WHERE list_contains($months, month)
    )
    ON bad_order_rate, seller_dispute_rate, positive_feedback_rate, dsr_item_avg
    INTO NAME metric VALUE value
)
SELECT metric,
       min(value) AS low,
       max(value) AS high,
       approx_quantile(value, 0.01) AS p01,
       approx_quantile(value, 0.99) AS p99
FROM values
GROUP BY metric;
