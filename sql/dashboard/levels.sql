-- Merchants per month, main category and level L0-L10. exposure_weights carries the
-- level and the category of every graded merchant, so no join is needed.
SELECT month, coalesce(main_category, '(none)') AS main_category, level,
       count(*)::BIGINT AS merchants
FROM main.exposure_weights
WHERE list_contains($months, month)
GROUP BY ALL;
