-- The floor: what DuckDB alone needs for the month's core work. The month's Parquet files
-- are loaded into plain tables (earlier months are already there), then one hand-written
-- query gives each merchant's 90-day aggregates: assessed orders, distinct bad orders,
-- positive and negative feedback. No casts, no quarantine, no checks, no outputs.
INSERT INTO orders SELECT * FROM read_parquet($orders);
INSERT INTO feedback SELECT * FROM read_parquet($feedback);
INSERT INTO bad_orders SELECT * FROM read_parquet($bad_orders);
INSERT INTO service_metrics SELECT * FROM read_parquet($service_metrics);
CREATE OR REPLACE TABLE merchants AS SELECT * FROM read_parquet($merchants);
CREATE OR REPLACE TABLE window_aggregates AS
WITH assessed AS (
    SELECT order_id, merchant_id FROM orders
    WHERE ended_at >= $window_start AND ended_at < $cutoff
), bad AS (
    SELECT a.merchant_id, count(DISTINCT a.order_id) AS bad_orders
    FROM assessed a JOIN bad_orders b USING (order_id)
    WHERE NOT b.exempt AND b.recorded_at < $cutoff
    GROUP BY ALL
), fb AS (
    SELECT merchant_id, count(*) FILTER (WHERE stars >= 4) AS positive_feedback,
           count(*) FILTER (WHERE stars <= 2) AS negative_feedback
    FROM feedback WHERE feedback_at >= $window_start AND feedback_at < $cutoff
    GROUP BY ALL
)
SELECT merchant_id, count(*) AS assessed_orders, coalesce(any_value(bad.bad_orders), 0) AS bad_orders,
       coalesce(any_value(fb.positive_feedback), 0) AS positive_feedback,
       coalesce(any_value(fb.negative_feedback), 0) AS negative_feedback
FROM assessed LEFT JOIN bad USING (merchant_id) LEFT JOIN fb USING (merchant_id)
GROUP BY merchant_id;
