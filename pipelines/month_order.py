"""Months are graded in order: a month builds on the one before it being published.

Kept apart from publishing (which reads the ingest's fingerprints) so that the preview,
which follows the same rule, does not reach the ingest through it.
"""

from __future__ import annotations

import duckdb

from pipelines.grading import GradingError
from pipelines.months import add_months
from pipelines.warehouse import fetch_rows


def previous_month_missing(
    con: duckdb.DuckDBPyConnection, month: str, first_landing_month: str | None
) -> bool:
    """Whether ``month`` must wait for the month before it: that month is not published,
    and something comes before ``month`` (an earlier landing month, or one ingested or
    published).

    Credit points add up month by month and the 90-day window reaches back two months
    (spec §2, §3), so a month graded with its predecessor missing (never run, or run and
    failed, which leaves nothing of it) counts too few points and too few orders. Spec
    §9 grades months in order; a UI or backfill run of a later month alone must not
    publish either, and a preview must not project one.
    """
    published, earlier = fetch_rows(
        con,
        "SELECT EXISTS (SELECT 1 FROM main.run_log WHERE month = $previous), "
        "EXISTS (SELECT 1 FROM main.run_log WHERE month < $month) "
        "OR EXISTS (SELECT 1 FROM raw.ingest_log WHERE month < $month)",
        {"previous": add_months(month, -1), "month": month},
    )[0]
    if published:
        return False
    return bool(earlier) or (first_landing_month is not None and first_landing_month < month)


def refuse_unpublished_previous(
    con: duckdb.DuckDBPyConnection, month: str, first_landing_month: str | None
) -> None:
    """Refuse to publish ``month`` while the month before it is missing
    (``previous_month_missing``)."""
    if previous_month_missing(con, month, first_landing_month):
        previous = add_months(month, -1)
        raise GradingError(f"{unpublished_previous(month)}: publish {previous} before {month}")


def unpublished_previous(month: str) -> str:
    """Why ``month`` waits for the month before it: the refusal's reason, which the run
    and the publication each end with their own way out."""
    return (
        f"{add_months(month, -1)} is not published, and {month} builds on it (credit "
        "points add up month by month; the 90-day window reaches back into it)"
    )
