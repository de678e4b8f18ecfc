"""The conformance fixture (../shared/conformance, copied here) reproduced value for value.

The run goes through ``grading run``'s code path: the Dagster job, month by month.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from assets.runner import grade_months
from pipelines.warehouse import connect, fetch_frame
from tests.helpers import CONFORMANCE

# The fixture's source of truth, beside the repository: <repo>/../shared/conformance.
SHARED_CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
EXPECTED = json.loads((CONFORMANCE / "expected.json").read_text())
KEYS = {
    "merchant_grades": ("month", "merchant_id"),
    "exposure_weights": ("month", "merchant_id"),
    "merchant_compliance": ("month", "merchant_id", "violation"),
    "tier_distribution": ("month", "main_category", "tier"),
}


def folder_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.skipif(
    not SHARED_CONFORMANCE.is_dir(), reason=f"no shared fixture at {SHARED_CONFORMANCE}"
)
def test_fixture_is_a_byte_equal_copy_of_the_shared_one():
    """tests/conformance must be what ``diff -r ../shared/conformance tests/conformance``
    finds equal: a corrected shared fixture not copied here fails the suite."""
    shared, copied = folder_files(SHARED_CONFORMANCE), folder_files(CONFORMANCE)
    assert sorted(copied) == sorted(shared)
    assert [name for name in shared if shared[name] != copied[name]] == []


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("conformance")
    grade_months(CONFORMANCE / "landing", root / "warehouse.duckdb", root / "outputs", "2026-03")
    return root


def published(root: Path, table: str, columns: list[str]) -> list[dict]:
    con = connect(root / "warehouse.duckdb", read_only=True)
    try:
        return fetch_frame(con, f"SELECT {', '.join(columns)} FROM main.{table}").to_dicts()
    finally:
        con.close()


def same(expected: object, got: object) -> bool:
    if isinstance(expected, float) and isinstance(got, float):
        return math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-15)
    return expected == got


@pytest.mark.parametrize("table", sorted(KEYS))
def test_table_matches_expected(graded, table):
    expected_rows = EXPECTED[table]
    columns = list(expected_rows[0])
    key = KEYS[table]
    want = {tuple(r[k] for k in key): r for r in expected_rows}
    got = {tuple(r[k] for k in key): r for r in published(graded, table, columns)}
    assert sorted(got) == sorted(want), f"{table}: different rows"
    mismatches = [
        (k, c, want[k][c], got[k][c])
        for k in want
        for c in columns
        if not same(want[k][c], got[k][c])
    ]
    assert mismatches == []


def test_quarantine_counts_match_expected(graded):
    rows = published(graded, "quarantine", ["dataset", "month", "reason"])
    got = Counter((r["dataset"], r["month"], r["reason"]) for r in rows)
    want = {
        (r["dataset"], r["month"], r["reason"]): r["rows"] for r in EXPECTED["quarantine_counts"]
    }
    assert dict(got) == want


def test_every_row_is_stamped_with_the_policy_version(graded):
    for table in (*KEYS, "quarantine"):
        versions = {r["policy_version"] for r in published(graded, table, ["policy_version"])}
        assert versions == {"2026.1"}, table


def test_parquet_exports_equal_the_tables(graded):
    import polars as pl

    for table in (*KEYS, "quarantine"):
        for month in ("2026-01", "2026-02", "2026-03"):
            path = graded / "outputs" / table / f"month={month}" / "part-0.parquet"
            exported = pl.read_parquet(path)
            rows = [r for r in published(graded, table, ["month"]) if r["month"] == month]
            assert exported.height == len(rows), (table, month)
            assert set(exported["month"].to_list()) <= {month}


def test_rerun_gives_identical_tables(graded, tmp_path):
    columns = ["*"]
    before = {t: published(graded, t, columns) for t in (*KEYS, "quarantine")}
    grade_months(
        CONFORMANCE / "landing", graded / "warehouse.duckdb", graded / "outputs", "2026-03"
    )
    after = {t: published(graded, t, columns) for t in (*KEYS, "quarantine")}
    for table in before:
        key = sorted(map(repr, before[table]))
        assert key == sorted(map(repr, after[table])), table


# Characters a SQL literal or a DuckDB glob would read as syntax: quote, brackets, star,
# braces, comma, and text that is not ASCII. A file name may hold '?' too; a warehouse
# path may not (tests/test_odd_paths.py).
ODD = "odd 'q' [1]*{a,b} é中"


def test_paths_and_file_names_of_pattern_characters_grade_the_same(graded, tmp_path):
    """The fixture graded from files, a warehouse and an outputs folder whose names hold
    SQL and glob syntax gives the same tables, and exports checked against them: the
    export check globbed ``<folder>/*.parquet`` in SQL, so an outputs folder named
    ``[1]`` matched no file and every month stopped after publishing (found 2026-12-06)."""
    import shutil

    from pipelines.exports import exports_match

    root = tmp_path / ODD
    landing = root / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    renamed = {}
    for path in sorted(landing.rglob("*.*")):
        odd = path.with_name(f"{ODD}? {path.name}")
        path.rename(odd)
        renamed[str(odd.relative_to(landing))] = str(path.relative_to(landing))
    grade_months(landing, root / "warehouse.duckdb", root / "outputs", "2026-03")

    for table in (*KEYS, "quarantine"):
        want = published(graded, table, ["*"])
        got = published(root, table, ["*"])
        if table == "quarantine":
            got = [{**row, "source_file": renamed[row["source_file"]]} for row in got]
        assert sorted(map(repr, got)) == sorted(map(repr, want)), table
    con = connect(root / "warehouse.duckdb", read_only=True)
    try:
        for month in ("2026-01", "2026-02", "2026-03"):
            assert exports_match(con, root / "outputs", month), month
    finally:
        con.close()
