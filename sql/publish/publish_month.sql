-- Move one month's staged results into the published tables. Run inside a transaction.
DELETE FROM main.merchant_grades WHERE month = $month;
INSERT INTO main.merchant_grades SELECT * FROM work.merchant_grades WHERE month = $month;
DELETE FROM main.exposure_weights WHERE month = $month;
INSERT INTO main.exposure_weights SELECT * FROM work.exposure_weights WHERE month = $month;
DELETE FROM main.merchant_compliance WHERE month = $month;
INSERT INTO main.merchant_compliance SELECT * FROM work.merchant_compliance WHERE month = $month;
DELETE FROM main.tier_distribution WHERE month = $month;
INSERT INTO main.tier_distribution SELECT * FROM work.tier_distribution WHERE month = $month;
DELETE FROM main.quarantine WHERE month = $month;
INSERT INTO main.quarantine
SELECT dataset, month, source_file, reason, record, $policy_version
FROM raw.quarantine WHERE month = $month;
-- The month's exports are of the previous publication until they are written again
-- (pipelines/exports.py records them then): a crash in between leaves no record.
DELETE FROM main.export_log WHERE month = $month;
