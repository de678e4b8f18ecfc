"""Errors that say what went wrong (issue item 9): a full disk, a quarantine ratio over its
limit, a closed output pipe, and a policy file with a key it does not know."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.cli import main as cli_main
from assets.ingest import ingest_assets
from assets.resources import GradingSettings, WarehouseResource
from pipelines import month_journal, preview_store
from pipelines.checks.validation import check_parameters, validate_suite
from pipelines.datasets import MERCHANTS, ORDERS
from pipelines.error_text import first_line
from pipelines.ingest import ingest_month
from pipelines.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy
from pipelines.warehouse import connect, fetch_rows, transaction
from tests.helpers import (
    CONFORMANCE,
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    merchant,
    mounted_tmpfs,
    order,
    private_copy,
    published_months,
    run_args,
    write_csv,
)
from tests.test_policy_calendar import policy_text_from

JAN = "2026-01"
ROOT = Path(__file__).resolve().parent.parent

# --- one line of an error ------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (AssertionError(), "AssertionError"),
        (OSError(), "OSError"),
        (ValueError("  \n"), "ValueError"),
        (ValueError("first\nsecond"), "first"),
        (RuntimeError("\n  indented first\nsecond"), "indented first"),
    ],
)
def test_an_error_s_first_line_is_its_message_s_or_else_its_type(error, line):
    """An error without a message made ``str(error).splitlines()[0]`` raise IndexError in
    the run's failure path: a traceback instead of the run's one line."""
    assert first_line(error) == line


# --- disk full ------------------------------------------------------------------------


def test_a_failed_rollback_does_not_hide_the_error_that_stopped_the_transaction(tmp_path):
    """What a full disk does: the failed write ends DuckDB's transaction, so ROLLBACK
    fails with 'no transaction is active'; the error raised is still the disk's."""
    con = connect(tmp_path / "w.duckdb")
    disk_full = pytest.raises(duckdb.IOException, match="No space left on device")
    with disk_full as raised, transaction(con):
        con.execute("COMMIT")  # the transaction is gone, as after a failed write
        raise duckdb.IOException('Could not write file "w.duckdb": No space left on device')
    assert "cannot rollback" in raised.value.__notes__[0]  # noted, not raised instead
    con.close()


