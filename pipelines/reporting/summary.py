"""A plain-text tier distribution per published month, for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines import rules_version
from pipelines.exports import months_without_export_record
from pipelines.policy import PolicyCalendar, load_policy
from pipelines.policy_rollback import months_due_for_newer_policy
from pipelines.publication_log import latest_publications
from pipelines.warehouse import connect, fetch_frame, fetch_rows, refuse_outdated_schema

STALE_MONTHS_SQL = "SELECT month FROM main.month_status WHERE stale ORDER BY month"
# Per restated month: how often, and the latest restatement's time and reason.
RESTATED_MONTHS_SQL = """
SELECT month, count(*), max(published_at), arg_max(coalesce(restatement_reason, ''), published_at)
FROM main.run_log WHERE restated GROUP BY month ORDER BY month
"""


def tier_summary(warehouse: Path, calendar: PolicyCalendar | None = None) -> str:
    """Merchants per tier and month, with shares, from the published tier_distribution;
    then which months are stale, due for a newer policy of ``calendar`` (when given),
    not fully exported, or restated."""
    con = connect(warehouse, read_only=True)
    try:
        refuse_outdated_schema(con, warehouse)
        frame = fetch_frame(
            con,
            "SELECT month, tier, sum(merchants)::BIGINT AS merchants FROM main.tier_distribution "
            "GROUP BY ALL ORDER BY ALL",
        )
        provisional = dict(
            fetch_frame(
                con,
                "SELECT month, count(*) FILTER (WHERE provisional) AS n FROM main.merchant_grades "
                "GROUP BY ALL ORDER BY ALL",
            ).iter_rows()
        )
        states = month_state_lines(con, calendar)
    finally:
        con.close()
    if frame.is_empty():
        return "no month has been published yet"
    return "\n".join([tier_table(frame, provisional), "", *states])


def month_state_lines(
    con: duckdb.DuckDBPyConnection, calendar: PolicyCalendar | None = None
) -> list[str]:
    """Which published months are stale (main.month_status), due for a newer policy of
    ``calendar``, and restated (main.run_log): the months whose numbers above may not,
    or no longer, be the first ones a reader saw.

    A month due for a newer policy is not stale in the warehouse, which does not know
    the calendar; a run that would grade past it is refused
    (``refuse_past_due_for_newer_policy``), so the summary names it before that run."""
    stale = [m for (m,) in fetch_rows(con, STALE_MONTHS_SQL)]
    restated = fetch_rows(con, RESTATED_MONTHS_SQL)
    pending = months_without_export_record(con)
    lines = ["stale months: " + (", ".join(stale) if stale else "none")]
    if stale:
        lines.append(
            "  (an earlier month or the landing files changed after they were graded; "
            f"grade them again: grading run --through {stale[-1]}, with the --landing and "
            "--policy they were graded with)"
        )
    other_rules = [
        month
        for month, latest in latest_publications(con)
        if rules_version.graded_by_other_rules(month, latest.rules_version)
    ]
    if other_rules:
        lines += [
            "graded by an earlier version of grading: " + ", ".join(other_rules),
            f"  (this version's rules are {rules_version.RULES_VERSION} and may grade them "
            f"otherwise; "
            f"grade them again: grading run --through {other_rules[-1]}; a month whose "
            f"landing files are archived stays as graded)",
        ]
    if calendar is not None:
        lines += due_for_newer_policy_lines(con, calendar)
    if pending:
        lines += [
            "Parquet exports not recorded as complete: " + ", ".join(pending),
            "  (a run stopped while writing them, or they predate the record: a table "
            "folder may hold an earlier publication or none; read the warehouse, or "
            f"rewrite them: grading run --through {pending[-1]})",
        ]
    lines.append("restated months:" if restated else "restated months: none")
    lines += [
        f"  {month}  {times} time(s), last at {last:%Y-%m-%d %H:%M:%S} UTC: {reason}"
        for month, times, last, reason in restated
    ]
    return lines


def due_for_newer_policy_lines(
    con: duckdb.DuckDBPyConnection, calendar: PolicyCalendar
) -> list[str]:
    """The months ``calendar`` gives a newer policy than they were published under, and
    the run that regrades them (from the first, through the last published month)."""
    due = months_due_for_newer_policy(con, calendar)
    if not due:
        return [f"due for a newer policy of {calendar.source}: none"]
    (last,) = fetch_rows(con, "SELECT max(month) FROM main.run_log")[0]
    return [
        f"due for a newer policy of {calendar.source}:",
        *(
            f"  {month}  published under {published}, the calendar gives "
            f"{chosen.version} (in force from {chosen.in_force_from})"
            for month, published, chosen in due
        ),
        f"  (regrade them in order: grading run --from {due[0][0]} --through {last}, "
        f"with --policy {calendar.source})",
    ]


def tier_table(
    frame: pl.DataFrame, provisional: dict[str, int], tiers: Sequence[str] | None = None
) -> str:
    """Lines of merchants per tier (count and share) for each month of ``frame``
    (month, tier, merchants), with its provisional count; also used by ``grading preview``.

    The columns are ``tiers`` (default: the shipped policy's, top first), so the tier
    names live in the policy only, then any other tier ``frame`` holds (a month graded
    under a policy with tiers of its own), so that a month's columns add up to its
    merchants."""
    tier_order = tuple(tiers) if tiers else load_policy().tier_names
    tier_order += tuple(sorted(set(frame["tier"]) - set(tier_order)))
    header = f"{'month':<8} {'graded':>8}  " + "  ".join(f"{t:>17}" for t in tier_order)
    lines = [header + f"  {'provisional':>11}"]
    for (month,), rows in frame.sort("month").group_by("month", maintain_order=True):
        counts = dict(zip(rows["tier"], rows["merchants"], strict=True))
        total = sum(counts.values())
        cells = "  ".join(
            f"{counts.get(t, 0):>8} ({counts.get(t, 0) / total:6.1%})" for t in tier_order
        )
        lines.append(f"{month:<8} {total:>8}  {cells}  {provisional.get(month, 0):>11}")
    return "\n".join(lines)
