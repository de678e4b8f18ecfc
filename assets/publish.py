"""Publishing a month: the five tables of spec §8 in main.*, then their Parquet exports."""

from pathlib import Path

import dagster as dg

from assets import engine
from assets.first_month import first_landing_month
from assets.ingest import raw_key
from assets.partitions import monthly_partitions, previous_month_mapping
from assets.resources import GradingSettings, WarehouseResource
from pipelines import month_journal, publishing
from pipelines.checks.data_docs import publish_data_docs
from pipelines.datasets import DATASETS
from pipelines.exports import OUTPUT_TABLES, ExportsFailed, export_month
from pipelines.outputs_claim import check_claim, warehouse_id
from pipelines.policy_rollback import (
    refuse_calendar_behind_previous,
    refuse_past_due_for_newer_policy,
    refuse_policy_rollback,
    refuse_redefined_version,
)
from pipelines.publication_log import latest_publication

# The month's steps whose results are published (or feed them): each must have been
# built by the publishing run itself (month_journal.refuse_steps_not_in_run).
MONTH_STEPS = [
    *[raw_key(d.name).to_user_string() for d in DATASETS],
    "credit_ledger",
    "merchant_grades",
    "exposure_weights",
    "merchant_compliance",
    "tier_distribution",
]


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[
        # a month is published only after the month before it
        dg.AssetDep("published_month", partition_mapping=previous_month_mapping),
        "merchant_grades",
        "exposure_weights",
        "merchant_compliance",
        "tier_distribution",
        *[raw_key(d.name) for d in DATASETS],
    ],
    group_name="publish",
    kinds={"duckdb", "parquet"},
    description="The month's merchant_grades, exposure_weights, merchant_compliance, "
    "tier_distribution and quarantine, moved into the published tables in one "
    "transaction and exported as Parquet under <outputs>/<table>/month=YYYY-MM/.",
)
def published_month(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: GradingSettings
) -> dg.MaterializeResult:
    month = context.partition_key
    policy = settings.policy_for(month)
    with warehouse.month_writer(context, compact=True, publishes=True) as con:  # last write
        refuse_redefined_version(con, policy)  # a policy file edited in place
        if not settings.policy_override:  # a UI or scheduled run given an older calendar
            calendar = settings.calendar()
            refuse_policy_rollback(con, month, calendar)
            refuse_calendar_behind_previous(con, month, calendar)
            refuse_past_due_for_newer_policy(con, month, calendar)
        month_journal.refuse_steps_not_in_run(con, month, context.run.run_id, MONTH_STEPS)
        # Before publishing: exporting into another warehouse's folder is refused anyway.
        check_claim(settings.outputs, Path(warehouse.path), warehouse_id(con))
        counts = publishing.publish_month(
            con,
            month,
            policy,
            bool(settings.policy_override),
            first_landing_month(settings.landing),
            settings.landing,
        )
        if settings.uses_spark:  # the month's lake partitions, replaced once it is published
            engine.lake(settings, warehouse).publish(month)
        restatement = publishing.restatement(con, month)
        try:
            files = export_month(con, month, settings.outputs)
        except Exception as exc:  # the month is committed: say so, whatever went wrong
            # Said first, on the message's first line: the month is published, and what a
            # reader of the failed run (in Dagster too) must do about its exports.
            raise ExportsFailed(
                f"month {month} was published in the warehouse, but its Parquet exports "
                f"under {settings.outputs} were not written (the next run of the month "
                f"rewrites them): {type(exc).__name__}: {exc}"
            ) from exc
        quarantine = publishing.quarantine_counts(con, month)
        run_key = latest_publication(con, month).run_key
    docs = publish_data_docs(settings.outputs, []).index
    return dg.MaterializeResult(
        # The month's run key (its inputs, policy and the month before's key) is what
        # `grading run` skips an unchanged month by: the same publication to Dagster, so
        # an unchanged regrade leaves the next month and the dashboard fresh.
        data_version=dg.DataVersion(run_key),
        metadata={
            **{f"rows_{table}": int(counts[table]) for table in OUTPUT_TABLES},
            "quarantined_by_dataset_reason": dg.MetadataValue.json(quarantine),
            "policy_version": policy.version,
            "restated": restatement["restated"],
            "restatement_reason": restatement["restatement_reason"],
            "old_tier_counts": dg.MetadataValue.json(restatement["old_tier_counts"]),
            "new_tier_counts": dg.MetadataValue.json(restatement["new_tier_counts"]),
            "exports": dg.MetadataValue.json([str(f) for f in files]),
            "data_docs": dg.MetadataValue.path(str(docs)),
        },
    )
