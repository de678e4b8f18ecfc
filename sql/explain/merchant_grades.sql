-- Published grades of a few merchants over a few months, with the month's main category.
-- The counts behind the rates come from the grade row itself; the service sums (which
-- merchant_grades does not keep) are recomputed by service_sums.sql.
SELECT g.month, g.merchant_id, e.main_category, g.credit_points, g.level,
       g.assessed_orders, g.bad_orders, g.seller_dispute_orders,
       g.positive_feedback, g.negative_feedback,
       g.bad_order_rate, g.seller_dispute_rate, g.positive_feedback_rate,
       g.dsr_item_avg, g.on_time_ship_rate, g.response_rate_24h,
       g.tier, g.provisional, g.policy_version
FROM main.merchant_grades AS g
LEFT JOIN main.exposure_weights AS e
  ON e.month = g.month AND e.merchant_id = g.merchant_id
WHERE list_contains($merchants, g.merchant_id)
  AND list_contains($months, g.month)
ORDER BY g.merchant_id, g.month;
