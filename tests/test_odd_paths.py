"""Paths DuckDB, Dagster, polars or Spark would read as something else than the file named.

A path is used as written or refused, naming it: a warehouse whose name DuckDB reads as
options (``?``), a folder separator (``\\``) or another database (``~``, ``:memory:``,
``md:`` at the start of a relative path); names glob readers would take as patterns. The
conformance fixture graded under names of pattern and quote characters is in
tests/test_conformance.py; a Dagster home its storage would misread, in tests/test_cli.py.
"""

from __future__ import annotations

import os
import shutil
import sys

import polars as pl
import pytest

from assets.cli import main as cli_main
from pipelines.datasets import ORDERS
from pipelines.ingest import IngestError, ingest_month
from pipelines.reporting.analysis import read_export
from pipelines.scratch import make_scratch_folder
from pipelines.warehouse import WarehousePathError, connect, fetch_value
from tests.helpers import CONFORMANCE, run_args


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a?b/w.duckdb", "DuckDB reads what follows '?' in a database path as options"),
        ("a\\b.duckdb", "DuckDB reads '\\' in a database path as '/'"),
        ("w" * 244 + ".duckdb", "its file name is 251 bytes"),
    ],
    ids=["question-mark", "backslash", "251-byte-name"],
)
def test_a_warehouse_path_duckdb_would_misread_is_refused_before_anything(
    tmp_path, capsys, name, reason
):
    """DuckDB put the log of ``a?b/w.duckdb`` at ``a.wal?b/w.duckdb`` (every commit
    failed), and read ``a\\b.duckdb`` as ``a/b.duckdb`` (the month went into another
    file than the one locked and checked); a 251-byte name failed on its lock file's
    name as a raw OSError. A run is refused up front, naming the path, and writes
    nothing; so is any other opening."""
    warehouse = tmp_path / name
    code = cli_main(
        run_args(CONFORMANCE / "landing", warehouse, tmp_path / "out", "2026-01", "--create")
    )
    assert code == 1
    assert f"warehouse {warehouse}: {reason}" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []
    with pytest.raises(WarehousePathError, match="choose another path"):
        connect(warehouse, read_only=True)
    assert sorted(tmp_path.iterdir()) == []


def test_the_longest_warehouse_name_that_fits_is_used(tmp_path):
    """250 bytes and the lock file's '.lock' make 255, the longest file name."""
    warehouse = tmp_path / ("w" * 243 + ".duckdb")
    con = connect(warehouse)
    con.close()
    assert warehouse.is_file()


@pytest.mark.parametrize("name", ["~w.duckdb", ":memory:w.duckdb", "md:w.duckdb"])
def test_a_relative_warehouse_path_is_the_file_it_names(tmp_path, monkeypatch, name):
    """DuckDB reads a leading '~' as the home folder, ':memory:' as an in-memory database
    (each connection a new one: a month's merchants were gone at the next step) and
    'md:' as MotherDuck (found 2026-12-06). The warehouse is the file named, in the
    working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    con = connect(name)
    con.execute("CREATE TABLE main.probe AS SELECT 42 AS answer")
    con.close()
    con = connect(name, read_only=True)
    try:
        assert fetch_value(con, "SELECT answer FROM main.probe") == 42
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".duckdb") == [name]


def test_a_relative_landing_folder_named_with_a_tilde_is_read(tmp_path, monkeypatch, capsys):
    """The ingest gave DuckDB the files' relative paths, and DuckDB read '~land/...' as
    the home folder's: "No files found" (found 2026-12-06). One month through the CLI,
    every path relative to the working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    shutil.copytree(CONFORMANCE / "landing", tmp_path / "~land")
    code = cli_main(
        ["run", "--landing", "~land", "--warehouse", "~w.duckdb", "--outputs", "~out"]
        + ["--through", "2026-01", "--no-dashboard"]
    )
    assert code == 0, capsys.readouterr().err
    con = connect(tmp_path / "~w.duckdb", read_only=True)
    try:
        assert fetch_value(con, "SELECT count(*) FROM main.merchant_grades") > 0
        assert (
            fetch_value(con, "SELECT count(*) FROM main.quarantine WHERE source_file LIKE '/%'")
            == 0
        )  # still named relative to the landing folder
    finally:
        con.close()
    assert (tmp_path / "~out" / "merchant_grades" / "month=2026-01" / "part-0.parquet").is_file()


def test_a_file_name_that_is_not_utf8_is_refused_by_name(con, landing):
    """It cannot be the quarantine's text ``source_file``; it crashed the ingest on a
    UnicodeEncodeError that named no file (found 2026-12-06)."""
    folder = landing / "orders" / "month=2026-01"
    folder.mkdir(parents=True)
    shutil.copy(CONFORMANCE / "landing/orders/month=2026-01/part-a.csv", folder / "part-a.csv")
    (folder / os.fsdecode(b"part-\xe9b.csv")).write_text("order_id\n", encoding="utf-8")
    with pytest.raises(IngestError) as refused:
        ingest_month(con, landing, ORDERS, "2026-01")
    assert str(refused.value).startswith(
        "orders/month=2026-01/part-\\xe9b.csv: the file name is not UTF-8 text"
    )


