"""The Dagster code location: assets, checks, the monthly job and its schedule.

``dagster dev`` loads ``defs`` (see [tool.dagster] in pyproject.toml); its resources take
GRADING_LANDING, GRADING_WAREHOUSE, GRADING_OUTPUTS, GRADING_POLICY, GRADING_SPARK_MASTER
and GRADING_LAKE as Dagster EnvVars, resolved when a run starts (assets/settings.py). The
CLI builds the same definitions with the paths it was given.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from assets import settings as env
from assets.at_risk import at_risk_merchants
from assets.dashboard import dashboard
from assets.deadline import deadline_job, deadline_schedule, published_by_deadline
from assets.exposure import exposure_weights, tier_distribution
from assets.grading import credit_ledger, merchant_compliance, merchant_grades
from assets.ingest import ingest_assets
from assets.ownership import with_owners
from assets.partitions import monthly_partitions
from assets.publish import published_month
from assets.resources import GradingSettings, WarehouseResource
from assets.run_limits import month_run_tags
from pipelines.landing import IncompleteMonth, require_complete_month
from pipelines.local_time import use_utc_as_local_time
from pipelines.months import add_months, month_key
from pipelines.spark_engine.session import check_engine

# Runs launched in the UI or by the schedule render Data Docs here (pipelines/local_time.py).
use_utc_as_local_time()

# Each asset's owner is its group's team (assets/ownership.py).
ALL_ASSETS = with_owners(
    [
        *ingest_assets,
        credit_ledger,
        merchant_grades,
        merchant_compliance,
        exposure_weights,
        tier_distribution,
        published_month,
        dashboard,
    ]
)


# The assets whose row-level work runs on Spark with --engine spark, and their kinds then
# (Dagster shows at most three). The rest (merchant rules in polars, publication) stay.
SPARK_KINDS = {
    **{asset.key.to_user_string(): {"spark", "sql", "parquet"} for asset in ingest_assets},
    "credit_ledger": {"spark", "sql", "polars"},
    "merchant_grades": {"spark", "sql", "polars"},
}


def assets_for_engine(engine: str) -> list[dg.AssetsDefinition]:
    """The same asset graph for either engine; with Spark, the assets it runs show it."""
    if engine != "spark":
        return ALL_ASSETS
    return [
        asset.map_asset_specs(
            lambda spec: spec.replace_attributes(kinds=SPARK_KINDS[spec.key.to_user_string()])
        )
        if asset.key.to_user_string() in SPARK_KINDS
        else asset
        for asset in ALL_ASSETS
    ]


# One DuckDB file has one writer: steps of a run go one after another in one process.
grade_month_job = dg.define_asset_job(
    "grade_month",
    # Every asset and its data checks (not the deadline check: it has its own daily job).
    selection=dg.AssetSelection.assets(*ALL_ASSETS).without_checks()
    | dg.AssetSelection.checks(*[key for asset in ALL_ASSETS for key in asset.check_keys]),
    partitions_def=monthly_partitions,
    executor_def=dg.in_process_executor,
    description="Ingest, grade and publish one month.",
    # The daemon cancels a run past this, so a killed run does not hold the queue.
    tags=month_run_tags(),
)


# Month M is complete at its end; it is graded on the 2nd of M+1 at 02:00 UTC (the
# partitions' timezone), a day before the publication deadline (assets/deadline.py).
@dg.schedule(
    name="grade_month_schedule",
    cron_schedule="0 2 2 * *",
    execution_timezone="UTC",
    job=grade_month_job,
    description="Grades the month that ended, once its landing is complete.",
)
def monthly_grading_schedule(
    context: dg.ScheduleEvaluationContext, settings: GradingSettings
) -> dg.RunRequest | dg.SkipReason:
    """A run for the month before the tick, or a skip with the reason when that month's
    landing is not complete yet: a run would only fail half way, at its first ingest."""
    tick = context.scheduled_execution_time or datetime.now(UTC)
    month = add_months(month_key(tick.astimezone(UTC).date()), -1)
    if month < monthly_partitions.get_first_partition_key():
        return dg.SkipReason(f"month {month} is before the first gradeable month")
    try:
        require_complete_month(settings.landing, month)
    except IncompleteMonth as exc:
        return dg.SkipReason(str(exc))
    return dg.RunRequest(run_key=None, partition_key=month)


def build_definitions(
    landing: str,
    warehouse: str,
    outputs: str,
    policy_file: str = "",
    policy_override: str = "",
    engine: str = "duckdb",
    spark_master: str = "",
    lake: str = "",
    lock_wait_seconds: float = 0.0,
) -> dg.Definitions:
    """``policy_file``: a policy folder (calendar) or file, empty for the shipped calendar;
    ``lock_wait_seconds``: how long a run waits for another to release the warehouse;
    ``policy_override``: one policy file every month is graded under (a restatement);
    ``engine``: duckdb, or spark on the cluster at ``spark_master`` with its rows under
    ``lake`` (the same asset graph; the assets Spark runs show the ``spark`` kind).
    Any setting but ``engine`` may be a ``dg.EnvVar``, resolved when a run starts."""
    check_engine(engine, _value_now(spark_master))
    return dg.Definitions(
        # at_risk_merchants is materialized on its own, with an as-of day: not in the job
        assets=[*assets_for_engine(engine), *with_owners([at_risk_merchants])],
        asset_checks=[published_by_deadline],
        jobs=[grade_month_job, deadline_job],
        schedules=[monthly_grading_schedule, deadline_schedule],
        resources={
            "warehouse": WarehouseResource(path=warehouse, lock_wait_seconds=lock_wait_seconds),
            "settings": GradingSettings(
                landing_dir=landing,
                outputs_dir=outputs,
                policy_file=policy_file,
                policy_override=policy_override,
                engine=engine,
                spark_master=spark_master,
                lake_dir=lake,
            ),
        },
        executor=dg.in_process_executor,
    )


# How long a run launched by the code location waits for the warehouse's run lock.
LAUNCHED_RUN_LOCK_WAIT_SECONDS = 1800.0


def _value_now(setting: str) -> str:
    """A setting's value for a check at load: an EnvVar's value, else the setting."""
    return (setting.get_value() or "") if isinstance(setting, dg.EnvVar) else setting


defs = build_definitions(
    landing=env.LANDING.for_resource(),
    warehouse=env.WAREHOUSE.for_resource(),
    outputs=env.outputs_for_resource(),
    policy_file=env.POLICY.for_resource(),
    # The engine picks the assets' kinds: it is part of the graph, read at load.
    engine=env.engine_at_load(),
    spark_master=env.SPARK_MASTER.for_resource(),
    lake=env.LAKE.for_resource(),
    # The schedule's run of a month has no retry: a CLI run or a preview holding the
    # warehouse at its tick failed it outright (found by an audit, 2026-12-05). A run
    # launched here (the schedule, the UI, a backfill) waits for it instead.
    lock_wait_seconds=LAUNCHED_RUN_LOCK_WAIT_SECONDS,
)
