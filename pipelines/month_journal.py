"""A month's run is all or nothing: the rows it replaces are kept until it is published.

A month's steps each commit their own writes (ingest into ``raw.*``, staged results in
``work.*``), and its blocking checks run after them. A check that fails, a step that
raises or a process that is killed would otherwise leave the month's new raw rows in
place under the old publication: a later month graded on them, or an "unchanged" skip
that trusts them, gives a wrong grade.

So before a run first writes to a month, the month's current rows of every table a run
writes are copied into the ``journal`` schema (an empty copy on a first run, a full one
on a restatement), and ``journal.pending`` names the month and the run. Publishing
discards the copies in its own transaction; a failed run, or the next run after a killed
one, puts them back in one transaction (``roll_back``). What stays is exactly what was
there before the run.
"""

from __future__ import annotations

import logging
import re

import duckdb

from pipelines.warehouse import fetch_rows, transaction

# Every table a month's run writes, and the rows of the month in it. main.* is written
# only by the publishing transaction, which also discards the journal.
MONTH_TABLES = (
    "raw.merchants",
    "raw.orders",
    "raw.feedback",
    "raw.bad_orders",
    "raw.service_metrics",
    "raw.quarantine",
    "raw.ingest_log",
    "work.credit_ledger",
    "work.feedback_period_counts",
    "work.feedback_counts_log",
    "work.merchant_grades",
    "work.merchant_compliance",
    "work.exposure_weights",
    "work.tier_distribution",
)


_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def _copy_name(table: str) -> str:
    """journal.<schema>__<table>_<month>: the month's rows of ``table`` before the run."""
    return table.replace(".", "__")


def _copy(table: str, month: str) -> str:
    return f'journal."{_copy_name(table)}_{month}"'


class RunRolledBack(RuntimeError):
    """A step of a run whose month was already rolled back: it must not write again."""


