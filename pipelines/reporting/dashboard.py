"""The offline HTML dashboard of the published months: one self-contained file.

``build_dashboard`` reads the published tables through its own read-only DuckDB
connection, aggregates in SQL (``dashboard_data``), styles the charts with plotly
(``dashboard_figures``) and writes ``index.html`` (``dashboard_page``)
atomically: a reader never sees half a file, and a failed build leaves the previous
dashboard in place.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.atomic_files import write_atomically
from pipelines.months import add_months
from pipelines.policy import Policy, load_calendar
from pipelines.reporting.dashboard_data import build_payload, shown_months
from pipelines.reporting.dashboard_figures import build_figures
from pipelines.reporting.dashboard_movers import movers_payload
from pipelines.reporting.dashboard_page import BUILT_FROM_META, render_page
from pipelines.reporting.dashboard_sections import in_force_or, section_payload
from pipelines.reporting.explain import ExplainError, open_read_only
from pipelines.sql_files import load_sql
from pipelines.warehouse import fetch_rows, fetch_value

if TYPE_CHECKING:
    import duckdb

MONTHS_SHOWN = 12


class DashboardError(ExplainError):
    """The dashboard cannot be built; the message says why."""


@dataclass(frozen=True)
class DashboardResult:
    """What was written, for the CLI's message and the Dagster asset's metadata."""

    path: Path
    charts: int
    months: list[str]
    merchants: list[str]
    bytes: int


def build_dashboard(
    warehouse: Path,
    out_dir: Path,
    policy: Policy | None = None,
    merchants: list[str] | None = None,
) -> Path:
    """Write ``out_dir/index.html`` from the warehouse's published months; return its path.

    ``merchants``: the merchants the page explains (default: up to 3 per tier of the
    latest month). Thresholds are drawn from ``policy`` (default: the shipped policy).
    """
    return write_dashboard(warehouse, out_dir, policy, merchants).path


def write_dashboard(
    warehouse: Path,
    out_dir: Path,
    policy: Policy | None = None,
    merchants: list[str] | None = None,
    months_shown: int = MONTHS_SHOWN,
    policy_for: Callable[[str], Policy] | None = None,
) -> DashboardResult:
    """``build_dashboard`` with the details of what it wrote; ``policy`` defaults to the
    policy of the latest month shown, by ``policy_for`` (default: the shipped
    calendar's)."""
    warehouse = Path(warehouse)
    try:
        con = open_read_only(warehouse)
    except ExplainError as exc:
        raise DashboardError(str(exc)) from exc
    try:
        months = shown_months(con, months_shown)
        if not months:
            raise DashboardError(f"no month has been published in {warehouse} yet")
        if policy is None:
            month_policy = policy_for or load_calendar().policy_for
            policy = month_policy(months[-1])
        else:
            month_policy = None  # one policy file: every month under it
        versions = fetch_rows(con, _VERSIONS_SQL, {"months": months})
        windows = graded_windows(versions, in_force_or(month_policy, policy))
        payload = build_payload(con, months, policy, merchants, window_days=windows)
        payload.update(section_payload(con, payload, policy, month_policy))
        payload["movers"] = movers_payload(
            con,
            months,
            payload["previous"],
            payload["tiers"],
            payload["categories"],
            policy,
            windows,
        )
        source = built_from(con)
    finally:
        con.close()
    charts, figures, style = build_figures(payload, policy)
    warnings = page_warnings(versions, policy, payload["quality"]["stale"])
    meta = [
        ("warehouse", warehouse.name),
        ("months", f"{months[0]}..{months[-1]}"),
        ("policy", policy.version),
        ("generated", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    page = render_page(
        {"payload": payload, "figures": figures, "style": style, "charts": [c.id for c in charts]},
        charts,
        meta,
        warnings,
        source,
    )
    path = write_atomically(Path(out_dir) / "index.html", page)
    return DashboardResult(
        path=path,
        charts=len(charts),
        months=months,
        merchants=[m["id"] for m in payload["merchants"]],
        bytes=path.stat().st_size,
    )


def built_from(con: duckdb.DuckDBPyConnection) -> str:
    """The digest of what a page shows: every publication, the landing files runs have
    seen (stale and unpublished months) and the latest preview (the at-risk section).
    The policy the page draws thresholds from is its latest month's, which a change of
    calendar reaches only through that month's regrade, a publication."""
    digest = str(fetch_value(con, load_sql("dashboard/built_from.sql")))
    if fetch_value(con, _PREVIEW_LOG_SQL):
        latest = fetch_value(con, "SELECT CAST(max(made_at) AS VARCHAR) FROM preview.preview_log")
        digest += f"-{hashlib.md5(str(latest).encode()).hexdigest()}"
    return digest


_PREVIEW_LOG_SQL = (
    "SELECT count(*) FROM duckdb_tables() "
    "WHERE database_name = current_database() AND schema_name = 'preview' "
    "AND table_name = 'preview_log'"
)


def dashboard_is_current(warehouse: Path, out_dir: Path) -> bool:
    """Whether ``out_dir/index.html`` was built from the warehouse as it is now.

    A run stopped after publishing a month and before its dashboard step (a kill, or a
    Dagster run interrupted there) left the page showing the month's earlier grades, and
    the next run, skipping every month as unchanged, left it so (a review, 2026-12-06).
    A page without the digest (built before it was kept) is not current."""
    page = Path(out_dir) / "index.html"
    try:
        with page.open(encoding="utf-8", errors="replace") as text:
            head = text.read(16_384)
    except OSError:  # missing, or one this user may not read: rebuilt (renamed over it)
        return False
    found = re.search(rf'<meta name="{BUILT_FROM_META}" content="([0-9a-f-]*)">', head)
    if not found:
        return False
    con = open_read_only(Path(warehouse))
    try:
        return found.group(1) == built_from(con)
    finally:
        con.close()


_VERSIONS_SQL = (
    "SELECT policy_version, list(DISTINCT month ORDER BY month) FROM main.merchant_grades "
    "WHERE list_contains($months, month) GROUP BY ALL ORDER BY min(month), 1"
)


def graded_windows(
    versions: list[tuple[str, list[str]]], policy_of: Callable[[str], Policy]
) -> dict[str, int]:
    """The window length each shown month was graded on, where the policy giving it is
    known: ``policy_of`` the month, when that is the version it was published under (a
    month restated under an override is left to the page's policy). The explanations
    recompute a month's service sums over it: over the page's policy's window instead,
    a month graded under another window showed other sums, and a note blamed a change of
    raw data (a review of long history, 2026-12-07)."""
    windows = {}
    for version, months in versions:
        for month in months:
            policy = policy_of(month)
            if policy.version == version:
                windows[month] = policy.window_days
    return windows


def page_warnings(
    versions: list[tuple[str, list[str]]], policy: Policy, stale: list[str]
) -> list[str]:
    """The banners at the top of the page: months graded under another policy than the
    one the page draws thresholds from (each version with its months), and stale months,
    whose grades, and the moves into them, may no longer follow from their inputs (a
    review found a corrected month's restatement shown beside later months graded on the
    old data, with false movers and no mark, 2026-12-06)."""
    warnings = []
    if any(version != policy.version for version, _ in versions):
        graded = "; ".join(f"{version} ({month_spans(ms)})" for version, ms in versions)
        warnings.append(
            f"Months shown were graded under policy {graded}; thresholds and explanations "
            f"use policy {policy.version}."
        )
    if stale:
        warnings.append(
            f"Stale: {month_spans(stale)}. An earlier month was published again, or landing "
            "files changed, after these months were graded: their grades and the moves "
            "into them may no longer hold. Grade through "
            f"{stale[-1]} again (grading run --through {stale[-1]})."
        )
    return warnings


def month_spans(months: list[str]) -> str:
    """'2026-01..2026-03, 2026-05': consecutive months as one span."""
    spans: list[list[str]] = []
    for month in months:
        if spans and add_months(spans[-1][-1], 1) == month:
            spans[-1].append(month)
        else:
            spans.append([month])
    return ", ".join(s[0] if len(s) == 1 else f"{s[0]}..{s[-1]}" for s in spans)