def test_exports_are_read_from_a_folder_named_like_a_pattern(tmp_path):
    """polars globbed the export paths: under ``exp [1]`` no file matched, and under
    ``exp*`` the months of ``exp-old`` were read too, three times the rows (found
    2026-12-06)."""
    for folder, ids in (("exp*", ["A", "B"]), ("exp [1]", ["C"]), ("exp-old", ["D"])):
        path = tmp_path / folder / "merchant_grades" / "month=2026-01" / "part-0.parquet"
        path.parent.mkdir(parents=True)
        pl.DataFrame({"merchant_id": ids, "month": "2026-01"}).write_parquet(path)
    assert read_export(tmp_path / "exp*", "merchant_grades")["merchant_id"].to_list() == [
        "A",
        "B",
    ]
    assert read_export(tmp_path / "exp [1]", "merchant_grades")["merchant_id"].to_list() == ["C"]


@pytest.mark.parametrize("folder", ["tmp?1", "tmp\\1"])
def test_a_temporary_folder_duckdb_would_misread_is_refused_naming_it(
    tmp_path, monkeypatch, folder
):
    """A preview and the what-if notebook grade a copy of the warehouse in the temporary
    folder; under TMPDIR 'tmp?1' the copy's commits failed (found 2026-12-06)."""
    root = tmp_path / folder
    root.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(root))
    with pytest.raises(WarehousePathError, match="set TMPDIR to another folder") as refused:
        make_scratch_folder("grading-test-")
    assert str(refused.value).startswith(f"the temporary folder {root} cannot hold a copy")
    assert list(root.iterdir()) == []


def test_a_notebook_copy_in_a_temporary_folder_duckdb_would_misread_is_refused(
    tmp_path, monkeypatch
):
    """The notebooks' read-only copy of the warehouse: under TMPDIR 'tmp?1' it would open
    without its write-ahead log, missing the latest committed month. Refused before any
    folder is made."""
    from pipelines.reporting.analysis import readonly_copy

    warehouse = tmp_path / "w.duckdb"
    connect(warehouse).close()
    root = tmp_path / "tmp?1"
    root.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(root))
    with pytest.raises(WarehousePathError, match=r"DuckDB reads what follows '\?'"):
        readonly_copy(warehouse)
    assert list(root.iterdir()) == []


def test_a_locale_not_in_utf8_grades_into_folders_named_in_any_script(tmp_path):
    """Under ``en_US.ISO-8859-1`` Python named files in Latin-1 while DuckDB, polars and
    Arrow named them in UTF-8: a warehouse in a folder ``dé中`` was "no such file", and
    ``grading explain`` could not print its arrows (a review, 2026-12-06). The command
    restarts itself in Python's UTF-8 mode, and grades as under any other locale."""
    import subprocess

    import duckdb

    from tests.helpers import cli_command

    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    if "en_US.iso88591" not in locales:
        pytest.skip("the en_US.ISO-8859-1 locale is not generated here (.ci/run makes it)")
    root = tmp_path / "dé中 ü"
    shutil.copytree(CONFORMANCE / "landing", root / "landing")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUTF8"}
    env |= {"LC_ALL": "en_US.ISO-8859-1"}
    check = "import sys; print(sys.getfilesystemencoding())"
    encoding = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True)
    assert encoding.stdout.decode().strip() == "iso8859-1", "the locale is in effect"

    warehouse, outputs = root / "wh" / "w.duckdb", root / "out"
    args = [*run_args(root / "landing", warehouse, outputs, "2026-01"), "--create"]
    graded = subprocess.run(cli_command(*args), env=env, capture_output=True, timeout=600)
    assert graded.returncode == 0, graded.stderr.decode(errors="replace")[-2000:]
    assert sorted(p.name for p in root.iterdir()) == ["landing", "out", "wh"]
    plain = tmp_path / "plain.duckdb"
    assert cli_main([*run_args(CONFORMANCE / "landing", plain, tmp_path / "o", "2026-01")]) == 0
    query = "SELECT * FROM main.merchant_grades ORDER BY ALL"
    with duckdb.connect(str(warehouse), read_only=True) as a, duckdb.connect(str(plain)) as b:
        assert a.sql(query).fetchall() == b.sql(query).fetchall()
    exported = pl.read_parquet(outputs / "merchant_grades" / "month=2026-01" / "*.parquet")
    assert exported.height == 149

    explain = ["explain", "--warehouse", str(warehouse), "--merchant", "M0500003"]
    shown = subprocess.run(
        cli_command(*explain, "--month", "2026-01"), env=env, capture_output=True
    )
    assert shown.returncode == 0, shown.stderr.decode(errors="replace")
    assert "Merchant M0500003, 2026-01" in shown.stdout.decode("utf-8")
