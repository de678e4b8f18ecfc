SELECT merchant_id, account_type, auth_entity_id, real_name_verified, collection_account_set,
       sales_plan, store_type, main_category, product_count, status, registered_at
FROM raw.merchants
WHERE month = $month;