def test_a_transaction_that_fails_is_still_rolled_back(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(ValueError, match="stop"), transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        raise ValueError("stop")
    assert fetch_rows(con, "SELECT count(*) FROM t") == [(0,)]
    con.close()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MB tmpfs: room for the warehouse's schema, not for a month of the fixture."""
    with mounted_tmpfs(tmp_path / "disk", "3M") as mount_point:
        yield mount_point


def test_a_full_disk_says_no_space_left_on_device(tiny_disk, tmp_path, capsys):
    code = cli_main(
        [
            "run",
            "--landing",
            str(CONFORMANCE / "landing"),
            "--warehouse",
            str(tiny_disk / "w.duckdb"),
            "--outputs",
            str(tmp_path / "out"),
            "--through",
            JAN,
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith(f"grading: month {JAN} was not published: ")
    assert "No space left on device" in err[-1]
    assert "cannot rollback" not in err[-1]


def test_a_warehouse_on_a_read_only_disk_is_named_in_one_line(tmp_path, capsys):
    """Its lock file could not be made or opened: the run ended in a traceback (a review,
    2026-12-06, as a user without write permission). Now one line names the file, for
    a new warehouse and for a published one regraded; reading commands still work."""
    with mounted_tmpfs(tmp_path / "disk", "64M") as disk:
        (disk / "new").mkdir()
        run = ["run", "--landing", str(CONFORMANCE / "landing"), "--outputs", str(tmp_path / "o")]
        assert cli_main([*run, "--warehouse", str(disk / "w.duckdb"), "--through", JAN]) == 0
        capsys.readouterr()
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True)
        assert remounted.returncode == 0, remounted.stderr
        for warehouse, more in [(disk / "new" / "w.duckdb", ["--create"]), (disk / "w.duckdb", [])]:
            code = cli_main([*run, "--warehouse", str(warehouse), "--through", JAN, *more])
            err = capsys.readouterr().err.strip().splitlines()
            assert (code, err) == (1, [f"grading: Read-only file system: {warehouse}.lock"])
        assert cli_main(["summary", "--warehouse", str(disk / "w.duckdb")]) == 0
        assert JAN in capsys.readouterr().out


STAND = "(the months published before stand: free some space and run again)"
NO_SPACE = "No space left on device"


def one_line_error(capsys) -> list[str]:
    """Standard error's lines, after asserting it holds no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()


def fill(disk: Path) -> None:
    """Take every free block of ``disk``, as a full disk has none."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "wb") as filler:
        os.posix_fallocate(filler.fileno(), 0, free)
    assert os.statvfs(disk).f_bavail == 0


def test_a_full_disk_is_named_in_one_line_wherever_it_stops_the_command(
    tmp_path, capsys, monkeypatch
):
    """On a real full disk (a review, 2026-12-07): opening the Dagster home beside the
    warehouse, the lock file of a new warehouse, and a preview's write to the warehouse
    ended in tracebacks. Each is now one line naming the folder or file."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the home beside the warehouse
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # a preview's spill files: not the full disk
    with mounted_tmpfs(tmp_path / "disk", "64M") as disk:
        landing, warehouse = str(CONFORMANCE / "landing"), disk / "w.duckdb"
        run = ["run", "--landing", landing, "--outputs", str(tmp_path / "o"), "--through"]
        assert cli_main([*run, JAN, "--warehouse", str(warehouse)]) == 0
        capsys.readouterr()
        fill(disk)

        assert cli_main([*run, "2026-02", "--warehouse", str(warehouse)]) == 1
        [line] = one_line_error(capsys)
        assert line.startswith(f"grading: {NO_SPACE} (Dagster's run storage: ")
        assert line.endswith(f"): {disk / 'dagster_home'} {STAND}")

        new = disk / "new" / "w.duckdb"
        assert cli_main([*run, JAN, "--warehouse", str(new), "--create"]) == 1
        assert one_line_error(capsys) == [f"grading: {NO_SPACE}: {new}.lock {STAND}"]

        preview = ["preview", "--landing", landing, "--warehouse", str(warehouse)]
        assert cli_main([*preview, "--as-of", "2026-02-15"]) == 1
        assert one_line_error(capsys) == [f"grading: {NO_SPACE}: {warehouse}.wal {STAND}"]


def disk_io_error_on_connect(monkeypatch) -> None:
    """SQLite's connect fails as on the full disk: a bare "disk I/O error"."""

    def sqlite_connect(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite3.dbapi2, "connect", sqlite_connect)


@pytest.mark.parametrize("free", [0, 1 << 30])
def test_a_dagster_home_sqlite_cannot_write_is_named(tmp_path, capsys, monkeypatch, free):
    """SQLite's error names no file and SQLAlchemy's wrapping ran to 96 lines. With under
    1 MB free the disk is said to be full; with more, that it may be."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    disk_io_error_on_connect(monkeypatch)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=free))
    run = ["run", "--landing", str(CONFORMANCE / "landing"), "--through", JAN]
    assert cli_main([*run, "--warehouse", str(tmp_path / "w.duckdb")]) == 1
    reason = (
        f"{NO_SPACE} (Dagster's run storage: disk I/O error)"
        if free == 0
        else "disk I/O error in Dagster's run storage (its disk may be out of space)"
    )
    assert one_line_error(capsys) == [f"grading: {reason}: {home} {STAND}"]


def refuse_to_store(monkeypatch, error: Exception, refused) -> None:
    """Dagster's SQLite run storage fails to write each event ``refused`` picks out."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    store_event = SqliteEventLogStorage.store_event

    def store(self, event, *args, **kwargs):
        if refused(event):
            raise error
        return store_event(self, event, *args, **kwargs)

    monkeypatch.setattr(SqliteEventLogStorage, "store_event", store)


def sqlalchemy_error(statement: str, sqlite_message: str) -> Exception:
    """SQLAlchemy's error raised from SQLite's, as SQLAlchemy raises it (``orig`` and
    ``__cause__`` both SQLite's)."""
    import sqlalchemy.exc

    try:
        raise sqlite3.OperationalError(sqlite_message)
    except sqlite3.OperationalError as sqlite_error:
        error = sqlalchemy.exc.OperationalError(statement, {}, sqlite_error)
        error.__cause__ = sqlite_error
        return error


def full_run_storage() -> Exception:
    """SQLAlchemy's error over SQLite's, as a full disk under DAGSTER_HOME gives it."""
    return sqlalchemy_error("INSERT INTO event_logs", "database or disk is full")


def step_event(event_type: str, step: str | None = None):
    """Picks the run's event of ``event_type`` (of ``step``) as it is stored."""

    def picks(event) -> bool:
        found = getattr(event, "dagster_event", None)
        return found is not None and (found.event_type_value, found.step_key) == (
            event_type,
            step,
        )

    return picks


@pytest.mark.parametrize(
    ("error", "cause"),
    [(full_run_storage(), "database or disk is full"), (AssertionError(), "AssertionError")],
    ids=["full-disk", "error-without-a-message"],
)
def test_a_run_storage_that_fails_mid_run_is_named_not_the_step(
    tmp_path, capsys, monkeypatch, error, cause
):
    """Dagster's run storage refusing a step's event mid-run (a review, 2026-12-07): the
    step failed with the storage's error, so the run's line blamed the step
    ("raw_merchants failed: sqlalchemy.exc.OperationalError: ..."), after Dagster's three
    lines of SQL and help link for each refused event. An error without a message (the
    bare AssertionError SQLAlchemy raises when a stop signal cuts its commit short) ended
    in an IndexError traceback. Now: one line naming the instance, and nothing published."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    refuse_to_store(monkeypatch, error, step_event("STEP_SUCCESS", "raw_merchants"))
    warehouse = tmp_path / "w.duckdb"
    run = run_args(CONFORMANCE / "landing", warehouse, tmp_path / "out", JAN)
    assert cli_main(run) == 1
    assert one_line_error(capsys) == [
        f"grading: month {JAN} was not published: the run could not be recorded in the "
        f"Dagster instance at {home} ({cause})"
    ]
    assert published_months(warehouse) == []

    monkeypatch.undo()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli_main(run) == 0
    assert published_months(warehouse) == [JAN]


def test_a_run_storage_that_fails_after_the_month_committed_says_it_was_published(
    tmp_path, capsys, monkeypatch
):
    """The storage refusing the publishing step's success: the month is committed, and
    the line says so rather than that it was not published."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    refuse_to_store(monkeypatch, full_run_storage(), step_event("STEP_SUCCESS", "published_month"))
    warehouse = tmp_path / "w.duckdb"
    assert cli_main(run_args(CONFORMANCE / "landing", warehouse, tmp_path / "out", JAN)) == 1
    assert one_line_error(capsys) == [
        f"grading: month {JAN} was published, but a later step failed: the run could not be "
        f"recorded in the Dagster instance at {home} (database or disk is full)"
    ]
    assert published_months(warehouse) == [JAN]


def test_a_log_message_the_run_storage_refuses_is_a_warning_and_the_month_publishes(
    tmp_path, capsys, monkeypatch
):
    """Dagster swallows a step's log message its storage refused, and goes on: the run
    publishes, and the operator is told on the month's warning line, not in Dagster's
    three lines of SQL on standard error."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    merchants = landing / "merchants" / f"month={JAN}" / "part-a.csv"
    header, *rows = merchants.read_text(encoding="utf-8").splitlines()
    lines = [f"{header},note", *(f"{row},x" for row in rows)]
    merchants.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    refuse_to_store(monkeypatch, full_run_storage(), lambda event: event.dagster_event is None)
    warehouse = tmp_path / "w.duckdb"
    assert cli_main(run_args(landing, warehouse, tmp_path / "out", JAN)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    warnings = [line.strip() for line in out.splitlines() if " warning: " in line]
    assert warnings == [
        f"{JAN} warning: merchants/month={JAN}/part-a.csv: extra columns ignored: note",
        f"{JAN} warning: a log message was not recorded in the Dagster instance: "
        "(sqlite3.OperationalError) database or disk is full",
    ]
    assert published_months(warehouse) == [JAN]


class FullDiskFile:
    """A file on a full disk: its buffered write fails on flush and again on close,
    with OSError 28 and no filename, as the real disk's did."""

    def __init__(self, handle):
        self._handle = handle

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def flush(self):
        raise OSError(errno.ENOSPC, NO_SPACE)

    def close(self):
        self._handle.close()
        raise OSError(errno.ENOSPC, NO_SPACE)


def test_a_lock_file_a_full_disk_cannot_take_is_named(tmp_path, capsys, monkeypatch):
    real_open = Path.open

    def open_on_full_disk(path, *args, **kwargs):
        handle = real_open(path, *args, **kwargs)
        return FullDiskFile(handle) if path.suffix == ".lock" else handle

    monkeypatch.setattr(Path, "open", open_on_full_disk)
    warehouse = tmp_path / "w.duckdb"
    run = ["run", "--landing", str(CONFORMANCE / "landing"), "--through", JAN]
    assert cli_main([*run, "--warehouse", str(warehouse)]) == 1
    assert one_line_error(capsys) == [f"grading: {NO_SPACE}: {warehouse}.lock {STAND}"]


def wal_full(warehouse: Path) -> duckdb.Error:
    """DuckDB's failed commit on a full disk, with the failed rollback noted on it."""
    error = duckdb.TransactionException(
        f'TransactionContext Error: Failed to commit: Could not write file "{warehouse}.wal": '
        f"{NO_SPACE}"
    )
    error.add_note("(the rollback failed too: cannot rollback - no transaction is active)")
    return error


def test_a_pending_month_a_full_disk_cannot_roll_back_is_named(
    published_conformance, tmp_path, capsys, monkeypatch
):
    """A run after a failure that left journal.pending open, the disk still full: the
    rollback before the first month failed in a traceback."""
    landing, warehouse, outputs = private_copy(published_conformance(JAN), tmp_path / "g")

    def roll_back(con, months=None):
        raise wal_full(warehouse)

    monkeypatch.setattr(month_journal, "roll_back", roll_back)
    run = ["run", "--landing", str(landing), "--outputs", str(outputs), "--through", "2026-02"]
    assert cli_main([*run, "--warehouse", str(warehouse)]) == 1
    assert one_line_error(capsys) == [f"grading: {NO_SPACE}: {warehouse}.wal {STAND}"]


def test_a_preview_a_full_disk_cannot_store_is_named(
    published_conformance, tmp_path, capsys, monkeypatch
):
    landing, warehouse, _ = private_copy(published_conformance(JAN), tmp_path / "g")

    def ensure_schema(con):
        raise wal_full(warehouse)

    monkeypatch.setattr(preview_store, "_ensure_schema", ensure_schema)
    preview = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert cli_main([*preview, "--as-of", "2026-02-15"]) == 1
    assert one_line_error(capsys) == [f"grading: {NO_SPACE}: {warehouse}.wal {STAND}"]


def test_other_errors_are_not_taken_for_a_full_disk(tmp_path, capsys, monkeypatch):
    """Only a disk's refusal is called one: a DuckDB error that is not one still raises
    as before, and SQLite's that is not a disk's, opening the Dagster instance, is named
    as what it is (assets/instance.py InstanceNotOpened), not as a full disk."""
    landing, warehouse = CONFORMANCE / "landing", tmp_path / "w.duckdb"
    run = ["run", "--landing", str(landing), "--through", JAN, "--warehouse", str(warehouse)]
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))

    def sqlite_connect(*args, **kwargs):
        raise sqlite3.OperationalError("no such table: runs")

    monkeypatch.setattr(sqlite3.dbapi2, "connect", sqlite_connect)
    assert cli_main(run) == 1
    assert one_line_error(capsys) == [
        f"grading: the Dagster instance at {tmp_path / 'home'} could not be opened to record "
        "the run (no such table: runs): nothing was graded, the months published before stand"
    ]
    monkeypatch.undo()

    def roll_back(con, months=None):
        raise duckdb.TransactionException("TransactionContext Error: Conflict on update")

    connect(warehouse).close()  # a warehouse: the run rolls back its pending months first
    monkeypatch.setattr(month_journal, "roll_back", roll_back)
    with pytest.raises(duckdb.TransactionException, match="Conflict on update"):
        cli_main(run)


