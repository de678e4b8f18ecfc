"""One asset per landing dataset: the month folder loaded into raw.<dataset>.

Each carries a blocking check, its Great Expectations suite (expectations/inputs/),
which includes the quarantine ratio of spec §1: when a check fails, nothing of that
month is graded or published.
"""

import dagster as dg

from assets import engine
from assets.checks import run_suite_check, suite_check_spec
from assets.first_month import first_landing_month
from assets.metadata import count_metadata
from assets.partitions import monthly_partitions
from assets.resources import GradingSettings, WarehouseResource
from pipelines.datasets import DATASETS, Dataset
from pipelines.grading import GradingError
from pipelines.ingest import ingest_month
from pipelines.landing import require_complete_month
from pipelines.month_order import refuse_out_of_order
from pipelines.run_key import landing_digests, record_landing_seen

# Which ingested datasets each dataset's rows are checked against.
UPSTREAM = {
    "merchants": [],
    "orders": ["merchants"],
    "feedback": ["merchants", "orders"],
    "bad_orders": ["merchants", "orders"],
    "service_metrics": ["merchants"],
}


def raw_key(dataset: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{dataset}")


def build_ingest_asset(dataset: Dataset) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(dataset.name),
        partitions_def=monthly_partitions,
        deps=[raw_key(d) for d in UPSTREAM[dataset.name]],
        group_name="ingest",
        kinds={"duckdb", "sql"},
        check_specs=[suite_check_spec(raw_key(dataset.name), f"inputs/{dataset.name}")],
        description=f"The month folder of landing dataset '{dataset.name}' in "
        f"raw.{dataset.name}; bad rows in raw.quarantine.",
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: GradingSettings
    ) -> dg.MaterializeResult:
        month = context.partition_key
        # The whole month, before the warehouse is opened: the first ingest asset of an
        # incomplete month (a UI launch too) fails and nothing of the month is written.
        absent = require_complete_month(settings.landing, month).get(dataset.name)
        with warehouse.month_writer(context) as con:
            record_landing_seen(
                con, month, landing_digests(settings.landing, month, [dataset.name])
            )
            # After the journal has put back any other run's unpublished months, and
            # before a row is read: a month run out of order stops here with its reason.
            try:
                refuse_out_of_order(
                    con, settings.landing, month, first_landing_month(settings.landing),
                    settings.policy_for(month).window_days,
                )  # fmt: skip
            except GradingError:
                # The month's other ingests will not run to note their files: noted here,
                # so a month refused with its own files changed shows stale.
                record_landing_seen(con, month, landing_digests(settings.landing, month))
                raise
            if settings.uses_spark:  # the optional spark extra, imported only then
                from pipelines.spark_engine.ingest import spark_ingest_month

                report = spark_ingest_month(
                    con, engine.spark(settings), engine.lake(settings, warehouse),
                    settings.landing, dataset, month,
                )  # fmt: skip
            else:
                report = ingest_month(con, settings.landing, dataset, month)
            check = run_suite_check(
                context, con, settings, f"inputs/{dataset.name}", dataset.name,
                batch_source=engine.check_batches(settings, warehouse),
            )  # fmt: skip
        if absent:
            report.warnings.insert(0, absent)
        for warning in report.warnings:
            context.log.warning(warning)
        return dg.MaterializeResult(
            metadata={
                "files": dg.MetadataValue.json(report.files),
                "rows_read": report.rows_read,
                "rows_accepted": report.rows_accepted,
                "exact_copies_collapsed": report.exact_copies,
                "rows_quarantined": report.rows_quarantined,
                **count_metadata("quarantined", report.quarantined),
                "warnings": dg.MetadataValue.json(report.warnings),
                "input_fingerprint": report.fingerprint,
            },
            check_results=[check],
            data_version=dg.DataVersion(report.fingerprint),
        )

    return _ingest


ingest_assets = [build_ingest_asset(d) for d in DATASETS]
