-- One feedback per order, across all months. Two cheap passes find the colliding keys:
-- repeated within the month (by their hashes first, much cheaper than grouping strings;
-- the last step keeps only real repeats), or present in an earlier month. An earlier month's
-- row can only collide if its key lies inside this month's key range: with that range as
-- a constant, DuckDB skips every row group of history whose keys lie outside it (ids
-- that grow over time skip nearly all history), and the semi join checks the rest.
-- Only the colliding keys are described.
-- Compared with EARLIER months only, as ingest does (spec §1: the earlier row stands):
-- a restated month may take a key a later month holds; that later month's copy is
-- the duplicate, quarantined when it is regraded, and its own check reports it until
-- then. Each colliding key is described with the months that hold it (the error
-- names key and months).
SET VARIABLE month_key_range = (
    SELECT {lo: min(order_id), hi: max(order_id)} FROM raw.feedback WHERE month = $month
);
WITH month_keys AS NOT MATERIALIZED (  -- scanned twice: cheaper than storing the keys
    SELECT order_id, hash(order_id) AS key_hash FROM raw.feedback WHERE month = $month
), repeated_hashes AS (  -- neighbours in hash order: twice as fast as grouping,
    -- the hashes are read again on their own, as sorting month_keys would carry its keys
    SELECT key_hash FROM (
        SELECT key_hash, key_hash = lag(key_hash) OVER (ORDER BY key_hash) AS again
        FROM (SELECT hash(order_id) AS key_hash FROM raw.feedback WHERE month = $month)
    ) WHERE again
), colliding AS (
    SELECT order_id FROM month_keys SEMI JOIN repeated_hashes USING (key_hash)
    UNION
    SELECT order_id FROM raw.feedback SEMI JOIN month_keys USING (order_id)
    WHERE month < $month
      AND order_id BETWEEN getvariable('month_key_range').lo
                       AND getvariable('month_key_range').hi
)
SELECT order_id, count(*) AS copies, string_agg(month, ', ' ORDER BY month) AS months
FROM raw.feedback SEMI JOIN colliding USING (order_id)
WHERE month <= $month
GROUP BY ALL
HAVING count(*) > 1;
