-- Histograms of the charted metrics per month and main category (and over all categories,
-- all_categories = 1). Bins are [low + i·width, low + (i+1)·width); values outside the
-- range go to the end bins; bin NULL counts merchants whose metric is not defined.
-- The epsilon keeps a value that sits exactly on a bin edge (0.03 / 0.005 = 5.999…)
-- in the bin that starts there, which is where the policy's comparisons put it.
WITH bins AS (
    SELECT unnest($metrics) AS metric, unnest($lows) AS low, unnest($widths) AS width,
           unnest($bin_counts) AS bin_count
),
graded AS (
    SELECT g.month, coalesce(e.main_category, '(none)') AS main_category,
           g.bad_order_rate, g.seller_dispute_rate, g.positive_feedback_rate, g.dsr_item_avg
    FROM main.merchant_grades AS g
    LEFT JOIN main.exposure_weights AS e
      ON e.month = g.month AND e.merchant_id = g.merchant_id
    WHERE list_contains($months, g.month)
),
values AS (
    FROM graded UNPIVOT INCLUDE NULLS (
        value FOR metric IN (bad_order_rate, seller_dispute_rate, positive_feedback_rate,
                             dsr_item_avg)
    )
),
binned AS (
    SELECT v.month, v.main_category, v.metric,
           -- greatest/least skip NULLs, so an undefined value is kept NULL explicitly.
           CASE WHEN v.value IS NOT NULL THEN
               least(greatest(floor((v.value - b.low) / b.width + 1e-9), 0), b.bin_count - 1)
           END::INTEGER AS bin
    FROM values AS v JOIN bins AS b ON b.metric = v.metric
)
SELECT month, main_category, GROUPING(main_category) AS all_categories, metric, bin,
       count(*)::BIGINT AS merchants
FROM binned
GROUP BY GROUPING SETS ((month, main_category, metric, bin), (month, metric, bin));
