"""One asset per landing dataset: the month folder loaded into raw.<dataset>.

Each carries a blocking check on its quarantine ratio (spec §1): when more than the
policy's ``max_quarantine_ratio`` of the month's rows are quarantined, nothing of that
month is graded or published.
"""

import dagster as dg

from assets.metadata import count_metadata
from assets.partitions import monthly_partitions
from assets.resources import GradingSettings, WarehouseResource
from pipelines.datasets import DATASETS, Dataset
from pipelines.grading import QuarantineRatio
from pipelines.ingest import ingest_month

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
    check = dg.AssetCheckSpec(
        "quarantine_ratio",
        asset=raw_key(dataset.name),
        blocking=True,
        description="Quarantined rows at most the policy's "
        "max_quarantine_ratio of the month's rows.",
    )

    @dg.asset(
        key=raw_key(dataset.name),
        partitions_def=monthly_partitions,
        deps=[raw_key(d) for d in UPSTREAM[dataset.name]],
        group_name="ingest",
        kinds={"duckdb", "sql"},
        check_specs=[check],
        description=f"The month folder of landing dataset '{dataset.name}' in "
        f"raw.{dataset.name}; bad rows in raw.quarantine.",
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: GradingSettings
    ) -> dg.MaterializeResult:
        month = context.partition_key
        policy = settings.policy()
        with warehouse.connection() as con:
            report = ingest_month(con, settings.landing, dataset, month)
        ratio = QuarantineRatio(
            dataset.name, report.rows_read, report.rows_quarantined, policy.max_quarantine_ratio
        )
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
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="quarantine_ratio",
                    passed=not ratio.exceeded,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "rows_read": report.rows_read,
                        "rows_quarantined": report.rows_quarantined,
                        "max_quarantine_ratio": str(policy.max_quarantine_ratio),
                        "quarantined_by_reason": dg.MetadataValue.json(report.quarantined),
                    },
                    description=(
                        f"{dataset.name} {month}: {report.rows_quarantined} of "
                        f"{report.rows_read} rows quarantined, more than the "
                        f"{float(policy.max_quarantine_ratio):g} allowed"
                    )
                    if ratio.exceeded
                    else None,
                )
            ],
        )

    return _ingest


ingest_assets = [build_ingest_asset(d) for d in DATASETS]
