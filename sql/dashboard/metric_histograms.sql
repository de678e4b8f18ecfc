-- Histograms of the charted metrics ($metrics, from pipelines.dashboard_metrics) per month
-- and main category, and the provisional count, in one pass over the month's grades
-- joined to their category (the join is the expensive part, so it is done once): the
-- metric columns and provisional are unpivoted into (histogram, value) rows. Metric i's
-- bins are [$lows[i] + k·$widths[i], $lows[i] + (k+1)·$widths[i]), k < $bin_counts[i];
-- values outside the range go to the end bins; a NULL bin counts merchants whose metric
-- is not defined. The epsilon keeps a value sitting exactly on a bin edge
-- (0.03 / 0.005 = 5.999…) in the bin that starts there, which is where the policy's
-- comparisons put it. Provisional's "bins" are 0 (false) and 1 (true). Grouping by the
-- histogram's number h rather than its name is cheaper (the unpivot multiplies the rows).
WITH graded AS (
    SELECT g.month, coalesce(e.main_category, '(none)') AS main_category,
           g.provisional::DOUBLE AS provisional, COLUMNS($metrics)::DOUBLE
    FROM main.merchant_grades AS g
    LEFT JOIN main.exposure_weights AS e
      ON e.month = g.month AND e.merchant_id = g.merchant_id
    WHERE list_contains($months, g.month)
),
bins AS (
    SELECT unnest(list_concat(['provisional'], $metrics)) AS histogram,
           unnest(list_concat([0.0::DOUBLE], $lows)) AS low,
           unnest(list_concat([1.0::DOUBLE], $widths)) AS width,
           unnest(list_concat([2], $bin_counts)) AS bins,
           unnest(range(len($metrics) + 1)) AS h
)
SELECT v.month, v.main_category, any_value(v.histogram) AS histogram,
       CASE WHEN v.value IS NOT NULL THEN least(greatest(floor(
           (v.value - b.low) / b.width + 1e-9), 0), b.bins - 1) END::INTEGER AS bin,
       count(*)::BIGINT AS merchants
FROM graded UNPIVOT INCLUDE NULLS (value FOR histogram IN (provisional, COLUMNS($metrics))) AS v
JOIN bins AS b USING (histogram)
GROUP BY v.month, v.main_category, b.h, bin;
