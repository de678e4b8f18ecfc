-- order_id is not here: raw.orders declares it NOT NULL, so no stored row can lack it.
-- amount_usd stays the stored DECIMAL: the checks hand it to GE as a DOUBLE, cast only
-- for the rows the suspect filter selects (pipelines/checks/check_filter.py); the filter
-- compares the decimal itself, 10x cheaper than casting 10M of them.
SELECT merchant_id, buyer_id, created_at, ended_at, epoch_us(ended_at) AS ended_at_us, status,
       amount_usd
FROM raw.orders
WHERE month = $month;