def pending_months(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(month, run id) of every month whose run wrote and neither published nor rolled back."""
    return fetch_rows(con, "SELECT month, run_id FROM journal.pending WHERE state = 'open'")


def as_published_sql(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A query of ``table``'s rows as they stand published: a month a run has written and
    not yet published (a partial selection in the UI, a killed run not yet put back) reads
    from its kept copy, so a reader never mixes the pending run's rows with published ones.

    The copies' names hold the months of journal.pending, which runs write as YYYY-MM.
    """
    if table not in MONTH_TABLES:
        raise ValueError(f"{table} is not a table a month's run writes")
    pending = sorted(m for m, _ in pending_months(con))
    if any(not _MONTH.fullmatch(m) for m in pending):
        raise ValueError(f"journal.pending holds a month that is not YYYY-MM: {pending}")
    if not pending:
        return f"SELECT * FROM {table}"
    listed = ", ".join(f"'{m}'" for m in pending)
    parts = [f"SELECT * FROM {table} WHERE month NOT IN ({listed})"]
    parts += [f"SELECT * FROM {_copy(table, m)}" for m in pending]
    return " UNION ALL BY NAME ".join(parts)


def open_month(con: duckdb.DuckDBPyConnection, month: str, run_id: str) -> bool:
    """Before ``run_id`` first writes to ``month``: keep the month's current rows.

    Months left pending by another run (one that failed or was killed) are rolled back
    first, so a run never builds on another's unpublished rows. A run whose month was
    rolled back (a step of it failed) may not write again: Dagster goes on with steps
    that do not depend on the failed one, and they would write after the rollback.
    Returns whether this call opened the journal (False when this run already had).
    """
    state = fetch_rows(
        con,
        "SELECT state FROM journal.pending WHERE month = $month AND run_id = $run_id",
        {"month": month, "run_id": run_id},
    )
    if state and state[0][0] == "open":
        return False
    if state:
        raise RunRolledBack(
            f"{month}: an earlier step of this run failed and the month was rolled back; "
            f"nothing more of it is written"
        )
    roll_back(con, [m for m, r in pending_months(con) if r != run_id])
    with transaction(con):
        for table in MONTH_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {_copy(table, month)}")
            con.execute(
                f"CREATE TABLE {_copy(table, month)} AS SELECT * FROM {table} WHERE month = $month",
                {"month": month},
            )
        con.execute(
            "INSERT OR REPLACE INTO journal.pending VALUES ($month, $run_id, 'open', "
            "CAST(now() AS TIMESTAMP))",
            {"month": month, "run_id": run_id},
        )
    return True


def roll_back(con: duckdb.DuckDBPyConnection, months: list[str] | None = None) -> list[str]:
    """Put back the rows kept for ``months`` (default: every pending month), one
    transaction each; returns the months rolled back."""
    pending = [m for m, _ in pending_months(con)]
    months = pending if months is None else [m for m in months if m in pending]
    for month in months:
        with transaction(con):
            for table in MONTH_TABLES:
                con.execute(f"DELETE FROM {table} WHERE month = $month", {"month": month})
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {_copy(table, month)}")
                con.execute(f"DROP TABLE {_copy(table, month)}")
            con.execute(
                "UPDATE journal.pending SET state = 'rolled_back' WHERE month = $month",
                {"month": month},
            )
    return months


def roll_back_after_failure(
    con: duckdb.DuckDBPyConnection, month: str, log: logging.Logger | None = None
) -> None:
    """A step failed: put the month back now. If that fails too (a full disk, a broken
    connection), the month stays pending and the next run puts it back; the step's own
    error is the one raised, not this one."""
    try:
        roll_back(con, [month])
    except Exception as exc:  # the caller raises the original error
        (log or logging.getLogger(__name__)).warning(
            f"{month}: rollback deferred to the next run ({exc})"
        )


def discard(con: duckdb.DuckDBPyConnection, month: str) -> None:
    """The month is published: its kept rows are no longer needed. Call inside the
    publishing transaction, so publication and discard commit together."""
    for table in MONTH_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {_copy(table, month)}")
    con.execute("DELETE FROM journal.pending WHERE month = $month", {"month": month})
    con.execute("DELETE FROM journal.steps WHERE month = $month", {"month": month})


class StepsNotInRun(RuntimeError):
    """A month would be published with step results another run left behind."""


def record_step(con: duckdb.DuckDBPyConnection, month: str, run_id: str, step: str) -> None:
    """``step`` of ``run_id`` finished writing ``month`` (its own transactions committed)."""
    con.execute(
        "INSERT OR REPLACE INTO journal.steps VALUES ($month, $run_id, $step, "
        "CAST(now() AS TIMESTAMP))",
        {"month": month, "run_id": run_id, "step": step},
    )


def refuse_steps_not_in_run(
    con: duckdb.DuckDBPyConnection, month: str, run_id: str, steps: list[str]
) -> None:
    """Refuse to publish ``month`` unless ``run_id`` itself ran every step of ``steps``.

    A step's staged result (a month's raw rows, its credit ledger, its grades) is only
    as current as the run that built it. A run that selects some of a month's assets
    (the UI's "materialize selected", a partial backfill) would otherwise publish the
    others' results as an earlier run left them: grades of data since corrected, or
    credit points rolled on a previous month's ledger since regraded. The run key would
    then call the month unchanged, so nothing would ever regrade it.
    """
    done = {
        step
        for (step,) in fetch_rows(
            con,
            "SELECT step FROM journal.steps WHERE month = $month AND run_id = $run_id",
            {"month": month, "run_id": run_id},
        )
    }
    missing = [step for step in steps if step not in done]
    if missing:
        raise StepsNotInRun(
            f"{month} is published only from results its own run built, and this run did "
            f"not build {', '.join(missing)}: materialize the whole month (the grade_month "
            f"job, or every asset of the partition), or run grading run --from {month} "
            f"--through {month} --force"
        )
