"""DuckDB under memory pressure (a review, 2026-12-07): a GRADING_DUCKDB_MEMORY_LIMIT DuckDB
does not take, and a month DuckDB runs out of memory in (within its limit, or with its temp
folder full), each end in one line that says what to do, and leave what was published."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from assets.cli import main as cli_main
from pipelines import warehouse as warehouse_module
from pipelines.datasets import ORDERS
from pipelines.ingest import ingest_month
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import (
    CONFORMANCE,
    environment_with,
    private_copy,
    published_months,
    run_args,
    run_cli_with,
)
from tests.test_ingest_reading import JAN, orders_parquet, with_merchants

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_TABLES = (
    "main.merchant_grades",
    "main.exposure_weights",
    "main.merchant_compliance",
    "main.tier_distribution",
    "main.quarantine",
)


@pytest.fixture
def memory_limit(monkeypatch):
    """``memory_limit(value)``: the run's GRADING_DUCKDB_MEMORY_LIMIT, as if set in the
    environment (the module reads it at import); checked again in this test."""

    def forget_checked_limit() -> None:
        check = getattr(warehouse_module, "check_memory_limit", None)  # cached a process
        if check is not None:
            check.cache_clear()

    def set_limit(value: str) -> None:
        monkeypatch.setattr(warehouse_module, "MEMORY_LIMIT", value)
        forget_checked_limit()

    yield set_limit
    forget_checked_limit()


def file_digests(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by its bytes, but Data Docs (a failed month renders its
    checks) and the outputs' claim (it records the copy's warehouse path)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "data_docs" not in path.parts and path.name != ".warehouse.json"
    }


def published_rows(warehouse: Path) -> dict[str, list[tuple]]:
    con = connect(warehouse, read_only=True)
    try:
        return {
            table: sorted(fetch_rows(con, f"SELECT * FROM {table}")) for table in PUBLISHED_TABLES
        }
    finally:
        con.close()


@pytest.mark.parametrize("value", ["abc", "0", "4XB", "four GB"])
def test_a_memory_limit_duckdb_does_not_take_is_refused_in_one_line_before_anything(
    published_conformance, tmp_path, capsys, memory_limit, value
):
    """It ended in DuckDB's parser error and a traceback from the first connection."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-01"), tmp_path / "p")
    before = file_digests(tmp_path / "p")
    memory_limit(value)
    code = cli_main(run_args(landing, warehouse, outputs, "2026-02"))
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"GRADING_DUCKDB_MEMORY_LIMIT={value!r} is not a memory size" in err
    lock = f"{warehouse.name}.lock"  # the run lock's file names the process that held it
    after = file_digests(tmp_path / "p")
    assert {k: v for k, v in after.items() if k != lock} == {
        k: v for k, v in before.items() if k != lock
    }
    # A new warehouse is not made, nor a Dagster home beside it.
    new = tmp_path / "new" / "w.duckdb"
    assert cli_main(run_args(landing, new, tmp_path / "new" / "out", "2026-01", "--create")) == 1
    assert "is not a memory size" in capsys.readouterr().err
    assert not new.exists() and not any(p.name != new.name + ".lock" for p in new.parent.glob("*"))


