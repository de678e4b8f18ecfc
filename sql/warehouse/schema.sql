-- Warehouse layout. raw: what was ingested from the landing folder, by month folder.
-- work: intermediate and staged results. main: the published tables of spec §8.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS work;
-- journal: a month's rows as they were before the run now writing it
-- (pipelines/month_journal.py), put back if the run does not publish.
CREATE SCHEMA IF NOT EXISTS journal;
CREATE TABLE IF NOT EXISTS journal.pending (
    month VARCHAR PRIMARY KEY, run_id VARCHAR NOT NULL, state VARCHAR NOT NULL,
    opened_at TIMESTAMP NOT NULL
);
-- The warehouse's identity (one row, made on first use and copied with the file): its
-- outputs folder records it, so another warehouse is refused that folder
-- (pipelines/outputs_claim.py).
CREATE TABLE IF NOT EXISTS journal.warehouse_identity (warehouse_id VARCHAR NOT NULL);
-- The month's steps each run finished (pipelines/month_journal.py, record_step):
-- publishing moves only what its own run built, never a step's result left by another.
CREATE TABLE IF NOT EXISTS journal.steps (
    month VARCHAR NOT NULL, run_id VARCHAR NOT NULL, step VARCHAR NOT NULL,
    finished_at TIMESTAMP NOT NULL, PRIMARY KEY (month, run_id, step)
);

CREATE TABLE IF NOT EXISTS raw.merchants (
    month VARCHAR NOT NULL, merchant_id VARCHAR NOT NULL, account_type VARCHAR,
    auth_entity_id VARCHAR, real_name_verified BOOLEAN, collection_account_set BOOLEAN,
    sales_plan VARCHAR, store_type VARCHAR, main_category VARCHAR, product_count BIGINT,
    status VARCHAR, registered_at TIMESTAMP, source_file VARCHAR, source_row BIGINT
);
CREATE TABLE IF NOT EXISTS raw.orders (
    month VARCHAR NOT NULL, order_id VARCHAR NOT NULL, merchant_id VARCHAR, buyer_id VARCHAR,
    created_at TIMESTAMP, ended_at TIMESTAMP, status VARCHAR, amount_usd DECIMAL(38,18),
    source_file VARCHAR, source_row BIGINT
);
-- order_amount_usd is copied from the order at ingest (the $5 rule), so grading never
-- re-joins all order history.
CREATE TABLE IF NOT EXISTS raw.feedback (
    month VARCHAR NOT NULL, order_id VARCHAR NOT NULL, merchant_id VARCHAR, buyer_id VARCHAR,
    stars BIGINT, feedback_at TIMESTAMP, order_amount_usd DECIMAL(38,18), source_file VARCHAR,
    source_row BIGINT
);
-- order_ended_at is copied from the order at ingest (which window the record counts in).
CREATE TABLE IF NOT EXISTS raw.bad_orders (
    month VARCHAR NOT NULL, order_id VARCHAR NOT NULL, merchant_id VARCHAR, reason VARCHAR,
    recorded_at TIMESTAMP, exempt BOOLEAN, order_ended_at TIMESTAMP, source_file VARCHAR,
    source_row BIGINT
);
CREATE TABLE IF NOT EXISTS raw.service_metrics (
    month VARCHAR NOT NULL, merchant_id VARCHAR NOT NULL, metric_date DATE,
    messages_received BIGINT, messages_replied_24h BIGINT, dsr_item_sum BIGINT,
    dsr_item_count BIGINT, shipments_due BIGINT, shipments_on_time BIGINT, source_file VARCHAR,
    source_row BIGINT
);
CREATE TABLE IF NOT EXISTS raw.quarantine (
    dataset VARCHAR NOT NULL, month VARCHAR NOT NULL, source_file VARCHAR, reason VARCHAR NOT NULL,
    record VARCHAR, source_row BIGINT
);
CREATE TABLE IF NOT EXISTS raw.ingest_log (
    dataset VARCHAR NOT NULL, month VARCHAR NOT NULL, files BIGINT, rows_read BIGINT,
    exact_copies BIGINT, rows_accepted BIGINT, rows_quarantined BIGINT,
    ingested_at TIMESTAMP, files_digest VARCHAR, rows_digest VARCHAR,
    PRIMARY KEY (dataset, month)
);
-- Warehouses made before the column existed get it (NULL: their months regrade once).
ALTER TABLE raw.ingest_log ADD COLUMN IF NOT EXISTS files_digest VARCHAR;
-- rows_digest: the ingested rows' fingerprint (pipelines.ingest.dataset_fingerprint).
ALTER TABLE raw.ingest_log ADD COLUMN IF NOT EXISTS rows_digest VARCHAR;
-- source_row: the row's number in source_file (1-based, after the header of a CSV file).
ALTER TABLE raw.merchants ADD COLUMN IF NOT EXISTS source_row BIGINT;
ALTER TABLE raw.orders ADD COLUMN IF NOT EXISTS source_row BIGINT;
ALTER TABLE raw.feedback ADD COLUMN IF NOT EXISTS source_row BIGINT;
ALTER TABLE raw.bad_orders ADD COLUMN IF NOT EXISTS source_row BIGINT;
ALTER TABLE raw.service_metrics ADD COLUMN IF NOT EXISTS source_row BIGINT;
-- A quarantined row's number in its file (NULL for rows quarantined before the column).
ALTER TABLE raw.quarantine ADD COLUMN IF NOT EXISTS source_row BIGINT;

