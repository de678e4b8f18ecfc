"""One factory for the assets that stage a graded table: compute, check, report.

merchant_grades, merchant_compliance, exposure_weights and tier_distribution have the same
body: replace the month in their ``work.*`` table through the month writer (so a failure
puts the month back), run the table's output suite as their blocking check, and report a
summary and a preview, with the table's content as the data version. Only the computing
function, the summary and the dependencies differ, so those are what an asset spells out
(assets/grading.py, assets/exposure.py).
"""

from collections.abc import Callable, Sequence
from contextlib import nullcontext

import dagster as dg
import duckdb
import polars as pl

from assets import engine
from assets.checks import run_suite_check, suite_check_spec
from assets.metadata import content_version, markdown_preview
from assets.partitions import monthly_partitions
from assets.resources import GradingSettings, WarehouseResource
from pipelines.policy import Policy

Compute = Callable[[duckdb.DuckDBPyConnection, str, Policy], pl.DataFrame]
Summary = Callable[[pl.DataFrame, Policy], dict[str, object]]


def staged_table_asset(
    name: str,
    *,
    compute: Compute,
    summarize: Summary,
    deps: Sequence[dg.AssetDep | dg.AssetKey | str],
    group_name: str,
    description: str,
    reads_rows: bool = False,
    preview_drops: Sequence[str] = (),
) -> dg.AssetsDefinition:
    """The asset ``name`` staging ``work.<name>`` with ``compute`` and checked by the suite
    ``outputs/<name>``. ``reads_rows``: its queries read raw rows, which the Spark engine
    runs on the cluster; ``preview_drops``: columns too long for the metadata preview."""
    suite = f"outputs/{name}"

    @dg.asset(
        name=name,
        partitions_def=monthly_partitions,
        deps=list(deps),
        group_name=group_name,
        kinds={"duckdb", "polars"},
        check_specs=[suite_check_spec(name, suite)],
        description=description,
    )
    def staged_table(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: GradingSettings
    ) -> dg.MaterializeResult:
        month = context.partition_key
        policy = settings.policy_for(month)
        rows = engine.row_queries(settings, warehouse) if reads_rows else nullcontext()
        with warehouse.month_writer(context) as con, rows:
            frame = compute(con, month, policy)
            check = run_suite_check(context, con, settings, suite)
        return dg.MaterializeResult(
            data_version=content_version(frame),
            check_results=[check],
            metadata={
                **summarize(frame, policy),
                "preview": markdown_preview(frame.drop(preview_drops)),
            },
        )

    return staged_table
