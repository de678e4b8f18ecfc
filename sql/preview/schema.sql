-- preview: projected grades (spec §11), apart from the published tables. One preview per
-- month: a new preview of a month replaces its rows. Written by pipelines/preview_store.py
-- only; a run never reads it, so a preview changes no published table and no run key.
CREATE SCHEMA IF NOT EXISTS preview;
CREATE TABLE IF NOT EXISTS preview.merchant_grades AS FROM main.merchant_grades LIMIT 0;
CREATE TABLE IF NOT EXISTS preview.exposure_weights AS FROM main.exposure_weights LIMIT 0;
CREATE TABLE IF NOT EXISTS preview.merchant_compliance AS FROM main.merchant_compliance LIMIT 0;
CREATE TABLE IF NOT EXISTS preview.tier_distribution AS FROM main.tier_distribution LIMIT 0;
CREATE TABLE IF NOT EXISTS preview.quarantine AS FROM main.quarantine LIMIT 0;
-- Merchants projected below their tier of the latest published month (pipelines/at_risk.py).
CREATE TABLE IF NOT EXISTS preview.at_risk (
    month VARCHAR NOT NULL, merchant_id VARCHAR NOT NULL, main_category VARCHAR,
    published_month VARCHAR, published_tier VARCHAR, projected_tier VARCHAR,
    provisional BOOLEAN, deciding_metrics VARCHAR[], deciding VARCHAR[],
    assessed_orders BIGINT, bad_orders BIGINT, bad_order_limit VARCHAR,
    bad_orders_to_cross BIGINT, bad_orders_to_recover BIGINT, seller_dispute_orders BIGINT,
    dispute_limit VARCHAR, disputes_to_cross BIGINT, disputes_to_recover BIGINT,
    policy_version VARCHAR
);
-- Every preview made: projected (its rows are in the tables above) or blocked (why).
CREATE TABLE IF NOT EXISTS preview.preview_log (
    month VARCHAR NOT NULL, as_of DATE NOT NULL, cutoff TIMESTAMP NOT NULL,
    policy_version VARCHAR, status VARCHAR NOT NULL, reason VARCHAR, compared_month VARCHAR,
    at_risk BIGINT, rows_quarantined BIGINT, made_at TIMESTAMP NOT NULL
);
-- The outputs folder each month's preview files were exported to, so the next preview of
-- the month removes them wherever they are (pipelines/preview_store.py).
CREATE TABLE IF NOT EXISTS preview.exported (month VARCHAR NOT NULL, outputs VARCHAR NOT NULL);