def test_changes_a_failed_checkpoint_left_in_the_wal_are_said(
    published_conformance, tmp_path, capsys, monkeypatch
):
    """DuckDB says nothing when its closing checkpoint fails: on a disk filled to within
    8 MB a run exited 0 with its month only in the .wal, which a copy of the warehouse
    file alone lacks (a review, 2026-12-07). The checkpoint is switched off here, as the
    full disk did; the run still succeeds, and says where its changes are."""
    landing, warehouse, outputs = private_copy(published_conformance(JAN), tmp_path / "g")
    connect_duckdb = duckdb.connect

    def without_checkpoint(*args, **kwargs):
        con = connect_duckdb(*args, **kwargs)
        if not kwargs.get("read_only"):
            con.execute("PRAGMA disable_checkpoint_on_shutdown")
        return con

    monkeypatch.setattr(duckdb, "connect", without_checkpoint)
    run = ["run", "--landing", str(landing), "--outputs", str(outputs), "--no-dashboard"]
    run += ["--warehouse", str(warehouse)]
    assert cli_main([*run, "--through", "2026-02"]) == 0
    err = capsys.readouterr().err
    assert f"the run's last changes are still in {warehouse}.wal" in err
    assert "a copy of the warehouse must take w.duckdb.wal too" in err
    monkeypatch.undo()

    assert cli_main([*run, "--through", "2026-02"]) == 0  # unchanged: it opens and folds in
    assert "warning" not in capsys.readouterr().err
    assert not Path(f"{warehouse}.wal").exists()


