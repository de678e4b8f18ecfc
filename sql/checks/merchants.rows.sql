-- merchant_id is not here: raw.merchants declares it NOT NULL, so no stored row can lack it.
SELECT account_type, auth_entity_id, real_name_verified, collection_account_set,
       sales_plan, store_type, main_category, product_count, status, registered_at
FROM raw.merchants
WHERE month = $month;
