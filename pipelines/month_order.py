"""Months are graded in order: a month builds on the one before it being published.

Kept apart from publishing (which reads the ingest's fingerprints) so that the preview,
which follows the same rule, does not reach the ingest through it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.datasets import DATASETS
from pipelines.grading import GradingError
from pipelines.months import add_months, grading_window
from pipelines.sql_files import load_sql
from pipelines.warehouse import fetch_rows, fetch_value


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


def refuse_stale_previous(con: duckdb.DuckDBPyConnection, month: str) -> None:
    """Refuse to publish ``month`` on a stale month before it (main.month_status): a
    month whose regrade failed after its landing files changed, or one built on such a
    month. ``month`` would roll its credit points on that month's outdated ledger, so a
    run of it alone (the schedule, the UI, ``--from``) must wait for the months before
    it to be graded again."""
    stale = earliest_stale_before(con, month)
    if stale:
        raise GradingError(
            f"{stale_reason(stale)}, and {month} builds on it: publish {stale} again before {month}"
        )


def refuse_outdated_past(con: duckdb.DuckDBPyConnection, landing: Path, month: str) -> None:
    """Refuse to publish ``month`` on a month before it whose landing files changed after
    it was graded, that was never graded, or whose files cannot be read as graded
    (``outdated_earlier_month``).

    A `grading run --from` checks this before its first month; a month run alone by the
    schedule or the UI did not, so a correction landed for an earlier month and not yet
    read by any run was built on as if it were not there: ``month`` published grades a
    run from the landing's first month does not give. Each earlier month's files are
    hashed (once per process: the CLI's own check has read them already).
    """
    outdated = outdated_earlier_month(con, landing, month)
    if outdated:
        earlier, reason = outdated
        raise GradingError(
            f"{reason}, and {builds_on(month)}: grade from {earlier} (grading run --from "
            f"{earlier} --through {month} grades each month from it in order)"
        )


def unfinished_ingests(
    con: duckdb.DuckDBPyConnection, month: str, window_days: int, *, before_month: bool = False
) -> list[tuple[str, str]]:
    """The dataset-months of ``month``'s window (``before_month``: of the months before
    it) whose ingest stored its rows and stopped before it finished: raw rows, no
    raw.ingest_log row. Only the datasets read straight into raw.<dataset> can be left so
    (``Dataset.checks_order`` is False; the others are written in one transaction).

    The log is read first, and raw.<dataset> only for a dataset-month it lacks, by a
    query that stops at that month's first row: a scan of the window's rows, as this
    was, cost every ingest step and the publication ~0.04 s at 1M orders a month and
    grew with the month (three months of raw.orders at 100M)."""
    months = grading_window(month, window_days).window_months
    months = [m for m in months if m < month] if before_month else months
    if not months:
        return []
    direct = [ds.name for ds in DATASETS if not ds.checks_order]
    unlogged = fetch_rows(
        con, load_sql("grading/unlogged_ingests.sql"), {"datasets": direct, "months": months}
    )
    return [
        (dataset, m)
        for dataset, m in unlogged
        if fetch_value(
            con,  # dataset is one of DATASETS' names: safe to write into the statement
            f"SELECT EXISTS (SELECT 1 FROM raw.{dataset} WHERE month = $month)",
            {"month": m},
        )
    ]


def refuse_unfinished_ingests(
    con: duckdb.DuckDBPyConnection, month: str, window_days: int, *, before_month: bool = False
) -> None:
    """Refuse to build on an unfinished ingest of a dataset-month of ``month``'s window
    (``before_month``: of the months before it; ``unfinished_ingests``)."""
    unfinished = unfinished_ingests(con, month, window_days, before_month=before_month)
    if unfinished:
        named = ", ".join(f"{dataset} {ingested}" for dataset, ingested in unfinished)
        raise GradingError(
            f"{month} cannot be published: the ingest of {named} stopped before it "
            f"finished; rerun that month first"
        )


def refuse_out_of_order(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    month: str,
    first_landing_month: str | None,
    window_days: int,
) -> None:
    """Refuse to write ``month`` on a past it cannot be graded on: the month before it
    missing, a stale month before it, an unfinished ingest of a month of its window
    before it, or an earlier landing month corrected since it was graded (the refusals
    its publication makes, in the same order).

    Made by a month's ingests before they read a row, so that a month the schedule or the
    UI runs out of order stops at once with the reason and the month to grade first.
    Left to its publication, the month first read its rows against the missing or
    outdated past, and one of its data checks (feedback on a missing month's orders is
    ``unknown_order``, over the quarantine limit) failed it with a reason that was not
    the one to act on.
    """
    refuse_unpublished_previous(con, month, first_landing_month)
    refuse_stale_previous(con, month)
    refuse_unfinished_ingests(con, month, window_days, before_month=True)
    refuse_outdated_past(con, landing, month)


def earliest_stale_before(con: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """The first published month before ``month`` that main.month_status calls stale."""
    return fetch_rows(
        con,
        "SELECT min(month) FROM main.month_status WHERE stale AND month < $month",
        {"month": month},
    )[0][0]


def stale_reason(month: str) -> str:
    return (
        f"{month} is stale (a month before it, or its landing files, changed after it was "
        "published, and its regrade is not published)"
    )


def unpublished_previous(month: str) -> str:
    """Why ``month`` waits for the month before it: the refusal's reason, which the run
    and the publication each end with their own way out."""
    return f"{add_months(month, -1)} is not published, and {builds_on(month)}"


def builds_on(month: str) -> str:
    """Why a month needs the months before it, for a refusal's reason.

    True of any earlier month: it said "the 90-day window reaches back into it" also of a
    month the window does not reach (December, for March; a review, 2026-12-08)."""
    return (
        f"{month} builds on it (credit points carry over from month to month, and its rows "
        "are checked against the orders and keys of the months before)"
    )


def outdated_earlier_month(
    con: duckdb.DuckDBPyConnection, landing: Path, month: str
) -> tuple[str, str] | None:
    """The first month before ``month`` that is no base to grade it on, and why; None
    when every one is.

    A run that starts after the landing folder's first month (``--from``) builds on what
    the warehouse holds for the months before it: their credit history, the window's
    orders, the keys they took. When a month before it was corrected in the landing
    folder since it was ingested, or is not ingested at all, or is stale (its regrade
    failed, or a month before it moved), grading ``month`` on it would publish grades
    that a run over the same landing from its first month would not give, and an
    unchanged ``month`` would even be skipped as current. A month whose landing folders
    are all gone (archived) is taken as graded: its ingested rows stand; so is a dataset
    whose month folder is gone while the month lacks a folder it cannot be graded without
    (a run from the landing's first month refuses it as incomplete). A month that can
    still be graded reads a missing optional folder (bad orders, service metrics) as
    no records, as that run does: a change when it had some (found by a review,
    2026-12-05: ``--from`` called March current while a full run restated February
    without its bad orders, and March with it).

    A month that can still be graded whose latest publication was graded by other rules
    than this code's (``RULES_VERSION``: an earlier version of grading, before an
    upgrade) is no base either: its grades, credit history and raw rows are what those
    rules made of its files (found by a review, 2026-12-06: ``--from`` after an upgrade
    published March on the old code's February, with bad-order counts a run from January
    does not give).

    A changed month's files are recorded as seen (journal.landing_seen), so
    main.month_status shows the months built on it as stale although no run regraded it.
    """
    from pipelines.datasets import DATASETS
    from pipelines.landing import REQUIRED_DATASETS, IngestError, landing_months, month_folder
    from pipelines.rules_version import month_graded_by_other_rules
    from pipelines.run_key import ingested_digests, landing_digests, record_landing_seen

    earlier_months = [m for m in landing_months(landing) if m < month]
    for earlier in earlier_months:
        ingested = ingested_digests(con, earlier)
        if not ingested:
            return earlier, f"{earlier} is not published"
        # A dataset's month folder removed whole is archived, as a whole month is, unless
        # the month can still be graded; an emptied one is a change.
        present = [ds.name for ds in DATASETS if month_folder(landing, ds.name, earlier).is_dir()]
        gradable = set(REQUIRED_DATASETS) <= set(present)
        if gradable:
            present = [ds.name for ds in DATASETS]
        try:
            digests = landing_digests(landing, earlier, present)
        except (IngestError, OSError) as exc:
            return earlier, f"{earlier}'s landing files cannot be read as graded ({exc})"
        changed = changed_datasets(digests, ingested)
        if changed:
            record_landing_seen(con, earlier, digests)
            return earlier, (
                f"{earlier}'s landing files changed after it was graded ({', '.join(changed)})"
            )
        # Only a month that can still be graded: an archived one stands as graded (no run
        # could regrade it; refused, every way out failed as an incomplete month).
        other_rules = month_graded_by_other_rules(con, earlier) if gradable else None
        if other_rules:
            return earlier, other_rules
    stale = earliest_stale_before(con, month)
    return (stale, stale_reason(stale)) if stale else None


def note_first_changed_month(
    con: duckdb.DuckDBPyConnection, landing: Path, months: list[str]
) -> None:
    """Note the landing files of the first of ``months`` (in order) whose files changed
    since it was graded, as its ingest would have (journal.landing_seen): a run refused
    before any month still leaves that month and the months built on it shown stale. A
    run refused by its policies left ``grading summary`` saying no month was stale, with
    January's files corrected (found by a black-box review, 2026-12-05). Stops, as a run
    would, at a month that is incomplete, never graded, or cannot be read.
    """
    from pipelines.landing import IncompleteMonth, IngestError, require_complete_month
    from pipelines.run_key import ingested_digests, landing_digests, record_landing_seen

    for month in months:
        ingested = ingested_digests(con, month)
        if not ingested:
            return
        try:
            require_complete_month(landing, month)
            digests = landing_digests(landing, month)
        except (IncompleteMonth, IngestError, OSError):
            return
        if changed_datasets(digests, ingested):
            record_landing_seen(con, month, digests)
            return


def changed_datasets(digests: dict[str, str], ingested: dict[str, str]) -> list[str]:
    """The datasets whose landing files digest (``digests``) is not the one ingested."""
    return sorted(name for name, digest in digests.items() if digest != ingested.get(name))
