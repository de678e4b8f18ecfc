-- What a dashboard page is built from, as one digest: every publication (main.run_log)
-- and the landing files runs have seen (journal.landing_seen). The stale months and the
-- months whose latest run did not publish follow from these two (main.month_status and
-- unpublished_months.sql read nothing else). A page whose digest is not the warehouse's
-- shows grades, notes or banners the warehouse no longer holds
-- (pipelines/reporting/dashboard.py adds the latest preview's).
SELECT md5(
    coalesce((
        SELECT string_agg(month || ' ' || CAST(published_at AS VARCHAR), ',' ORDER BY month, published_at)
        FROM main.run_log
    ), '')
    || '|'
    || coalesce((
        SELECT string_agg(month || ' ' || dataset || ' ' || files_digest, ',' ORDER BY month, dataset)
        FROM journal.landing_seen
    ), '')
) AS built_from;
