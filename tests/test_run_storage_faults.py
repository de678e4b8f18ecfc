"""Dagster's run storage failing in the middle of a `grading run` (a full disk under
DAGSTER_HOME): the run stops with one line naming the instance, what was published before
stands, and a rerun heals the warehouse, the exports and the instance's record of them.

A review (2026-12-07) injected the fault (SQLAlchemy's full-disk error, and a bare
AssertionError) at the events of a run through March, at SQLite statements of the run
storage's other writes (run records and tags, asset tables) and in restatements; these
are the representative points.
"""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from assets.cli import main as cli_main
from assets.instance import quiet_instance
from pipelines.warehouse import changes_left_in_wal, connect, fetch_rows
from tests.helpers import CONFORMANCE, private_copy, published_months, published_state, run_args
from tests.test_error_messages import (
    full_run_storage,
    one_line_error,
    refuse_to_store,
    sqlalchemy_error,
    step_event,
)

JAN, FEB = "2026-01", "2026-02"


def failing_from(picks, error: Exception):
    """``raising(write)``: the storage method ``write``, failing with ``error`` from the
    first call ``picks(method name, *arguments)`` chooses on, as a disk that has filled
    up fails every write after (each method wrapped shares the one disk)."""
    failing = False

    def raising(write):
        def write_or_fail(self, *args, **kwargs):
            nonlocal failing
            failing = failing or picks(write.__name__, *args)
            if failing:
                raise error
            return write(self, *args, **kwargs)

        return write_or_fail

    return raising


def fail_run_storage_from(monkeypatch, picks) -> None:
    """Dagster's SQLite storage (the events of each run, the run records in runs.db) full
    from the write ``picks(method, first argument)`` chooses on."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

    raising = failing_from(picks, full_run_storage())
    monkeypatch.setattr(
        SqliteEventLogStorage, "store_event", raising(SqliteEventLogStorage.store_event)
    )
    for write in ("add_run", "handle_run_event", "add_run_tags"):
        monkeypatch.setattr(SqliteRunStorage, write, raising(getattr(SqliteRunStorage, write)))


def event_of(event_type: str, step: str | None = None):
    """Picks the run's event of ``event_type`` (of ``step``) as it is stored."""
    is_event = step_event(event_type, step)

    def picks(method: str, first: object = None, *_) -> bool:
        return method == "store_event" and is_event(first)

    return picks


def leftovers(warehouse, outputs) -> list[str]:
    """What a failed month must not leave: export staging, changes only in the WAL, rows
    kept for a month neither published nor put back."""
    found = [p.name for p in outputs.glob(".staging*")]
    found += [p.relative_to(outputs).as_posix() for p in outputs.glob("*/.*") if p.is_dir()]
    if changes_left_in_wal(warehouse):
        found.append(f"{warehouse.name}.wal")
    con = connect(warehouse, read_only=True)
    try:
        sql = "SELECT month FROM journal.pending WHERE state = 'open'"
        found += [f"journal.pending {m}" for (m,) in fetch_rows(con, sql)]
    finally:
        con.close()
    return found


@pytest.mark.parametrize(
    ("picks", "published"),
    [
        (lambda method, *_: method == "add_run", False),
        (lambda method, *_: method == "handle_run_event", False),
        (event_of("STEP_SUCCESS", "raw_merchants"), False),
        (event_of("STEP_START", "published_month"), False),
        (event_of("STEP_OUTPUT", "published_month"), True),
        (event_of("PIPELINE_SUCCESS"), True),
    ],
    ids=[
        "run-record",
        "run-status",
        "an-ingest-step-done",
        "publishing-step-started",
        "publication-committed",
        "run-success",
    ],
)
def test_a_run_storage_that_fills_up_mid_month_leaves_the_published_months_and_the_rerun_heals(
    published_conformance, tmp_path, capsys, monkeypatch, picks, published
):
    """The month is published or left exactly as before, as the one line says; January
    is untouched; nothing is left over; the rerun publishes what a clean run does."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the home beside the warehouse
    landing, warehouse, outputs = private_copy(published_conformance(JAN), tmp_path)
    before = published_state(warehouse, outputs)
    fresh = published_conformance(FEB)
    graded = published_state(fresh / "w.duckdb", fresh / "out")
    run = run_args(landing, warehouse, outputs, FEB)
    with monkeypatch.context() as patch:
        fail_run_storage_from(patch, picks)
        assert cli_main(run) == 1
    outcome = "was published, but a later step failed" if published else "was not published"
    assert one_line_error(capsys) == [
        f"grading: month {FEB} {outcome}: the run could not be recorded in the Dagster "
        f"instance at {tmp_path / 'dagster_home'} (database or disk is full)"
    ]
    assert published_state(warehouse, outputs) == (graded if published else before)
    assert leftovers(warehouse, outputs) == []

    assert cli_main(run) == 0
    assert published_state(warehouse, outputs) == graded
    assert leftovers(warehouse, outputs) == []


def correct_an_order(landing, month: str) -> None:
    """One of the month's completed orders turns out cancelled: the month is restated."""
    orders = landing / "orders" / f"month={month}" / "part-a.csv"
    lines = orders.read_text(encoding="utf-8").splitlines()
    target = next(i for i, line in enumerate(lines) if ",completed," in line)
    lines[target] = lines[target].replace(",completed,", ",cancelled,")
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")


