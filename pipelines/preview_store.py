"""Where a preview is kept: the warehouse's ``preview`` schema and ``<outputs>/preview/``.

A preview is computed on a copy (pipelines/preview.py); only its result comes back here,
under the warehouse's run lock, into tables no run reads: ``preview.*`` (the five
published tables' columns, ``at_risk`` and ``preview_log``) and Parquet files under
``<outputs>/preview/<table>/month=YYYY-MM/``, which the published exports' globs
(``<outputs>/<table>/month=*``) never reach. ``main.*``, ``main.run_log`` (the run key
chain), the journal and the published exports are not touched.

One preview per month: a new one replaces the month's rows, and its files wherever they
were written (``preview.exported`` records the outputs folder of each month's files, so a
preview made without ``--outputs``, or to another folder, still removes the earlier
preview's; found by a review, 2026-12-06). A blocked preview leaves none (an older
projection must not pass for the current one) and logs why.
"""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.at_risk import AT_RISK_COLUMNS
from pipelines.exports import copy_month_sql, remove_folder
from pipelines.locking import exclusive_run
from pipelines.months import GradingWindow
from pipelines.preview import Preview, PreviewBlocked
from pipelines.sql_files import load_sql
from pipelines.warehouse import connect, fetch_rows, transaction

PREVIEW_SCHEMA = "preview"
PREVIEW_DIR = "preview"
# The tables a preview writes, with the published tables' names; at_risk is its own.
PROJECTED_TABLES = (
    "merchant_grades",
    "exposure_weights",
    "merchant_compliance",
    "tier_distribution",
    "quarantine",
)
STORED_TABLES = (*PROJECTED_TABLES, "at_risk")
ORDER_BY = {
    "merchant_grades": "merchant_id",
    "exposure_weights": "merchant_id",
    "merchant_compliance": "merchant_id, violation",
    "tier_distribution": "main_category, tier",
    "quarantine": "dataset, source_file, reason, record",
    "at_risk": "merchant_id",
}


@dataclass(frozen=True)
class StoredPreview:
    """What was written: the tables' rows and the export files (none without outputs)."""

    month: str
    rows: dict[str, int]
    files: list[Path]


def store_preview(
    warehouse: Path, outputs: Path | None, preview: Preview, wait_seconds: float = 0.0
) -> StoredPreview | None:
    """Replace the month's preview in ``preview.*`` and ``<outputs>/preview/``.

    None when the warehouse does not exist: a preview never creates one.
    """
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return None
    frames = {**preview.tables, "at_risk": preview.at_risk}
    month = preview.window.month
    target = _absolute(outputs)
    with exclusive_run(warehouse, wait_seconds), closing(connect(warehouse)) as con:
        _ensure_schema(con)
        _remove_earlier_files(con, month)
        with transaction(con):
            _clear_month(con, month)
            for table in STORED_TABLES:
                _insert(con, table, frames[table])
            _log(con, preview.window, preview.policy_version, "projected", None, preview)
            if target:
                _record_export(con, month, target)
        files = _export(con, target, month) if target else []
    rows = {table: frames[table].height for table in STORED_TABLES}
    return StoredPreview(preview.window.month, rows, files)


