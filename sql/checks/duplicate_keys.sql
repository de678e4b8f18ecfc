-- A dataset's key is unique across all months (orders, feedback, bad orders, service
-- metrics: pipelines/validation.py fills in __DATASET__, its __KEY__ columns and the
-- __RANGE_COLUMN__ that grows over time; merchants, unique per snapshot, have their own).
-- Two cheap passes find the colliding keys: repeated within the month (by their hashes
-- first, much cheaper than grouping strings; the last step keeps only real repeats), or
-- present in an earlier month. An earlier month's row can only collide if its range
-- column lies inside this month's range: with that range as a constant, DuckDB skips
-- every row group of history outside it (ids and dates that grow over time skip nearly
-- all history), and the semi join checks the rest. Only the colliding keys are described.
-- Compared with EARLIER months only, as ingest does (spec §1: the earlier row stands):
-- a restated month may take a key a later month holds; that later month's copy is
-- the duplicate, quarantined when it is regraded, and its own check reports it until
-- then. Each colliding key is described with the months that hold it (the error
-- names key and months).
SET VARIABLE month_key_range = (
    SELECT {lo: min(__RANGE_COLUMN__), hi: max(__RANGE_COLUMN__)}
    FROM raw.__DATASET__ WHERE month = $month
);
WITH month_keys AS NOT MATERIALIZED (  -- scanned twice: cheaper than storing the keys
    SELECT __KEY__, hash(__KEY__) AS key_hash FROM raw.__DATASET__ WHERE month = $month
), repeated_hashes AS (  -- neighbours in hash order: twice as fast as grouping,
    -- the hashes are read again on their own, as sorting month_keys would carry its keys
    SELECT key_hash FROM (
        SELECT key_hash, key_hash = lag(key_hash) OVER (ORDER BY key_hash) AS again
        FROM (SELECT hash(__KEY__) AS key_hash FROM raw.__DATASET__ WHERE month = $month)
    ) WHERE again
), colliding AS (
    SELECT __KEY__ FROM month_keys SEMI JOIN repeated_hashes USING (key_hash)
    UNION
    SELECT __KEY__ FROM raw.__DATASET__ SEMI JOIN month_keys USING (__KEY__)
    WHERE month < $month
      AND __RANGE_COLUMN__ BETWEEN getvariable('month_key_range').lo
                               AND getvariable('month_key_range').hi
)
SELECT __KEY__, count(*) AS copies, string_agg(month, ', ' ORDER BY month) AS months
FROM raw.__DATASET__ SEMI JOIN colliding USING (__KEY__)
WHERE month <= $month
GROUP BY ALL
HAVING count(*) > 1;