CREATE TABLE IF NOT EXISTS work.credit_ledger (
    month VARCHAR NOT NULL, merchant_id VARCHAR NOT NULL, points_delta BIGINT NOT NULL,
    credit_points BIGINT NOT NULL
);

-- Counted feedback per merchant and ten-day period, stored by each month's credit step,
-- so that a window adds up its whole periods instead of counting 90 days of raw rows.
-- The log says which rows (digest) and rule they come from; anything else is recounted.
CREATE TABLE IF NOT EXISTS work.feedback_period_counts (
    month VARCHAR NOT NULL, merchant_id VARCHAR NOT NULL, period_start DATE NOT NULL,
    positive_feedback BIGINT NOT NULL, neutral_feedback BIGINT NOT NULL,
    negative_feedback BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS work.feedback_counts_log (
    month VARCHAR PRIMARY KEY, feedback_digest VARCHAR, rule_key VARCHAR NOT NULL,
    counted_at TIMESTAMP
);
-- The counting rule the month's whole credit ledger (all its history) is counted under.
-- Ledgers stored before 2026-12-04 have none: they rolled on whatever the month before
-- had stored, so they hold one rule only when every month up to them was counted under it.
ALTER TABLE work.feedback_counts_log ADD COLUMN IF NOT EXISTS ledger_rule_key VARCHAR;

-- The published tables (spec §8). Staged copies in work.* have the same columns and are
-- moved here for one month at a time, in one transaction.
CREATE TABLE IF NOT EXISTS main.merchant_grades (
    month VARCHAR NOT NULL, merchant_id VARCHAR NOT NULL, credit_points BIGINT, level INTEGER,
    assessed_orders BIGINT, bad_orders BIGINT, bad_order_rate DOUBLE,
    seller_dispute_orders BIGINT, seller_dispute_rate DOUBLE, positive_feedback BIGINT,
    negative_feedback BIGINT, positive_feedback_rate DOUBLE, dsr_item_avg DOUBLE,
    on_time_ship_rate DOUBLE, response_rate_24h DOUBLE, tier VARCHAR, provisional BOOLEAN,
    reasons VARCHAR[], policy_version VARCHAR
);
CREATE TABLE IF NOT EXISTS main.exposure_weights (
    month VARCHAR NOT NULL, merchant_id VARCHAR NOT NULL, main_category VARCHAR, tier VARCHAR,
    level INTEGER, eligible BOOLEAN, raw_weight DOUBLE, exposure_share DOUBLE,
    showcase_slots INTEGER, promotion_eligible BOOLEAN, email_quota INTEGER,
    policy_version VARCHAR
);
CREATE TABLE IF NOT EXISTS main.merchant_compliance (
    month VARCHAR NOT NULL, merchant_id VARCHAR NOT NULL, violation VARCHAR NOT NULL,
    policy_version VARCHAR
);
CREATE TABLE IF NOT EXISTS main.tier_distribution (
    month VARCHAR NOT NULL, main_category VARCHAR, tier VARCHAR, merchants BIGINT,
    policy_version VARCHAR
);
CREATE TABLE IF NOT EXISTS main.quarantine (
    dataset VARCHAR NOT NULL, month VARCHAR NOT NULL, source_file VARCHAR, reason VARCHAR,
    record VARCHAR, policy_version VARCHAR
);
CREATE TABLE IF NOT EXISTS work.merchant_grades AS FROM main.merchant_grades LIMIT 0;
CREATE TABLE IF NOT EXISTS work.exposure_weights AS FROM main.exposure_weights LIMIT 0;
CREATE TABLE IF NOT EXISTS work.merchant_compliance AS FROM main.merchant_compliance LIMIT 0;
CREATE TABLE IF NOT EXISTS work.tier_distribution AS FROM main.tier_distribution LIMIT 0;

-- One row per publication of a month: a rerun on changed inputs is a restatement.
CREATE TABLE IF NOT EXISTS main.run_log (
    month VARCHAR NOT NULL, published_at TIMESTAMP NOT NULL, input_fingerprint VARCHAR NOT NULL,
    policy_version VARCHAR, restated BOOLEAN NOT NULL, old_tier_counts VARCHAR,
    new_tier_counts VARCHAR, run_key VARCHAR
);
-- The run key (pipelines/run_key.py) lets an unchanged month be skipped on a rerun.
ALTER TABLE main.run_log ADD COLUMN IF NOT EXISTS run_key VARCHAR;
-- The Parquet exports of each month's latest publication, as written (pipelines/exports.py):
-- per table its rows and the sum of their hashes. Deleted when the month is published
-- again and written once its exports are in place, so a month without all five rows
-- here has exports that may not match main.*: a rerun rewrites them.
CREATE TABLE IF NOT EXISTS main.export_log (
    month VARCHAR NOT NULL, table_name VARCHAR NOT NULL, row_count BIGINT NOT NULL,
    rows_hash HUGEINT NOT NULL, exported_at TIMESTAMP NOT NULL
);
-- Why a publication restates its month ('; '-joined: 'inputs changed', 'grades changed'
-- (an earlier month's restatement moved them), 'policy <old> -> <new>', 'policy override
-- <version>'); NULL when it is not a restatement.
ALTER TABLE main.run_log ADD COLUMN IF NOT EXISTS restatement_reason VARCHAR;
-- The digest of the policy's rules and numbers, and whether it was an explicit
-- --policy-override rather than the calendar's policy for the month.
ALTER TABLE main.run_log ADD COLUMN IF NOT EXISTS policy_digest VARCHAR;
ALTER TABLE main.run_log ADD COLUMN IF NOT EXISTS policy_override BOOLEAN;
-- The landing files the publication was built from: {dataset: files digest} as JSON.
ALTER TABLE main.run_log ADD COLUMN IF NOT EXISTS landing_digests VARCHAR;
-- The code's rules version that graded the publication (pipelines/rules_version.py);
-- NULL for one recorded before it was kept. A month graded under other rules is no base
-- for a later month (pipelines/month_order.outdated_earlier_month).
ALTER TABLE main.run_log ADD COLUMN IF NOT EXISTS rules_version VARCHAR;
-- The landing files of each month as a run last saw them, recorded by the ingest before
-- it loads anything, so a month whose ingest or checks then failed (its raw rows rolled
-- back) still shows that its landing files changed. Kept in journal, not main: a failed
-- month leaves raw.*, work.* and main.* exactly as they were.
CREATE TABLE IF NOT EXISTS journal.landing_seen (
    month VARCHAR NOT NULL, dataset VARCHAR NOT NULL, files_digest VARCHAR NOT NULL,
    seen_at TIMESTAMP NOT NULL, PRIMARY KEY (month, dataset)
);
-- A published month is stale when its grades may no longer follow from its inputs:
-- an earlier month (its credit history or window) was published after it with another
-- run key than the publication it was graded on (a republication from the same files,
-- policy and earlier months, such as a forced rerun or rewritten exports, changes
-- nothing), or the landing files of the month or of an earlier month, as last seen by a
-- run, differ from those the publications it was built on were graded from (even when
-- that earlier month's regrade then failed), or a month before it is stale. Grade through
-- it again to bring it up to date.
CREATE OR REPLACE VIEW main.month_status AS
WITH latest AS (
    SELECT month, max(published_at) AS published_at FROM main.run_log GROUP BY month
),
-- For each published month M and each month E <= M: E's publication M was graded after.
built_on AS (
    SELECT l.month, r.month AS earlier, r.landing_digests, r.run_key
    FROM latest l
    JOIN main.run_log r ON r.month <= l.month AND r.published_at <= l.published_at
    QUALIFY r.published_at = max(r.published_at) OVER (PARTITION BY l.month, r.month)
),
earlier_moved AS (
    SELECT DISTINCT l.month
    FROM latest l
    JOIN latest e ON e.month < l.month AND e.published_at > l.published_at
    JOIN main.run_log r ON r.month = e.month AND r.published_at = e.published_at
    LEFT JOIN built_on b ON b.month = l.month AND b.earlier = e.month
    WHERE r.run_key IS NULL OR r.run_key IS DISTINCT FROM b.run_key
),
inputs_moved AS (
    SELECT DISTINCT b.month
    FROM built_on b
    JOIN journal.landing_seen s ON s.month = b.earlier
    WHERE s.files_digest <> json_extract_string(b.landing_digests, '$.' || s.dataset)
),
own AS (
    SELECT l.month, l.published_at,
           l.month IN (SELECT month FROM earlier_moved)
           OR l.month IN (SELECT month FROM inputs_moved) AS own_stale
    FROM latest l
)
-- A month after a stale one is stale too: it builds on that month's credit ledger, window
-- and keys (a month republished on a stale one is not current, whatever its own inputs).
SELECT month, published_at,
       bool_or(own_stale) OVER (ORDER BY month ROWS UNBOUNDED PRECEDING) AS stale
FROM own;
