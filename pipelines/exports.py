"""Parquet exports of the published tables: <outputs>/<table>/month=YYYY-MM/part-0.parquet.

A month's folder is written beside the old one and swapped in by rename, so a reader
sees the old month or the new one, never a half-written file.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

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
    """Write each published table's month as Parquet; returns the files written."""
    written = []
    for table in OUTPUT_TABLES:
        final = Path(outputs) / table / f"month={month}"
        staging = final.parent / f".tmp-{month}-{uuid.uuid4().hex}"
        staging.mkdir(parents=True, exist_ok=True)
        target = staging / "part-0.parquet"
        con.execute(
            f"COPY (SELECT * FROM main.{table} WHERE month = $month ORDER BY {ORDER_BY[table]}) "
            f"TO '{_sql_path(target)}' (FORMAT parquet)",
            {"month": month},
        )
        _swap_in(staging, final)
        written.append(final / target.name)
    return written


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal body; COPY TO does not take a parameter."""
    return str(path).replace("'", "''")


def _swap_in(staging: Path, final: Path) -> None:
    retired = final.parent / f".old-{final.name}-{uuid.uuid4().hex}"
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    if retired.exists():
        shutil.rmtree(retired)