def test_a_month_duckdb_runs_out_of_memory_in_says_to_raise_the_limit_and_stands_as_before(
    published_conformance, tmp_path, capsys, memory_limit
):
    """DuckDB's own line named neither the setting nor its temp folder; a month over the
    limit is refused as a whole, and a rerun within a normal limit equals a fresh run."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-01"), tmp_path / "p")
    before_files = file_digests(outputs)
    before_rows = published_rows(warehouse)
    memory_limit("8MB")  # enough to open the warehouse, not to ingest a month
    code = cli_main(run_args(landing, warehouse, outputs, "2026-02"))
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "2026-02" in err and "Out of Memory Error" in err
    assert "raise the limit" in err and "GRADING_DUCKDB_MEMORY_LIMIT=8MB" in err
    assert f"{warehouse.name}.tmp" in err
    assert published_months(warehouse) == ["2026-01"]
    assert published_rows(warehouse) == before_rows
    assert file_digests(outputs) == before_files

    memory_limit("4GB")
    assert cli_main(run_args(landing, warehouse, outputs, "2026-02")) == 0
    fresh = published_conformance("2026-02") / "w.duckdb"
    assert published_rows(warehouse) == published_rows(fresh)


def test_a_parquet_file_read_out_of_memory_is_not_blamed_on_the_file(con, landing):
    """The read's error named the file, "cannot be read as parquet", as if it were
    damaged; it is DuckDB's memory, which the run's line names with what to do."""
    with_merchants(con, landing, "M1")
    n = 300_000
    orders_parquet(
        landing,
        [f"O{i:09d}-{'x' * 40}" for i in range(n)],
        ["M1"] * n,
        pa.array([Decimal("20.00")] * n, pa.decimal128(12, 2)),
    )
    con.execute("SET memory_limit = '2MB'")
    con.execute("SET temp_directory = ''")  # nowhere to spill
    with pytest.raises(duckdb.OutOfMemoryException):
        ingest_month(con, landing, ORDERS, JAN)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GRADING_FEEDBACK_ROWS_PER_PASS", "abc"),
        ("GRADING_FEEDBACK_ROWS_PER_PASS", "-5"),
        ("GRADING_ORDER_LOOKUP_ROWS", "0"),
    ],
)
def test_a_rows_at_once_setting_that_is_not_a_positive_count_is_refused_naming_it(
    tmp_path, variable, value
):
    """The settings that bound the feedback passes' and order lookups' memory, read at
    import: "abc" was refused naming neither the variable nor what it takes; 0 failed the
    month mid-way with ZeroDivisionError; -5 was taken as one pass."""
    warehouse = tmp_path / "new" / "w.duckdb"
    env = environment_with({"DAGSTER_HOME": str(tmp_path / "home"), variable: value})
    args = run_args(CONFORMANCE / "landing", warehouse, tmp_path / "out", "2026-01", "--create")
    result = run_cli_with(env, tmp_path, *args)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"{variable}={value!r} is not a number of rows" in result.stderr
    assert not warehouse.parent.exists() and not (tmp_path / "home").exists()


SPILL_AND_DIE = """
import os, signal, sys
from pathlib import Path
from pipelines.warehouse import connect
con = connect(Path(sys.argv[1]))
con.execute("SET memory_limit = '16MB'")
con.execute("CREATE TEMP TABLE t AS SELECT i, md5(i::varchar) h FROM range(2000000) r(i)")
os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer ends a process mid-month
"""


def test_spill_files_a_killed_process_left_are_removed_by_the_next_writer(tmp_path):
    """A process killed while spilling left its files in <warehouse>.tmp, and a next run
    that did not spill left them there for good (115 MB after a month of 2M orders under
    a 128MB limit). The next connection that writes the warehouse removes them, and
    keeps the spill files of its own process's other connections."""
    warehouse = tmp_path / "w.duckdb"
    spill = tmp_path / "w.duckdb.tmp"
    killed = subprocess.run(
        [sys.executable, "-c", SPILL_AND_DIE, str(warehouse)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    left = sorted(path.name for path in spill.iterdir())
    assert any(name.endswith("_owner") for name in left) and len(left) > 1, left

    con = connect(warehouse)
    try:
        assert [path.name for path in spill.iterdir() if path.name in left] == []
        con.execute("SET memory_limit = '16MB'")
        con.execute("CREATE TEMP TABLE t AS SELECT i, md5(i::varchar) h FROM range(2000000) r(i)")
        ours = sorted(path.name for path in spill.iterdir())
        assert ours and all(f"duckdb_temp_{os.getpid()}_" in name for name in ours), ours
        # What another connection of this process does as it opens: keeps them.
        assert warehouse_module.remove_stale_spill_files(warehouse) == []
        assert sorted(path.name for path in spill.iterdir()) == ours
    finally:
        con.close()


def test_a_preview_out_of_memory_ends_in_one_line_and_changes_nothing(
    published_conformance, tmp_path, capsys, memory_limit, monkeypatch
):
    """A preview works outside Dagster's steps, on a copy under TMPDIR: DuckDB's error
    ended in a traceback."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-01"), tmp_path / "p")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    (tmp_path / "scratch").mkdir()
    before = published_rows(warehouse)
    memory_limit("8MB")
    args = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    code = cli_main([*args, "--as-of", "2026-02-10", "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "Out of Memory Error" in err and "GRADING_DUCKDB_MEMORY_LIMIT=8MB" in err
    assert "TMPDIR" in err
    assert published_rows(warehouse) == before
    assert not (tmp_path / "p.csv").exists()
    assert list((tmp_path / "scratch").iterdir()) == []
