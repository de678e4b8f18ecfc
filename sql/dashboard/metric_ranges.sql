-- Where each charted metric's values lie over the months shown (nulls left out), so the
-- histogram bins can cover the bulk of the data and every policy threshold.
SELECT quantile_cont(bad_order_rate, [0.01, 0.99]) AS bad_order_rate,
       quantile_cont(seller_dispute_rate, [0.01, 0.99]) AS seller_dispute_rate,
       quantile_cont(positive_feedback_rate, [0.01, 0.99]) AS positive_feedback_rate,
       quantile_cont(dsr_item_avg, [0.01, 0.99]) AS dsr_item_avg
FROM main.merchant_grades
WHERE list_contains($months, month);
