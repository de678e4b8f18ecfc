"""At risk this month: merchants projected below the tier they hold (issue 19 §4).

Partition M is the latest published month, whose tiers the merchants hold now; the
config's ``as_of`` is a day of the running month M+1. The asset previews M+1 as of that
day (pipelines/preview.py: on a copy, with the month's data checks, blocked like a
month), stores the preview in the warehouse's ``preview`` schema and
``<outputs>/preview/`` (pipelines/preview_store.py), and lists who falls below their
tier of M (pipelines/at_risk.py). Nothing published, no run key, is touched.

It is not part of the ``grade_month`` job (a monthly run has no as-of day): it is
materialized on its own, from the UI's launchpad or ``dg.materialize``.
"""

from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from assets.metadata import markdown_preview
from assets.partitions import monthly_partitions
from assets.resources import GradingSettings, WarehouseResource
from pipelines.months import add_months, month_key

# The columns the UI's preview table shows: who, from what to what, why, how far.
SHOWN_COLUMNS = (
    "merchant_id",
    "main_category",
    "published_tier",
    "projected_tier",
    "deciding_metrics",
    "bad_orders_to_recover",
    "disputes_to_recover",
    "bad_orders_to_cross",
    "disputes_to_cross",
)


class AtRiskConfig(dg.Config):
    """The day the running month is projected as of."""

    as_of: str = Field(
        description="YYYY-MM-DD, a day of the month after the partition (the running "
        "month): it is graded as if it closed at the end of that day."
    )


@dg.asset(
    partitions_def=monthly_partitions,
    deps=["published_month"],
    group_name="reporting",
    kinds={"duckdb", "polars"},
    description="Merchants whose projected tier for the running month (a preview as of "
    "the config's as_of day) is below their tier of the partition's published month, with "
    "the deciding metrics and how many bad orders or disputes from the threshold they are "
    "(stored in preview.at_risk and <outputs>/preview/at_risk/).",
)
def at_risk_merchants(
    context: dg.AssetExecutionContext,
    config: AtRiskConfig,
    warehouse: WarehouseResource,
    settings: GradingSettings,
) -> dg.MaterializeResult:
    # Imported here: a preview (its ingest, checks and summaries) is not loaded with the
    # definitions, which every run and `dagster dev` load.
    from pipelines.preview import (
        PreviewBlocked,
        PreviewError,
        parse_as_of,
        preview_month,
        published_policy_note,
    )
    from pipelines.preview_store import store_blocked, store_preview

    published = context.partition_key
    running = add_months(published, 1)
    as_of = parse_as_of(config.as_of)
    if month_key(as_of) != running:
        raise PreviewError(
            f"as_of {config.as_of} is not a day of {running}, the month after partition "
            f"{published}: choose the partition of the month before the as-of day"
        )
    path = Path(warehouse.path)
    policy = Path(settings.policy_file) if settings.policy_file else None
    override = Path(settings.policy_override) if settings.policy_override else None
    try:
        preview = preview_month(
            settings.landing, path, config.as_of, policy, policy_override=override
        )
    except PreviewBlocked as blocked:  # as a month is: logged, nothing of it kept
        store_blocked(path, settings.outputs, blocked)
        raise
    stored = store_preview(path, settings.outputs, preview)
    risk = preview.at_risk
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(risk.height),
            "projected_month": running,
            "as_of": as_of.isoformat(),
            "compared_with": preview.compared_month or "",
            "merchants_projected": preview.grades.height,
            "policy_version": preview.policy_version,
            "note": published_policy_note(preview) or "",
            **{f"at_risk_from_{tier}": n for tier, n in _counts(risk).items()},
            "exports": dg.MetadataValue.json([str(f) for f in stored.files] if stored else []),
            "preview": markdown_preview(
                risk.select(SHOWN_COLUMNS).with_columns(risk["deciding_metrics"].list.join(", "))
            ),
        }
    )


def _counts(risk: pl.DataFrame) -> dict[str, int]:
    """At-risk merchants per published tier."""
    counted = risk.group_by("published_tier").len().sort("published_tier")
    return {str(tier): int(n) for tier, n in counted.iter_rows()}
