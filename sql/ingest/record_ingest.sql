-- One row per dataset and month folder: what the last ingest of it read and kept.
INSERT OR REPLACE INTO raw.ingest_log
    (dataset, month, files, rows_read, exact_copies, rows_accepted, rows_quarantined, ingested_at,
     files_digest, rows_digest)
VALUES ($dataset, $month, $files, $rows_read, $exact_copies, $rows_accepted, $rows_quarantined,
        CAST(now() AS TIMESTAMP), $files_digest, $rows_digest);
