"""A routine run never moves a published month back to an older policy (spec §10).

A month is graded under its calendar's policy, and the calendar is whatever the run is
given (``--policy DIR``, ``GRADING_POLICY``, the Dagster resource's ``policy_file``), not
something the warehouse keeps. A run given a calendar that lacks the newer policy a month
was published under (an unset option in a scheduled job, an older checkout of the policy
folder) would otherwise regrade the month under an older policy and change its published
grades with no one having asked. Spec §10 moves a published month only forward, to a
newer policy in force for it; any other move is an explicit restatement
(``--policy-override``), so it is refused here, naming what to pass instead.
"""

from __future__ import annotations

import duckdb

from pipelines.policy import PolicyCalendar, PolicyError
from pipelines.warehouse import fetch_rows

LATEST_PUBLICATION = """
SELECT policy_version, coalesce(policy_override, false)
FROM main.run_log WHERE month = $month
ORDER BY published_at DESC LIMIT 1
"""


class PolicyRollback(PolicyError):
    """The calendar would regrade a published month under an older policy."""


def policy_rollback(
    con: duckdb.DuckDBPyConnection, month: str, calendar: PolicyCalendar
) -> str | None:
    """Why grading the published ``month`` under ``calendar`` would move it back to an
    older policy than it was published under; None when it would not.

    The move is forward, and allowed, when the calendar still holds the published
    version and starts it on or before the month: the calendar's policy for the month is
    then one that takes effect later, a newer one. A month last published under
    ``--policy-override`` is left to the run key's own rule (an ordinary run keeps it
    while its inputs are unchanged), and a month never published has nothing to move.
    """
    rows = fetch_rows(con, LATEST_PUBLICATION, {"month": month})
    if not rows or rows[0][0] is None or rows[0][1]:
        return None
    published = rows[0][0]
    chosen = calendar.policy_for(month)
    if chosen.version == published:
        return None
    kept = next((p for p in calendar.policies if p.version == published), None)
    if kept is not None and (kept.effective_from or "") <= month:
        return None
    where = (
        f"does not hold {published}"
        if kept is None
        else f"starts {published} only from {kept.effective_from}"
    )
    return (
        f"{month} was published under policy {published}, and the policy calendar "
        f"{calendar.source} {where}: grading it now would move it back to {chosen.version}. "
        f"Pass the calendar it was published under (--policy DIR), or restate {month} "
        f"under {chosen.version} on purpose with --policy-override {chosen.source}"
    )


def refuse_policy_rollback(
    con: duckdb.DuckDBPyConnection, months: list[str], calendar: PolicyCalendar
) -> None:
    """Raise PolicyRollback for the first of ``months`` the calendar would move back."""
    for month in months:
        reason = policy_rollback(con, month, calendar)
        if reason:
            raise PolicyRollback(reason)
