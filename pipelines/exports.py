"""Parquet exports of the published tables: <outputs>/<table>/month=YYYY-MM/part-0.parquet.

A month's folder is written beside the old one and swapped in by rename, so a reader
sees the old month or the new one, never a half-written file.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

from pipelines.faults import crash_point

OUTPUT_TABLES = (
    "merchant_grades",
    "exposure_weights",
    "merchant_compliance",
    "tier_distribution",
    "quarantine",
)
ORDER_BY = {
    "merchant_grades": "merchant_id",
    "exposure_weights": "merchant_id",
    "merchant_compliance": "merchant_id, violation",
    "tier_distribution": "main_category, tier",
    "quarantine": "dataset, source_file, reason, record",
}


def export_month(con: duckdb.DuckDBPyConnection, month: str, outputs: Path) -> list[Path]:
    """Write each published table's month as Parquet; returns the files written.

    Every table is written to a hidden staging folder first and only then are the
    folders swapped in, so a crash while writing leaves the previous exports untouched.
    """
    staged = []
    for table in OUTPUT_TABLES:
        final = Path(outputs) / table / f"month={month}"
        _remove_leftovers(final.parent, month)
        staging = final.parent / f".tmp-{month}-{uuid.uuid4().hex}"
        staging.mkdir(parents=True, exist_ok=True)
        target = staging / "part-0.parquet"
        con.execute(
            f"COPY (SELECT * FROM main.{table} WHERE month = $month ORDER BY {ORDER_BY[table]}) "
            f"TO '{_sql_path(target)}' (FORMAT parquet)",
            {"month": month},
        )
        staged.append((staging, final))
        crash_point("exports:between_tables", month)
    for staging, final in staged:
        _swap_in(staging, final)
    return [final / "part-0.parquet" for _, final in staged]


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal body; COPY TO does not take a parameter."""
    return str(path).replace("'", "''")


def _remove_leftovers(table_dir: Path, month: str) -> None:
    """Folders a crashed export of this month left behind (never seen by month=* globs)."""
    if table_dir.is_dir():
        for leftover in table_dir.glob(f".*-month={month}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in table_dir.glob(f".tmp-{month}-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_in(staging: Path, final: Path) -> None:
    retired = final.parent / f".old-{final.name}-{uuid.uuid4().hex}"
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    if retired.exists():
        shutil.rmtree(retired)
