-- What a dashboard page is built from, as one digest: every publication (main.run_log)
-- and the stale months (main.month_status). A page whose digest is not the warehouse's
-- shows grades or banners the warehouse no longer holds (pipelines/reporting/dashboard.py).
SELECT md5(
    coalesce((
        SELECT string_agg(month || ' ' || CAST(published_at AS VARCHAR), ',' ORDER BY month, published_at)
        FROM main.run_log
    ), '')
    || '|'
    || coalesce((
        SELECT string_agg(month, ',' ORDER BY month) FROM main.month_status WHERE stale
    ), '')
) AS built_from;
