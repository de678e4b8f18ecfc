-- Where each charted metric's values lie over the months shown (nulls left out), so the
-- histogram bins can cover the bulk of the data and every policy threshold. $metrics: the
-- charted metrics (pipelines.dashboard_metrics), one output column each.
SELECT quantile_cont(COLUMNS($metrics), [0.01, 0.99])
FROM main.merchant_grades
WHERE list_contains($months, month);
