"""Reporting: the offline HTML dashboard, rebuilt once a month is published.

The dashboard opens its own read-only DuckDB connection on ``warehouse.path`` rather than
the resource's read-write one: it only reads, and by the time it runs the month's other
steps have closed their connections (DuckDB refuses a read-only connection while this
process still holds a read-write one on the same file).
"""

from pathlib import Path

import dagster as dg

from assets.partitions import monthly_partitions
from assets.resources import GradingSettings, WarehouseResource
from pipelines.faults import crash_point


@dg.asset(
    partitions_def=monthly_partitions,
    deps=["published_month"],
    group_name="reporting",
    kinds={"plotly", "html"},
    description="Self-contained HTML dashboard of the published months (tiers, levels, "
    "migration, exposure, metric distributions against the policy's thresholds, explained "
    "merchants) at <outputs>/dashboard/index.html; works offline.",
)
def dashboard(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: GradingSettings
) -> dg.MaterializeResult:
    # Imported here: plotly is not loaded with the definitions (a run warms it up in the
    # background, assets.runner), and commands other than a run never need it.
    from pipelines.reporting.dashboard import write_dashboard

    month = context.partition_key
    crash_point("dashboard:before_build", month)

    def policy_for(shown: str):
        """The latest month shown may be later than the run's: the dashboard takes its
        policy, not the run's month's (found by an audit, 2026-12-05: a regrade of
        January drew March against January's thresholds)."""
        return (
            settings.policy_for(shown) if shown == month else settings.calendar().policy_for(shown)
        )

    result = write_dashboard(
        Path(warehouse.path), settings.outputs / "dashboard", policy_for=policy_for
    )
    if context.partition_key not in result.months:
        context.log.warning(
            f"{context.partition_key} is not among the months shown "
            f"({result.months[0]}..{result.months[-1]})"
        )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "charts": result.charts,
            "months_shown": f"{result.months[0]}..{result.months[-1]}",
            "explained_merchants": dg.MetadataValue.json(result.merchants),
            "size_bytes": result.bytes,
        }
    )
