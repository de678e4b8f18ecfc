"""The Parquet exports match the warehouse, always (issue item 5).

A SIGKILL while a restatement's exports are written leaves nothing under the folders
readers glob, and the rerun rewrites the exports instead of calling the month unchanged;
an edited, extra, truncated or swapped export file is found and rewritten; a month whose
warehouse transaction committed while its exports failed is reported as published.
"""

from __future__ import annotations

import csv
import errno
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from assets.cli import main as cli_main
from assets.runner import grade_months
from pipelines import exports
from pipelines.reporting.summary import tier_summary
from pipelines.warehouse import connect, fetch_rows, fetch_value
from tests.helpers import (
    CONFORMANCE,
    PUBLISHED_TABLES,
    cli_command,
    failed_steps,
    materialize_month,
    private_copy,
    published_state,
    run_args,
    run_killed_at,
    step_failures,
)

MONTH_FOLDER = re.compile(r"month=\d{4}-\d{2}")
STAGING = ".staging"  # where exports are written before they are swapped in


@pytest.fixture
def graded(published_conformance, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of three published months: landing, warehouse, outputs."""
    return private_copy(published_conformance("2026-03"), tmp_path)


def disagreeing_tables(warehouse: Path, outputs: Path) -> list[str]:
    """Tables whose rows, read as a reader does (``<table>/*/*.parquet``), are not main.*'s."""
    con = connect(warehouse, read_only=True)
    try:
        return [
            table
            for table in PUBLISHED_TABLES
            if fetch_rows(
                con, f"SELECT * FROM read_parquet('{outputs}/{table}/*/*.parquet') ORDER BY ALL"
            )
            != fetch_rows(con, f"SELECT * FROM main.{table} ORDER BY ALL")
        ]
    finally:
        con.close()


def folders_readers_glob(outputs: Path) -> list[str]:
    """Every folder a ``<outputs>/<table>/*/*.parquet`` glob reads that is not a month."""
    return sorted(
        p.parent.relative_to(outputs).as_posix()
        for p in outputs.glob("*/*/*.parquet")
        if not MONTH_FOLDER.fullmatch(p.parent.name)
    )


def restate_february(landing: Path) -> None:
    """An active February merchant drops to 3 products: a new `no_store` breach, so
    merchant_compliance and exposure_weights of February change."""
    path = landing / "merchants" / "month=2026-02" / "part-a.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    status, products = header.index("status"), header.index("product_count")
    target = next(r for r in rows[1:] if r[status] == "active" and int(r[products]) > 10)
    target[products] = "3"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


@pytest.mark.parametrize("point", ["exports:between_tables", "exports:between_swaps"])
def test_sigkill_while_a_restatement_is_exported_leaves_nothing_to_read_and_is_rewritten(
    graded, point
):
    landing, warehouse, outputs = graded
    restate_february(landing)
    command = cli_command(*run_args(landing, warehouse, outputs, "2026-02"))
    run_killed_at(point, "2026-02", command)
    assert folders_readers_glob(outputs) == []  # no temp folder where readers look
    # The restatement committed; the old exports of February are still there, and
    # `grading summary` says so.
    assert "merchant_compliance" in disagreeing_tables(warehouse, outputs)
    assert "Parquet exports not recorded as complete: 2026-02\n" in tier_summary(warehouse)

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "2026-02 published" in rerun.stdout, rerun.stdout  # not "unchanged ... skipped"
    assert "2026-01 unchanged" in rerun.stdout
    assert disagreeing_tables(warehouse, outputs) == []
    assert "Parquet exports not recorded" not in tier_summary(warehouse)
    assert folders_readers_glob(outputs) == []
    assert not (outputs / STAGING).exists()


def edit_one_value(path: Path) -> None:
    """One merchant's credit points in the file, one higher: a plausible hand edit."""
    con = duckdb.connect()
    try:
        edited = path.with_name("edited.tmp")
        con.execute(
            f"COPY (SELECT * REPLACE (CASE WHEN merchant_id = (SELECT min(merchant_id) "
            f"FROM '{path}') THEN credit_points + 1 ELSE credit_points END AS credit_points) "
            f"FROM '{path}') TO '{edited}' (FORMAT parquet)"
        )
    finally:
        con.close()
    edited.replace(path)


