-- Counted feedback per merchant and ten-day period (spec §3) of the rows of a feedback
-- query (month_feedback, window_feedback, ...), read here as the relation feedback_rows:
-- nothing for an order under the minimum amount; per merchant, buyer and period at most
-- one positive, one neutral and one negative. The Spark engine runs it where the rows are,
-- so only these counts reach the driver; the DuckDB engine counts with the polars rule
-- count_feedback_by_period, and tests/test_feedback_period_counts.py holds the two equal.
SELECT merchant_id, period_start,
       CAST(count_if(polarity = 1) AS BIGINT) AS positive_feedback,
       CAST(count_if(polarity = 0) AS BIGINT) AS neutral_feedback,
       CAST(count_if(polarity = -1) AS BIGINT) AS negative_feedback
FROM (
    SELECT DISTINCT
        merchant_id,
        buyer_id,
        make_date(year(feedback_at), month(feedback_at),
                  list_max(list_filter($period_start_days, lambda d: d <= day(feedback_at))))
            AS period_start,
        CASE WHEN stars >= $positive_min_stars THEN 1
             WHEN stars <= $negative_max_stars THEN -1
             ELSE 0 END AS polarity
    FROM feedback_rows
    WHERE order_amount_usd >= CAST($min_order_amount_usd AS DECIMAL(38, 18))
) AS counted
GROUP BY merchant_id, period_start;