def latest_run_key(warehouse, month: str) -> str:
    con = connect(warehouse, read_only=True)
    try:
        sql = "SELECT run_key FROM main.run_log WHERE month = $month ORDER BY published_at DESC"
        return fetch_rows(con, sql, {"month": month})[0][0]
    finally:
        con.close()


def recorded_publication(home, month: str) -> str | None:
    """The data version (the run key) of the month's latest publication that the Dagster
    instance at ``home`` recorded: what the UI shows, and judges staleness by."""
    with quiet_instance(home) as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("published_month"), asset_partitions=[month]
            ),
            limit=1,
        ).records
    return records[0].asset_materialization.tags.get("dagster/data_version") if records else None


def test_a_restatement_the_instance_did_not_record_is_recorded_by_the_rerun(
    tmp_path, capsys, monkeypatch
):
    """The storage refused the publication's materialization after the restated month
    committed. The rerun took the month as unchanged and published nothing, so the
    instance kept the old publication for good: the UI showed its counts, and the months
    after it fresh though the warehouse calls them stale. Now a month whose latest record
    in the instance is another publication than the warehouse's is graded again."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    landing, warehouse, outputs = tmp_path / "landing", tmp_path / "w.duckdb", tmp_path / "out"
    shutil.copytree(CONFORMANCE / "landing", landing)
    run = run_args(landing, warehouse, outputs, JAN)
    assert cli_main(run) == 0
    capsys.readouterr()

    correct_an_order(landing, JAN)
    with monkeypatch.context() as patch:
        refused = step_event("ASSET_MATERIALIZATION", "published_month")
        refuse_to_store(patch, full_run_storage(), refused)
        assert cli_main(run) == 1
    assert one_line_error(capsys) == [
        f"grading: month {JAN} was published, but a later step failed: the run could not be "
        f"recorded in the Dagster instance at {home} (database or disk is full)"
    ]
    restated = published_state(warehouse, outputs)

    assert cli_main(run) == 0
    assert f"{JAN} published: " in capsys.readouterr().out  # not "unchanged": recorded now
    assert recorded_publication(home, JAN) == latest_run_key(warehouse, JAN)
    assert published_state(warehouse, outputs) == restated  # the same rows and exports
    assert published_months(warehouse) == [JAN]


def test_two_warehouses_sharing_a_dagster_home_skip_their_unchanged_months(
    tmp_path, capsys, monkeypatch
):
    """The instance's latest record of a month may be another warehouse's publication (one
    DAGSTER_HOME for two warehouses of different landings): that is not this warehouse's
    publication left unrecorded, and the month is skipped as unchanged, not regraded by
    each warehouse in turn on every run."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    runs = {}
    for name in ("a", "b"):
        landing = tmp_path / name / "landing"
        shutil.copytree(CONFORMANCE / "landing", landing)
        if name == "b":
            correct_an_order(landing, JAN)
        runs[name] = run_args(landing, tmp_path / name / "w.duckdb", tmp_path / name / "out", JAN)
        assert cli_main(runs[name]) == 0
    keys = {name: latest_run_key(tmp_path / name / "w.duckdb", JAN) for name in runs}
    assert keys["a"] != keys["b"] == recorded_publication(home, JAN)
    capsys.readouterr()

    assert cli_main(runs["a"]) == 0
    assert f"{JAN} unchanged since its publication at " in capsys.readouterr().out
    assert recorded_publication(home, JAN) == keys["b"]


def database_is_locked() -> Exception:
    """SQLite's lock held by another process creating the same home."""
    return sqlalchemy_error("INSERT INTO alembic_version", "database is locked")


@pytest.mark.parametrize(
    ("error", "cause"),
    [(database_is_locked(), "database is locked"), (AssertionError(), "AssertionError")],
    ids=["database-is-locked", "error-without-a-message"],
)
def test_a_new_dagster_home_that_cannot_be_created_is_named_in_one_line(
    tmp_path, capsys, monkeypatch, error, cause
):
    """Creating the instance's run storage in a new home failed for another reason than a
    full disk (another process creating the same home holds SQLite's lock): a traceback,
    before any month. Now one line naming the home; the rerun grades."""
    from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    warehouse = tmp_path / "w.duckdb"
    run = run_args(CONFORMANCE / "landing", warehouse, tmp_path / "out", JAN)
    with monkeypatch.context() as patch:

        def fail(*args, **kwargs):
            raise error

        patch.setattr(SqliteRunStorage, "from_local", fail)
        assert cli_main(run) == 1
    assert one_line_error(capsys) == [
        f"grading: the Dagster instance at {home} could not be opened to record the run "
        f"({cause}): nothing was graded, the months published before stand"
    ]
    assert not warehouse.exists()

    assert cli_main(run) == 0
    assert published_months(warehouse) == [JAN]