# --- quarantine ratio -----------------------------------------------------------------


def month_with_bad_orders(landing: Path) -> None:
    """Five orders of which two are quarantined: a status outside its set, an unknown
    merchant. 40% is far over the default limit of 1%."""
    write_csv(landing, "merchants", JAN, [merchant("M1")], MERCHANT_COLUMNS)
    orders = [
        order("O1"),
        order("O2", status="shipped"),
        order("O3"),
        order("O4", "M9"),
        order("O5"),
    ]
    write_csv(landing, "orders", JAN, orders, ORDER_COLUMNS, name="part-a.csv")
    feedback = [["O1", "M1", "B1", 5, "2026-01-20T00:00:00Z"]]
    write_csv(landing, "feedback", JAN, feedback, FEEDBACK_COLUMNS)


EXPECTED_RATIO_MESSAGE = (
    f"orders {JAN}: 2 of 5 rows quarantined (40.00% > 1%): "
    f"bad_value status: 1 row (e.g. orders/month={JAN}/part-a.csv row 2: status 'shipped'); "
    f"unknown_merchant: 1 row (e.g. orders/month={JAN}/part-a.csv row 4: merchant_id 'M9')"
)


def test_quarantine_ratio_failure_gives_ratio_limit_counts_and_reasons(con, landing):
    month_with_bad_orders(landing)
    ingest_month(con, landing, MERCHANTS, JAN)
    ingest_month(con, landing, ORDERS, JAN)
    sql_params, expectation_params = check_parameters(JAN, load_policy(), "orders")
    report = validate_suite(con, "inputs/orders", JAN, sql_params, expectation_params)
    assert not report.success
    assert report.summary() == f"suite inputs/orders failed for {JAN}: {EXPECTED_RATIO_MESSAGE}"


