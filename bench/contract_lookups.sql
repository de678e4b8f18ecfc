-- The lookups spec §1 needs for every row of the month and the floor (bench/floor.sql) does
-- not make, each as one plain query over the floor's tables once the floor has run: the
-- month's rows are in them, marked by their `month` column. Each counts what a classifier
-- would quarantine, so that DuckDB has to do the whole join or grouping. Left out, so that
-- the sum stays a lower bound: the casts and value rules of each row, each row's file and
-- row number, storing the order values feedback copies, the quarantine table, the checks.
-- One statement per lookup, named by its first line.

-- feedback_order_lookup: each feedback row's order, known by the month (unknown_order,
-- order_not_completed) and the order values credit needs.
SELECT count(*) FILTER (WHERE o.order_id IS NULL OR o.merchant_id <> f.merchant_id),
       count(*) FILTER (WHERE o.status <> 'completed'),
       sum(o.amount_usd), max(o.ended_at)
FROM feedback f LEFT JOIN orders o ON o.order_id = f.order_id AND o.month <= $month
WHERE f.month = $month;

-- bad_orders_order_lookup: each bad-order record's order (unknown_order).
SELECT count(*) FILTER (WHERE o.order_id IS NULL OR o.merchant_id <> b.merchant_id)
FROM bad_orders b LEFT JOIN orders o ON o.order_id = b.order_id AND o.month <= $month
WHERE b.month = $month;

-- merchant_lookup: each row's merchant, in a snapshot up to the month (unknown_merchant).
SELECT count(*) FROM (
    SELECT merchant_id FROM orders WHERE month = $month
    UNION ALL SELECT merchant_id FROM feedback WHERE month = $month
    UNION ALL SELECT merchant_id FROM bad_orders WHERE month = $month
    UNION ALL SELECT merchant_id FROM service_metrics WHERE month = $month
) r ANTI JOIN (SELECT DISTINCT merchant_id FROM merchant_snapshots WHERE month <= $month) m
USING (merchant_id);

-- keys_repeated_in_month: keys two rows of the month hold (duplicate_key, or copies), one
-- statement per dataset.
SELECT count(*) FROM (SELECT order_id FROM orders WHERE month = $month
                      GROUP BY ALL HAVING count(*) > 1);
SELECT count(*) FROM (SELECT order_id FROM feedback WHERE month = $month
                      GROUP BY ALL HAVING count(*) > 1);
SELECT count(*) FROM (SELECT order_id, reason FROM bad_orders WHERE month = $month
                      GROUP BY ALL HAVING count(*) > 1);
SELECT count(*) FROM (SELECT merchant_id, metric_date FROM service_metrics WHERE month = $month
                      GROUP BY ALL HAVING count(*) > 1);
SELECT count(*) FROM (SELECT merchant_id FROM merchant_snapshots WHERE month = $month
                      GROUP BY ALL HAVING count(*) > 1);

-- keys_taken_earlier: keys an earlier month holds (duplicate_key). Orders' ids grow: as the
-- pipeline does, it first asks whether an earlier order is in the month's id range, and
-- looks earlier orders up only if one is (none is in bench.run's data, so only the
-- question is timed here: DuckDB would compute both branches of a CASE).
SELECT EXISTS (
    SELECT 1 FROM orders WHERE month < $month
    AND order_id BETWEEN (SELECT min(order_id) FROM orders WHERE month = $month)
                     AND (SELECT max(order_id) FROM orders WHERE month = $month));
SELECT count(*) FROM feedback e SEMI JOIN (SELECT order_id FROM feedback WHERE month = $month) m
USING (order_id) WHERE e.month < $month;
SELECT count(*) FROM bad_orders e
SEMI JOIN (SELECT order_id, reason FROM bad_orders WHERE month = $month) m
USING (order_id, reason) WHERE e.month < $month;
SELECT count(*) FROM service_metrics e
SEMI JOIN (SELECT merchant_id, metric_date FROM service_metrics WHERE month = $month) m
USING (merchant_id, metric_date) WHERE e.month < $month;