TAMPERINGS = {
    "edited_value": edit_one_value,
    "extra_file": lambda path: shutil.copy(path, path.with_name("part-1.parquet")),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "another_months_file": lambda path: shutil.copy(
        path.parent.parent / "month=2026-01" / path.name, path
    ),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_a_tampered_export_is_found_and_rewritten(graded, tampering):
    landing, warehouse, outputs = graded
    before = published_state(warehouse, outputs)
    TAMPERINGS[tampering](outputs / "merchant_grades" / "month=2026-02" / "part-0.parquet")

    results = grade_months(landing, warehouse, outputs, "2026-03")
    assert [r.month for r in results if r.unchanged_since] == ["2026-01", "2026-03"]
    assert published_state(warehouse, outputs) == before  # February's file written again
    assert disagreeing_tables(warehouse, outputs) == []


def test_leftovers_of_every_month_are_cleared_when_a_run_starts(graded):
    landing, warehouse, outputs = graded
    january = outputs / "merchant_grades" / "month=2026-01" / "part-0.parquet"
    leftovers = [
        outputs / STAGING / "0a1b" / "quarantine" / "part-0.parquet",
        outputs / "merchant_grades" / ".tmp-2026-01-0a1b" / "part-0.parquet",  # earlier versions'
        outputs / "tier_distribution" / ".old-month=2026-02-0a1b" / "part-0.parquet",
    ]
    for leftover in leftovers:
        leftover.parent.mkdir(parents=True)
        shutil.copy(january, leftover)

    results = grade_months(landing, warehouse, outputs, "2026-03")
    assert all(r.unchanged_since for r in results)  # no month written, leftovers gone anyway
    assert [p for p in leftovers if p.parent.exists()] == []
    assert folders_readers_glob(outputs) == []


def disk_full_at_exports(name: str, month: str) -> None:
    """A crash point that fails the exports as a full disk does, after the commit."""
    if name.startswith("exports:"):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_month_committed_whose_exports_failed_is_reported_as_published_and_rewritten(
    tmp_path, monkeypatch, capsys
):
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    command = run_args(CONFORMANCE / "landing", warehouse, outputs, "2026-01")
    monkeypatch.setattr(exports, "crash_point", disk_full_at_exports)
    assert cli_main(command) == 1
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message == (
        f"grading: month 2026-01 was published in the warehouse, but its Parquet exports "
        f"under {outputs} were not written (the next run of the month rewrites them): "
        "OSError: [Errno 28] No space left on device"
    ), message
    con = connect(warehouse, read_only=True)
    try:
        assert fetch_value(con, "SELECT count(*) FROM main.run_log WHERE month = '2026-01'") == 1
        assert fetch_value(con, "SELECT count(*) FROM main.merchant_grades") == 149
    finally:
        con.close()
    assert list(outputs.glob("*/month=2026-01")) == []

    monkeypatch.undo()
    assert cli_main(command) == 0
    assert "2026-01 published" in capsys.readouterr().out
    assert disagreeing_tables(warehouse, outputs) == []
    assert len(list(outputs.glob("*/month=2026-01/part-0.parquet"))) == len(PUBLISHED_TABLES)


def test_a_dagster_run_whose_exports_failed_says_the_month_is_published(tmp_path, monkeypatch):
    """The path operations schedule: the failed step said only that writing the exports
    failed, so whoever read the failed run could not tell the month was published (found
    by a black-box review, 2026-12-05). Its error now says so first, as the CLI's does."""
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    monkeypatch.setattr(exports, "crash_point", disk_full_at_exports)
    result = materialize_month(CONFORMANCE / "landing", warehouse, outputs, "2026-01")

    assert failed_steps(result) == ["published_month"]
    assert (
        f"month 2026-01 was published in the warehouse, but its Parquet exports under "
        f"{outputs} were not written (the next run of the month rewrites them): OSError"
    ) in step_failures(result)
    assert "Parquet exports not recorded as complete: 2026-01\n" in tier_summary(warehouse)


def test_every_exported_column_is_optional_whatever_the_other_months_hold(graded):
    """A month's file schema does not depend on the table's other months: every column
    is declared optional, also those no row leaves empty (DuckDB would declare them
    required from the whole table's statistics, so a regraded month and the same month
    graded fresh wrote different schemas)."""
    _, _, outputs = graded
    files = sorted(outputs.glob("*/month=*/*.parquet"))
    assert {f.parent.parent.name for f in files} == set(PUBLISHED_TABLES)
    required = {
        f"{f.relative_to(outputs)}:{field.name}"
        for f in files
        for field in pq.read_schema(f)
        if not field.nullable
    }
    assert required == set()
    month = pq.read_table(files[0]).column("month").to_pylist()
    assert month and None not in month  # the never-produced NULL row is not written


def test_summary_names_every_month_without_an_export_record_and_runs_through_the_last(graded):
    """Two months whose exports were not recorded as complete: both are listed, and the
    run it suggests reaches the later one (through the first, the second stays as is)."""
    _, warehouse, _ = graded
    con = connect(warehouse)
    try:
        con.execute("DELETE FROM main.export_log WHERE month IN ('2026-01', '2026-02')")
    finally:
        con.close()
    summary = tier_summary(warehouse)
    assert "Parquet exports not recorded as complete: 2026-01, 2026-02\n" in summary
    assert "rewrite them: grading run --through 2026-02)" in summary