def test_quarantine_ratio_check_metadata_gives_the_numbers(tmp_path, landing):
    month_with_bad_orders(landing)
    raw_merchants, raw_orders = ingest_assets[:2]
    result = dg.materialize(
        [raw_merchants, raw_orders],
        partition_key=JAN,
        raise_on_error=False,
        resources={
            "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
            "settings": GradingSettings(landing_dir=str(landing), outputs_dir=str(tmp_path)),
        },
    )
    [failed] = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed.asset_key == raw_orders.key
    assert failed.description.endswith(EXPECTED_RATIO_MESSAGE)
    assert failed.metadata["quarantine_ratio"].value == {
        "dataset": "orders",
        "month": JAN,
        "rows_read": 5,
        "rows_quarantined": 2,
        "ratio": "40.00%",
        "limit": "1%",
        "reasons": [
            {
                "reason": "bad_value",
                "rule": "status",
                "rows": 1,
                "example": {
                    "source_file": f"orders/month={JAN}/part-a.csv",
                    "source_row": 2,
                    "values": {"status": "shipped"},
                },
            },
            {
                "reason": "unknown_merchant",
                "rule": None,
                "rows": 1,
                "example": {
                    "source_file": f"orders/month={JAN}/part-a.csv",
                    "source_row": 4,
                    "values": {"merchant_id": "M9"},
                },
            },
        ],
    }
    assert EXPECTED_RATIO_MESSAGE in failed.metadata["failures_table"].value


