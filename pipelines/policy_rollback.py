"""A routine run never moves a published month off its policy, except forward (spec §10).

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

from pipelines.exports import months_without_export_record
from pipelines.months import add_months
from pipelines.policy import Policy, PolicyCalendar, PolicyError, policy_digest
from pipelines.publication_log import latest_publication, latest_publications
from pipelines.warehouse import fetch_value


class PolicyRollback(PolicyError):
    """The calendar would regrade a published month under an older policy."""


class PolicyRedefined(PolicyError):
    """A policy file holds other rules under a version that has already graded months."""


# Each month's latest publication only: a warehouse whose file was edited in place before
# this was refused keeps both digests in its history, and the file as the months now
# stand must pass.
MONTHS_OF_OTHER_RULES = """
WITH latest AS (
    FROM main.run_log
    QUALIFY row_number() OVER (PARTITION BY month ORDER BY published_at DESC) = 1
)
SELECT string_agg(month, ', ' ORDER BY month) FROM latest
WHERE policy_version = $version AND policy_digest IS NOT NULL AND policy_digest <> $digest
"""


def refuse_redefined_version(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    """Refuse ``policy`` when its version graded months under other rules or numbers.

    Every published row names its policy by version alone, so a version must mean one set
    of rules: a file edited in place under the same ``policy_version`` would otherwise
    regrade its published months with the new numbers, with nobody having asked for a
    restatement, and stamp them with a version that no longer says which rules made them
    (found by an audit, 2026-12-05). Publications recorded before policy digests were
    kept (``policy_digest`` null) are not compared.
    """
    months = fetch_value(
        con, MONTHS_OF_OTHER_RULES, {"version": policy.version, "digest": policy_digest(policy)}
    )
    if months:
        raise PolicyRedefined(
            f"{policy.source}: policy {policy.version} graded {months} with other rules or "
            f"numbers than this file holds. A published row names its policy by version, so "
            f"a version's rules stay as they were once it has graded a month: give the "
            f"changed rules a new policy_version (with the effective_from to use them from), "
            f"or put the file back as it was. If the file is as it was, this version of "
            f"grading reads it otherwise than the one that graded those months: since rules "
            f"2026.12.4 a decimal written without quotes is read as written, no longer as the "
            f"nearest binary float (0.1200000000000000001 was 0.12), so write such a number "
            f'in quotes as it was read ("0.12")'
        )


def policy_rollback(
    con: duckdb.DuckDBPyConnection, month: str, calendar: PolicyCalendar
) -> str | None:
    """Why regrading the published ``month`` under ``calendar`` would move it off the
    policy it was last published under, other than forward; None when it would not.

    The move is forward, and allowed, when the calendar holds the published version and
    starts it on or before the month: the calendar's policy for the month then takes
    effect later, a newer one. A month last restated under ``--policy-override`` is held
    to the same rule when it is regraded (an ordinary run skips it while its inputs are
    unchanged): the restatement was asked for, and only another one may undo it. When
    the calendar lacks the published version, which of the two is newer is unknown
    (run_log keeps a version, not its start), so that is refused as well.
    """
    move = _backward_move(con, month, calendar)
    if move is None:
        return None
    published, overridden, chosen, where = move
    how = "restated, on purpose, under" if overridden else "published under"
    return (
        f"{month} was {how} policy {published}, and the policy calendar {calendar.source} "
        f"{where}: this run would regrade it under {chosen.version} instead. Pass the "
        f"calendar it was graded under (--policy DIR), or regrade it under "
        f"{chosen.version} on purpose, as a restatement: grading run --from {month} "
        f"--through {month} --policy-override {chosen.source}"
    ) + _unfinished_exports_note(con, month, published, overridden)


def _backward_move(
    con: duckdb.DuckDBPyConnection, month: str, calendar: PolicyCalendar
) -> tuple[str, bool, Policy, str] | None:
    """(published version, whether under an override, the calendar's policy, where the
    calendar stands on the published version) when ``calendar`` would move the published
    ``month`` off its policy other than forward; None when it would not."""
    latest = latest_publication(con, month)
    if latest is None or latest.policy_version is None:
        return None
    published, overridden = latest.policy_version, latest.policy_override
    chosen, where = _calendar_move(calendar, month, published)
    if where is None:
        return None
    return published, bool(overridden), chosen, where


def _calendar_move(
    calendar: PolicyCalendar, month: str, published: str
) -> tuple[Policy, str | None]:
    """The calendar's policy for ``month``, and, when moving the month to it from the
    ``published`` version is not forward, where the calendar stands on that version
    (None: the same policy, or a newer one in force for the month). The move is forward
    when the calendar holds the published version from the month or earlier."""
    chosen = calendar.policy_for(month)
    if chosen.version == published:
        return chosen, None
    kept = next((p for p in calendar.policies if p.version == published), None)
    if kept is not None and (kept.effective_from or "") <= month:
        return chosen, None
    if kept is None:
        return chosen, f"does not hold {published}"
    return chosen, f"starts {published} only from {kept.effective_from}"


def refuse_calendar_behind_previous(
    con: duckdb.DuckDBPyConnection, month: str, calendar: PolicyCalendar
) -> None:
    """Refuse grading ``month`` under ``calendar`` when the calendar is not the one the
    month before was graded under: it would give that month an older policy, or none
    that it holds. A run of one month (the schedule, the UI, ``--from``) given another
    calendar than the CLI's (``GRADING_POLICY`` unset in the code location, an old
    checkout) would otherwise grade it under an older policy than the month before, with
    nothing refused: the checks above only compare a month with its own publication
    (found by an audit, 2026-12-05). A month before restated under ``--policy-override``
    says nothing of the calendar, and one the calendar does not reach is not judged.
    """
    previous = add_months(month, -1)
    try:
        move = _backward_move(con, previous, calendar)
    except PolicyError:  # the calendar starts after the month before
        return
    if move is None or move[1]:
        return
    published, _, chosen, where = move
    raise PolicyRollback(
        f"{month} cannot be graded under the policy calendar {calendar.source}: "
        f"{previous} was published under policy {published}, and that calendar {where} "
        f"(it would give {previous} {chosen.version}), so it is not the calendar the "
        f"months before were graded under. Pass that calendar (--policy DIR, or "
        f"GRADING_POLICY where Dagster runs)"
    )


def months_due_for_newer_policy(
    con: duckdb.DuckDBPyConnection, calendar: PolicyCalendar, before: str = "9999-12"
) -> list[tuple[str, str, Policy]]:
    """(month, published version, the calendar's newer policy for it) for each published
    month before ``before`` that ``calendar`` moves forward (spec §10: a new policy
    regrades the months from its ``effective_from`` on): published under a policy the
    calendar holds from that month or earlier, while it now gives the month a later one.

    A month restated under ``--policy-override`` keeps its policy, and a backward move
    (a calendar without the published version, or holding it only from later) is not a
    due regrade but a rollback, refused when its month is regraded (``policy_rollback``).
    """
    due = []
    for month, latest in latest_publications(con, before):
        published = latest.policy_version
        if latest.policy_override or published is None:
            continue
        try:
            chosen, backward = _calendar_move(calendar, month, published)
        except PolicyError:  # the calendar starts after it
            continue
        if chosen.version != published and not backward:
            due.append((month, published, chosen))
    return due


def refuse_past_due_for_newer_policy(
    con: duckdb.DuckDBPyConnection, month: str, calendar: PolicyCalendar
) -> None:
    """Refuse grading ``month`` while a month before it is due to be regraded under a
    newer policy of ``calendar`` (``months_due_for_newer_policy``).

    Adding ``policy-2026.2`` from February and grading March alone (``--from``, the
    schedule, the UI) published March under 2026.2 and left February under 2026.1, with
    nothing stale and nothing said (found by a review, 2026-12-06): the months of the
    new policy are graded in order from its first, as a landing correction is.
    """
    due = months_due_for_newer_policy(con, calendar, before=month)
    if not due:
        return
    earlier, published, chosen = due[0]
    raise PolicyRollback(
        f"{month} cannot be graded before {earlier}: {earlier} was published under "
        f"policy {published}, and the policy calendar {calendar.source} gives it "
        f"{chosen.version} (in force from {chosen.in_force_from}), which regrades "
        f"every month from then on: grade from {earlier} (grading run --from {earlier} "
        f"--through {month})"
    )


def _unfinished_exports_note(
    con: duckdb.DuckDBPyConnection, month: str, published: str, overridden: bool
) -> str:
    """When the month's exports are not recorded as complete (a run stopped while writing
    them), which is why it is regraded: how to finish them without moving its grades.
    Found by an audit: after a restatement killed in its exports, the refusal only
    offered to undo the restatement."""
    if month not in months_without_export_record(con):
        return ""
    again = (
        f"--policy-override with the file of policy {published}"
        if overridden
        else f"--policy with a calendar holding {published} from {month} or earlier"
    )
    return (
        f". Its Parquet exports are not recorded as complete (a run stopped while writing "
        f"them): to write them and keep its grades, rerun it as it was published: "
        f"grading run --from {month} --through {month} {again}"
    )


def refuse_policy_rollback(
    con: duckdb.DuckDBPyConnection, month: str, calendar: PolicyCalendar
) -> None:
    """Raise PolicyRollback when regrading ``month`` under ``calendar`` would move it."""
    reason = policy_rollback(con, month, calendar)
    if reason:
        raise PolicyRollback(reason)
