-- A merchant_id is unique within one snapshot.
SELECT merchant_id, count(*) AS copies
FROM raw.merchants
WHERE month = $month
GROUP BY ALL
HAVING count(*) > 1;