def test_quarantine_ratio_names_the_predicate_a_bad_value_broke(con, landing):
    write_csv(landing, "merchants", JAN, [merchant("M1")], MERCHANT_COLUMNS)
    orders = [order("O1", amount_usd="-3.50"), order("O2")]
    write_csv(landing, "orders", JAN, orders, ORDER_COLUMNS)
    ingest_month(con, landing, MERCHANTS, JAN)
    ingest_month(con, landing, ORDERS, JAN)
    sql_params, expectation_params = check_parameters(JAN, load_policy(), "orders")
    report = validate_suite(con, "inputs/orders", JAN, sql_params, expectation_params)
    assert report.summary().endswith(
        f"1 of 2 rows quarantined (50.00% > 1%): bad_value amount_usd < 0: 1 row "
        f"(e.g. orders/month={JAN}/part-0.csv row 1: amount_usd -3.5)"
    )


def test_quarantine_ratio_shows_the_three_commonest_reasons_and_sums_the_rest(con, landing):
    write_csv(landing, "merchants", JAN, [merchant("M1")], MERCHANT_COLUMNS)
    orders = [
        *(order(f"S{i}", status="lost") for i in range(3)),
        *(order(f"W{i}", ended_at="2026-02-01T00:00:00Z") for i in range(2)),
        order("", buyer_id="B9"),
        order("U1", "M9"),
        *(order(f"O{i}") for i in range(3)),
    ]
    write_csv(landing, "orders", JAN, orders, ORDER_COLUMNS)
    ingest_month(con, landing, MERCHANTS, JAN)
    ingest_month(con, landing, ORDERS, JAN)
    sql_params, expectation_params = check_parameters(JAN, load_policy(), "orders")
    report = validate_suite(con, "inputs/orders", JAN, sql_params, expectation_params)
    file = f"orders/month={JAN}/part-0.csv"
    assert report.summary() == (
        f"suite inputs/orders failed for {JAN}: orders {JAN}: 7 of 10 rows quarantined "
        f"(70.00% > 1%): bad_value status: 3 rows (e.g. {file} row 1: status 'lost'); "
        f"wrong_month: 2 rows (e.g. {file} row 4: ended_at '2026-02-01 00:00:00'); "
        f"null_key order_id: 1 row (e.g. {file} row 6: order_id empty); "
        f"1 more row for other reasons"
    )


def test_an_existing_warehouse_gains_the_quarantine_row_column(tmp_path):
    """raw.quarantine as warehouses made before source_row had it."""
    path = tmp_path / "w.duckdb"
    old = duckdb.connect(str(path))
    old.execute(
        "CREATE SCHEMA raw; CREATE TABLE raw.quarantine (dataset VARCHAR NOT NULL, "
        "month VARCHAR NOT NULL, source_file VARCHAR, reason VARCHAR NOT NULL, record VARCHAR);"
        "INSERT INTO raw.quarantine VALUES ('orders', '2026-01', 'a.csv', 'null_key', '{}')"
    )
    old.close()
    con = connect(path)
    assert fetch_rows(con, "SELECT reason, source_row FROM raw.quarantine") == [("null_key", None)]
    con.close()


# --- piped output ---------------------------------------------------------------------


def test_piping_the_run_into_head_does_not_stop_it(tmp_path):
    """`grading run ... | head -1`: head leaves after the first line; the run goes on."""
    warehouse = tmp_path / "w.duckdb"
    grading = f"{sys.executable} -m assets.cli"
    command = (
        f"set -o pipefail; {grading} run --landing '{CONFORMANCE / 'landing'}' "
        f"--warehouse '{warehouse}' --through 2026-02 | head -1"
    )
    piped = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert piped.stdout == "[1/2] 2026-01 grading ...\n"
    assert "BrokenPipeError" not in piped.stderr
    assert piped.returncode == 0, piped.stderr
    con = connect(warehouse, read_only=True)
    published = fetch_rows(con, "SELECT DISTINCT month FROM main.merchant_grades ORDER BY 1")
    con.close()
    assert published == [("2026-01",), ("2026-02",)]


# --- policy files ---------------------------------------------------------------------


