-- Histograms of the charted metrics per month and main category, and the provisional
-- count, in one pass over the month's grades joined to their category (the join is the
-- expensive part, so it is done once). Bins are [low + i·width, low + (i+1)·width),
-- i < bins; values outside the range go to the end bins; a NULL bin counts merchants
-- whose metric is not defined. The epsilon keeps a value sitting exactly on a bin edge
-- (0.03 / 0.005 = 5.999…) in the bin that starts there, which is where the policy's
-- comparisons put it. `histogram` names the grouping set a row belongs to.
WITH binned AS (
    SELECT g.month, coalesce(e.main_category, '(none)') AS main_category, g.provisional,
           CASE WHEN g.bad_order_rate IS NOT NULL THEN least(greatest(floor(
               (g.bad_order_rate - $bad_order_rate_low) / $bad_order_rate_width + 1e-9), 0),
               $bad_order_rate_bins - 1) END::INTEGER AS bad_order_rate,
           CASE WHEN g.seller_dispute_rate IS NOT NULL THEN least(greatest(floor(
               (g.seller_dispute_rate - $seller_dispute_rate_low) / $seller_dispute_rate_width
               + 1e-9), 0), $seller_dispute_rate_bins - 1) END::INTEGER AS seller_dispute_rate,
           CASE WHEN g.positive_feedback_rate IS NOT NULL THEN least(greatest(floor(
               (g.positive_feedback_rate - $positive_feedback_rate_low)
               / $positive_feedback_rate_width + 1e-9), 0), $positive_feedback_rate_bins - 1)
               END::INTEGER AS positive_feedback_rate,
           CASE WHEN g.dsr_item_avg IS NOT NULL THEN least(greatest(floor(
               (g.dsr_item_avg - $dsr_item_avg_low) / $dsr_item_avg_width + 1e-9), 0),
               $dsr_item_avg_bins - 1) END::INTEGER AS dsr_item_avg
    FROM main.merchant_grades AS g
    LEFT JOIN main.exposure_weights AS e
      ON e.month = g.month AND e.merchant_id = g.merchant_id
    WHERE list_contains($months, g.month)
)
SELECT month, main_category,
       CASE WHEN GROUPING(provisional) = 0 THEN 'provisional'
            WHEN GROUPING(bad_order_rate) = 0 THEN 'bad_order_rate'
            WHEN GROUPING(seller_dispute_rate) = 0 THEN 'seller_dispute_rate'
            WHEN GROUPING(positive_feedback_rate) = 0 THEN 'positive_feedback_rate'
            ELSE 'dsr_item_avg' END AS histogram,
       CASE WHEN GROUPING(provisional) = 0 THEN provisional::INTEGER
            WHEN GROUPING(bad_order_rate) = 0 THEN bad_order_rate
            WHEN GROUPING(seller_dispute_rate) = 0 THEN seller_dispute_rate
            WHEN GROUPING(positive_feedback_rate) = 0 THEN positive_feedback_rate
            ELSE dsr_item_avg END AS bin,
       count(*)::BIGINT AS merchants
FROM binned
GROUP BY GROUPING SETS (
    (month, main_category, provisional),
    (month, main_category, bad_order_rate),
    (month, main_category, seller_dispute_rate),
    (month, main_category, positive_feedback_rate),
    (month, main_category, dsr_item_avg)
);
