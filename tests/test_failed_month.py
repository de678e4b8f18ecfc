"""A month that fails leaves no trace (trust issue, item 2).

A failed or killed month leaves raw.*, work.*, main.* and the exports exactly as they were
before the run, and whatever happens in between, every month ends equal to a fresh run
on the final landing folder.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from assets.runner import RunFailed, grade_months
from pipelines.month_journal import MONTH_TABLES, open_month, pending_months, roll_back
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import (
    CONFORMANCE,
    PUBLISHED_TABLES,
    cli_command,
    published_months,
    published_state,
    run_args,
    run_killed_at,
)

JANUARY_ORDERS = Path("orders") / "month=2026-01" / "part-a.csv"
FEBRUARY_ORDERS = Path("orders") / "month=2026-02" / "part-a.csv"
# Columns that record when, not what: they differ between any two runs.
WHEN_COLUMNS = {"ingested_at", "counted_at", "published_at", "opened_at"}


def warehouse_state(warehouse: Path) -> dict[str, list[tuple]]:
    """Every row of every table a month's run writes, and of the published tables."""
    con = connect(warehouse, read_only=True)
    try:
        state = {}
        for table in (*MONTH_TABLES, *(f"main.{t}" for t in PUBLISHED_TABLES)):
            schema, name = table.split(".")
            columns = [
                c
                for (c,) in fetch_rows(
                    con,
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = $s "
                    "AND table_name = $t ORDER BY column_index",
                    {"s": schema, "t": name},
                )
                if c not in WHEN_COLUMNS
            ]
            state[table] = fetch_rows(con, f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL")
    finally:
        con.close()
    return state


def break_orders(path: Path, rows: int = 200) -> None:
    """Turn ``rows`` completed orders into an unknown status: far over the quarantine ratio."""
    lines = path.read_text().splitlines()
    changed = 0
    for i, line in enumerate(lines):
        if changed < rows and ",completed," in line:
            lines[i] = line.replace(",completed,", ",shipped,")
            changed += 1
    assert changed == rows
    path.write_text("\n".join(lines) + "\n")


def cancel_one_order(path: Path) -> None:
    lines = path.read_text().splitlines()
    target = next(i for i, line in enumerate(lines) if ",completed," in line)
    lines[target] = lines[target].replace(",completed,", ",cancelled,")
    path.write_text("\n".join(lines) + "\n")


def test_blocked_restatement_leaves_no_trace_and_later_runs_match_a_fresh_run(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    original = (landing / JANUARY_ORDERS).read_bytes()

    # 1. Publish January.
    grade_months(landing, warehouse, outputs, "2026-01")
    before = warehouse_state(warehouse)
    exports = published_state(warehouse, outputs)["files"]

    # 2. January's orders replaced by a broken file: the month is blocked ...
    break_orders(landing / JANUARY_ORDERS)
    with pytest.raises(RunFailed, match="quarantine") as failed:
        grade_months(landing, warehouse, outputs, "2026-01")
    assert not failed.value.published
    # ... and leaves raw.*, work.*, main.* and the exports exactly as they were.
    assert warehouse_state(warehouse) == before
    assert published_state(warehouse, outputs)["files"] == exports
    with connect(warehouse, read_only=True) as con:
        assert pending_months(con) == []

    # 3. The original file back, and February corrected.
    (landing / JANUARY_ORDERS).write_bytes(original)
    cancel_one_order(landing / FEBRUARY_ORDERS)

    # 4. January is truly unchanged; February is graded on January's real rows.
    results = grade_months(landing, warehouse, outputs, "2026-02")
    assert [r.unchanged_since is not None for r in results] == [True, False]

    fresh = tmp_path / "fresh"
    grade_months(landing, fresh / "w.duckdb", fresh / "out", "2026-02")
    assert warehouse_state(warehouse) == warehouse_state(fresh / "w.duckdb")
    assert (
        published_state(warehouse, outputs)["tables"]
        == published_state(fresh / "w.duckdb", fresh / "out")["tables"]
    )


def test_sigkill_during_a_restatement_is_rolled_back_by_the_next_run(tmp_path):
    """A killed process runs no failure hook: the next run puts the month back first,
    before it decides what is unchanged."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02")
    before = warehouse_state(warehouse)
    original = (landing / FEBRUARY_ORDERS).read_bytes()
    cancel_one_order(landing / FEBRUARY_ORDERS)

    command = cli_command(*run_args(landing, warehouse, outputs, "2026-02"))
    run_killed_at("grading:after_grades", "2026-02", command)
    assert warehouse_state(warehouse) != before  # February's new rows were written

    # The restatement is withdrawn: the next run puts February back and skips both months.
    (landing / FEBRUARY_ORDERS).write_bytes(original)
    results = grade_months(landing, warehouse, outputs, "2026-02")
    assert [r.unchanged_since is not None for r in results] == [True, True]
    assert warehouse_state(warehouse) == before


def test_a_ui_launched_run_that_fails_rolls_back_its_month(tmp_path):
    """The assets themselves, not the CLI, put the month back: a run launched from the
    Dagster UI, the schedule or a backfill leaves no trace either (a materialized
    selection too: tests/test_dagster.py)."""
    from assets.definitions import build_definitions

    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-01")
    before = warehouse_state(warehouse)
    break_orders(landing / JANUARY_ORDERS)

    job = build_definitions(str(landing), str(warehouse), str(outputs)).resolve_job_def(
        "grade_month"
    )
    result = job.execute_in_process(partition_key="2026-01", raise_on_error=False)
    assert not result.success
    assert warehouse_state(warehouse) == before


def test_every_table_a_month_writes_is_kept_and_put_back_exactly(tmp_path):
    """The journal keeps every raw.* and work.* table that has months (one left out of
    MONTH_TABLES would keep a failed run's rows), and roll_back puts each one's rows of
    the month back as they were, whatever the run did to them."""
    warehouse = tmp_path / "w.duckdb"
    grade_months(CONFORMANCE / "landing", warehouse, tmp_path / "out", "2026-03")
    month = "2026-02"
    con = connect(warehouse)
    try:
        with_months = fetch_rows(
            con,
            "SELECT DISTINCT table_schema || '.' || table_name FROM information_schema.columns "
            "WHERE column_name = 'month' AND table_schema IN ('raw', 'work') ORDER BY 1",
        )
        assert {t for (t,) in with_months} == set(MONTH_TABLES)
        select = "SELECT * FROM {} WHERE month = $month ORDER BY ALL"
        before = {t: fetch_rows(con, select.format(t), {"month": month}) for t in MONTH_TABLES}
        assert open_month(con, month, "test-run")
        for table in MONTH_TABLES:  # what a failed run may leave: other rows of the month
            con.execute(f"DELETE FROM {table} WHERE month = $month", {"month": month})
            con.execute(
                f"INSERT INTO {table} SELECT * REPLACE ($month AS month) FROM {table} "
                "WHERE month <> $month LIMIT 1",
                {"month": month},
            )
            assert fetch_rows(con, select.format(table), {"month": month}) != before[table]
        roll_back(con, [month])
        after = {t: fetch_rows(con, select.format(t), {"month": month}) for t in MONTH_TABLES}
    finally:
        con.close()
    assert after == before


def test_a_stop_signal_dagster_records_and_forgets_stops_the_run_before_the_next_month(
    tmp_path,
):
    """Dagster records SIGINT and SIGTERM while it sets a run up and forgets them when its
    handler is put back; the run went on and published every later month (a review,
    2026-12-06). Sent inside Dagster's own capture, as then, the signal now stops the run
    before the next month: January published, February and March not graded."""
    import os
    import signal

    from dagster._utils.interrupts import capture_interrupts

    from assets.runner import RunStopped

    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse = tmp_path / "w.duckdb"
    term_handler = signal.getsignal(signal.SIGTERM)

    def on_done(result) -> None:
        if result.month == "2026-01":
            with capture_interrupts():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.2)

    with pytest.raises(RunStopped) as stopped:
        grade_months(landing, warehouse, tmp_path / "out", "2026-03", on_done=on_done)
    assert stopped.value.month == "2026-02"
    assert stopped.value.reason == (
        "the run was stopped by SIGTERM while 2026-01 ran; 2026-01 finished, and "
        "2026-02..2026-03 were not graded: run again to go on"
    )
    assert published_months(warehouse) == ["2026-01"]
    assert signal.getsignal(signal.SIGTERM) == term_handler  # put back after the run