def policy_file(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_POLICY_PATH.read_text()
    assert old in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "min_dsr_item_count = 10",
            "min_dsr_item_cout = 10",
            "unknown key 'window.min_dsr_item_cout' (did you mean 'window.min_dsr_item_count'?)",
        ),
        (
            "min_dsr_item_count = 10",
            "min_dsr_item_count = 10\nmin_dsr_item_cout = 12",
            "unknown key 'window.min_dsr_item_cout' (did you mean 'window.min_dsr_item_count'?)",
        ),
        (
            'policy_version = "2026.1"',
            'policy_version = "2026.1"\nmax_quarantine = "0.05"',
            "unknown key 'max_quarantine'",
        ),
        (
            "[exposure.showcase_slots]",
            "[exposure.showcase_slots]\nplatinum = 9",
            "unknown key 'exposure.showcase_slots.platinum'",
        ),
        ('level_step = "0.02"', 'level_step = "-0.02"', "exposure.level_step must not be negative"),
    ],
    ids=["misspelt", "misspelt-beside", "top-level", "unknown-tier", "negative-level-step"],
)
def test_a_policy_with_an_unknown_key_or_negative_step_is_refused(tmp_path, old, new, message):
    with pytest.raises(PolicyError) as refused:
        load_policy(policy_file(tmp_path, old, new))
    assert message in str(refused.value)


def test_effective_from_is_a_known_policy_key(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(policy_text_from(DEFAULT_POLICY_PATH.read_text(), "2026-01"))
    assert load_policy(path).version == "2026.1"
    assert load_policy(path).effective_from == "2026-01"


def test_the_run_refuses_an_unknown_policy_key_before_anything_runs(tmp_path, capsys):
    policy = policy_file(tmp_path, "min_dsr_item_count = 10", "min_dsr_item_cout = 10")
    warehouse = tmp_path / "w.duckdb"
    code = cli_main(
        [
            "run",
            "--landing",
            str(CONFORMANCE / "landing"),
            "--warehouse",
            str(warehouse),
            "--through",
            JAN,
            "--policy",
            str(policy),
        ]
    )
    assert code == 1
    assert "unknown key 'window.min_dsr_item_cout'" in capsys.readouterr().err
    assert not warehouse.exists()


def test_a_java_error_is_named_by_its_innermost_cause() -> None:
    """A Py4J error's first line names only the call ("An error occurred while calling
    o463.collectToPython."): a Spark run's one line said nothing of what failed (a review,
    2026-12-06). Its innermost Java cause is added. The message is a real one, from
    ``spark.read.parquet`` of a file that is not Parquet (pyspark 4, local[1])."""
    from dagster._utils.error import SerializableErrorInfo

    from assets.runner import _first_line

    message = (
        "py4j.protocol.Py4JJavaError: An error occurred while calling o28.parquet.\n"
        ": org.apache.spark.SparkException: [FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] "
        "Encountered error while reading file file:/tmp/pj/x.parquet. Could not read footer.\n"
        "If not, please convert it to a valid format.\n"
        "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.cannotReadFooter(...)\n"
        "Caused by: java.lang.RuntimeException: file:/tmp/pj/x.parquet is not a Parquet "
        "file (length is too low: 8)\n"
        "\tat org.apache.parquet.hadoop.ParquetFileReader.readFooter(...)\n"
    )
    java = SerializableErrorInfo(message, [], "Py4JJavaError")
    assert _first_line(java) == (
        "py4j.protocol.Py4JJavaError: An error occurred while calling o28.parquet. "
        "java.lang.RuntimeException: file:/tmp/pj/x.parquet is not a Parquet file "
        "(length is too low: 8)"
    )
    ours = SerializableErrorInfo("pipelines.ingest.LandingError: orders: bad\nmore", [], "X")
    assert _first_line(ours) == "orders: bad"


def test_a_step_interrupted_by_a_stop_signal_says_so() -> None:
    """A SIGINT or SIGTERM while a step runs makes Dagster raise its interrupt error in the
    step, whose message is only its class name: a run stopped in a long step said
    ``raw_merchants failed: dagster._core.errors.DagsterExecutionInterruptedError`` (a
    review, 2026-12-06, a Spark step waiting on its cluster). A real signal, in a real
    Dagster step."""
    import os
    import signal
    import time

    import dagster as dg

    from assets.runner import failure_reason

    @dg.asset
    def raw_merchants() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)  # the signal interrupts this

    result = dg.materialize([raw_merchants], raise_on_error=False)
    assert not result.success
    assert failure_reason(result) == (
        "raw_merchants was interrupted by a stop signal (SIGINT or SIGTERM)"
    )
