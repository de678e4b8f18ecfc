"""The offline HTML dashboard of the published months: one self-contained file.

``build_dashboard`` reads the published tables through its own read-only DuckDB
connection, aggregates in SQL (``dashboard_data``), styles the charts with plotly
(``dashboard_figures``) and writes ``index.html`` (``dashboard_page``)
atomically: a reader never sees half a file, and a failed build leaves the previous
dashboard in place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.months import add_months
from pipelines.policy import Policy, load_calendar
from pipelines.reporting.dashboard_data import build_payload, shown_months
from pipelines.reporting.dashboard_figures import build_figures
from pipelines.reporting.dashboard_movers import movers_payload
from pipelines.reporting.dashboard_page import render_page
from pipelines.reporting.dashboard_sections import section_payload
from pipelines.reporting.explain import ExplainError, open_read_only
from pipelines.warehouse import fetch_rows

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
        payload = build_payload(con, months, policy, merchants)
        payload.update(section_payload(con, payload, policy, month_policy))
        payload["movers"] = movers_payload(
            con, months, payload["previous"], payload["tiers"], payload["categories"], policy
        )
        versions = fetch_rows(con, _VERSIONS_SQL, {"months": months})
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
    )
    path = write_atomically(Path(out_dir) / "index.html", page)
    return DashboardResult(
        path=path,
        charts=len(charts),
        months=months,
        merchants=[m["id"] for m in payload["merchants"]],
        bytes=path.stat().st_size,
    )


_VERSIONS_SQL = (
    "SELECT policy_version, list(DISTINCT month ORDER BY month) FROM main.merchant_grades "
    "WHERE list_contains($months, month) GROUP BY ALL ORDER BY min(month), 1"
)


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


def write_atomically(path: Path, text: str) -> Path:
    """Write a temporary file in the same folder, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
