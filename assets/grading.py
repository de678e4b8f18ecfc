"""Credit ledger, grades and compliance for a month: staged in work.*, not yet published."""

import dagster as dg

from assets import engine
from assets.ingest import raw_key
from assets.metadata import (
    content_version,
    count_metadata,
    level_metadata,
    markdown_preview,
    value_counts,
)
from assets.partitions import (
    history_mapping,
    monthly_partitions,
    previous_month_mapping,
    window_mapping,
)
from assets.resources import GradingSettings, WarehouseResource
from assets.staged_tables import staged_table_asset
from pipelines import grading


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[
        dg.AssetDep(raw_key("feedback"), partition_mapping=history_mapping),
        dg.AssetDep("credit_ledger", partition_mapping=previous_month_mapping),
    ],
    group_name="grading",
    kinds={"duckdb", "polars"},
    description="Cumulative credit points per merchant at month end: the points earned "
    "from this month's feedback on top of the previous month's ledger, or, when that "
    "ledger was counted under another counting rule, on top of all earlier feedback "
    "counted again under this month's policy.",
)
def credit_ledger(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: GradingSettings
) -> dg.MaterializeResult:
    with warehouse.month_writer(context) as con, engine.row_queries(settings, warehouse):
        ledger = grading.update_credit_ledger(
            con, context.partition_key, settings.policy_for(context.partition_key)
        )
    # The ledger's content is its data version: an unchanged month keeps later months
    # fresh in Dagster, a changed one marks the next month's ledger stale.
    return dg.MaterializeResult(
        data_version=content_version(ledger.select("merchant_id", "credit_points")),
        metadata={
            "merchants_with_history": ledger.height,
            "points_earned_this_month": int(ledger["points_delta"].sum() or 0),
            "preview": markdown_preview(ledger.sort("credit_points", descending=True)),
        },
    )


merchant_grades = staged_table_asset(
    "merchant_grades",
    compute=grading.grade_merchants,
    summarize=lambda grades, policy: {
        "merchants_graded": grades.height,
        "provisional": int(grades["provisional"].sum()),
        **count_metadata("tier", value_counts(grades, "tier")),
        **level_metadata(grades, policy),
    },
    deps=[
        raw_key("merchants"),
        dg.AssetDep(raw_key("orders"), partition_mapping=window_mapping),
        dg.AssetDep(raw_key("bad_orders"), partition_mapping=window_mapping),
        # the window's feedback, and all earlier feedback through the credit points
        dg.AssetDep(raw_key("feedback"), partition_mapping=history_mapping),
        dg.AssetDep(raw_key("service_metrics"), partition_mapping=window_mapping),
        "credit_ledger",
    ],
    group_name="grading",
    description="Level, 90-day window metrics and service tier of every active merchant "
    "(staged in work.merchant_grades).",
    reads_rows=True,
    preview_drops=["reasons"],
)


merchant_compliance = staged_table_asset(
    "merchant_compliance",
    compute=grading.check_compliance,
    summarize=lambda violations, _policy: {
        "violations": violations.height,
        **count_metadata("violation", value_counts(violations, "violation")),
    },
    deps=[raw_key("merchants")],
    group_name="grading",
    description="Breaches of the registration and operating rules, one row per breach "
    "(staged in work.merchant_compliance).",
)