def store_blocked(
    warehouse: Path, outputs: Path | None, blocked: PreviewBlocked, wait_seconds: float = 0.0
) -> bool:
    """Remove the month's preview (tables and files) and log why it is blocked; False when
    the warehouse does not exist."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return False
    month = blocked.window.month
    with exclusive_run(warehouse, wait_seconds), closing(connect(warehouse)) as con:
        _ensure_schema(con)
        _remove_earlier_files(con, month)
        if outputs:
            _remove_month_files(_absolute(outputs), month)
        with transaction(con):
            _clear_month(con, month)
            _log(con, blocked.window, blocked.policy_version, "blocked", blocked.reason, None)
    return True


def preview_folder(outputs: Path, table: str, month: str) -> Path:
    return Path(outputs) / PREVIEW_DIR / table / f"month={month}"


def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(load_sql("preview/schema.sql"))


def _clear_month(con: duckdb.DuckDBPyConnection, month: str) -> None:
    for table in (*STORED_TABLES, "exported"):
        con.execute(f"DELETE FROM {PREVIEW_SCHEMA}.{table} WHERE month = $month", {"month": month})


def _absolute(outputs: Path | None) -> Path | None:
    """The outputs folder as recorded and written: absolute, so a later preview made from
    another working folder finds the same files (not normalised: ``link/..`` stays the
    folder it names, as the run's exports take it)."""
    return Path(outputs).absolute() if outputs else None


def _remove_earlier_files(con: duckdb.DuckDBPyConnection, month: str) -> None:
    """Remove the month's preview files from every outputs folder a preview of it was
    exported to, before its rows are replaced: a file left there, with no as-of day in
    it, would pass for the current projection. Done before the new rows are committed,
    so a preview that then fails leaves fewer files, never stale ones; a folder that
    cannot be removed stops the preview, changing no row."""
    for (folder,) in fetch_rows(
        con, "SELECT DISTINCT outputs FROM preview.exported WHERE month = $month", {"month": month}
    ):
        _remove_month_files(Path(folder), month)


def _record_export(con: duckdb.DuckDBPyConnection, month: str, outputs: Path) -> None:
    con.execute(
        "INSERT INTO preview.exported VALUES ($month, $outputs)",
        {"month": month, "outputs": str(outputs)},
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Insert by column name (the frame holds exactly the table's columns)."""
    columns = AT_RISK_COLUMNS if table == "at_risk" else tuple(frame.columns)
    con.register("_preview_frame", frame.select(columns).to_arrow())
    try:
        names = ", ".join(columns)
        con.execute(
            f"INSERT INTO {PREVIEW_SCHEMA}.{table} ({names}) SELECT {names} FROM _preview_frame"
        )
    finally:
        con.unregister("_preview_frame")


def _log(
    con: duckdb.DuckDBPyConnection,
    window: GradingWindow,
    policy_version: str,
    status: str,
    reason: str | None,
    preview: Preview | None,
) -> None:
    con.execute(
        "INSERT INTO preview.preview_log VALUES ($month, $as_of, $cutoff, $policy_version, "
        "$status, $reason, $compared, $at_risk, $quarantined, CAST(now() AS TIMESTAMP))",
        {
            "month": window.month,
            "as_of": window.last_day,
            "cutoff": window.cutoff,
            "policy_version": policy_version,
            "status": status,
            "reason": reason,
            "compared": preview.compared_month if preview else None,
            "at_risk": preview.at_risk.height if preview else None,
            "quarantined": preview.rows_quarantined if preview else None,
        },
    )


def _export(con: duckdb.DuckDBPyConnection, outputs: Path, month: str) -> list[Path]:
    """Each stored table's month as ``<outputs>/preview/<table>/month=M/part-0.parquet``,
    written beside it first and renamed into place (a reader never sees half a file)."""
    files = []
    for table in STORED_TABLES:
        folder = preview_folder(outputs, table, month)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "part-0.parquet"
        partial = folder / ".part-0.parquet.tmp"
        con.execute(
            copy_month_sql(f"{PREVIEW_SCHEMA}.{table}", ORDER_BY[table], partial),
            {"month": month},
        )
        os.replace(partial, target)
        files.append(target)
    return files


def _remove_month_files(outputs: Path, month: str) -> None:
    """Remove the month's preview folders. A folder that cannot be removed stops the
    preview with an error naming it, before its record is dropped: ignored, it stayed
    behind, and forgotten (a review, 2026-12-06)."""
    for table in STORED_TABLES:
        folder = preview_folder(outputs, table, month)
        if folder.exists():
            remove_folder(folder)
