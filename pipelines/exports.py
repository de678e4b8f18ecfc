"""Parquet exports of the published tables: <outputs>/<table>/month=YYYY-MM/part-0.parquet.

A month's files are written under <outputs>/.staging/, outside every folder a reader
globs (``<outputs>/<table>/*/*.parquet``), and swapped in by rename (same filesystem),
so a reader sees the old month or the new one, never a half-written file or a temp
folder. What was written is recorded in main.export_log (per table: rows and an
order-independent hash of the month's rows); a rerun skips a month only when its files
still match that record and the published tables (``exports_match``).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import uuid
from pathlib import Path

import duckdb

from pipelines.faults import crash_point
from pipelines.outputs_claim import claim_outputs, warehouse_id
from pipelines.warehouse import database_path, fetch_rows, transaction

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
# Where a month's files are written before they are swapped in, and where the folders
# they replace wait to be deleted: hidden, and not a <table>/<month> folder.
STAGING_DIR = ".staging"

# A table's rows as a fingerprint: the row count and the sum of the rows' hashes, which
# does not depend on row order (a Parquet file is read back in any order).
_FINGERPRINT = "SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM ({rows}) AS t"

Fingerprint = tuple[int, int]


class ExportsFailed(RuntimeError):
    """The month was committed to the warehouse, but its Parquet exports were not written."""


def export_month(con: duckdb.DuckDBPyConnection, month: str, outputs: Path) -> list[Path]:
    """Write each published table's month as Parquet; returns the files written.

    Every table is written to the staging folder and checked against main.* first; only
    then are the folders swapped in and the fingerprints recorded. A crash before the
    record leaves the month without one, so the next run rewrites its exports.
    """
    outputs = Path(outputs)
    claim_outputs(outputs, database_path(con), warehouse_id(con))  # before deleting any
    clear_export_leftovers(outputs)
    clear_unpublished_months(outputs, published_months(con))
    staging_root = outputs / STAGING_DIR / uuid.uuid4().hex
    staged: list[tuple[Path, Path]] = []
    fingerprints: dict[str, Fingerprint] = {}
    for table in OUTPUT_TABLES:
        staging = staging_root / table
        staging.mkdir(parents=True)
        _copy_table(con, table, month, staging / "part-0.parquet")
        fingerprints[table] = _checked_fingerprint(con, table, month, staging)
        staged.append((staging, month_folder(outputs, table, month)))
        crash_point("exports:between_tables", month)
    for staging, final in staged:
        _swap_in(staging, final, staging_root)
        crash_point("exports:between_swaps", month)
    _record(con, month, fingerprints)
    shutil.rmtree(staging_root, ignore_errors=True)
    with contextlib.suppress(OSError):  # left in place while another folder is in it
        staging_root.parent.rmdir()
    return [final / "part-0.parquet" for _, final in staged]


def month_folder(outputs: Path, table: str, month: str) -> Path:
    return Path(outputs) / table / f"month={month}"


def clear_export_leftovers(outputs: Path) -> None:
    """Delete what crashed exports left behind, of every month.

    The staging folder, and the ``.tmp-*`` / ``.old-*`` folders that exports before the
    staging folder left inside the table folders, where ``<table>/*/*.parquet`` globs
    saw them. Call it only while holding the warehouse's run lock: another run's export
    in progress would lose its staged files.
    """
    outputs = Path(outputs)
    shutil.rmtree(outputs / STAGING_DIR, ignore_errors=True)
    for table in OUTPUT_TABLES:
        for pattern in (".tmp-*", ".old-*"):
            for leftover in (outputs / table).glob(pattern):
                shutil.rmtree(leftover, ignore_errors=True)


def published_months(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every month the warehouse has published (has a main.run_log row for)."""
    return {month for (month,) in fetch_rows(con, "SELECT DISTINCT month FROM main.run_log")}


def months_without_export_record(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Published months whose exports are not all recorded in main.export_log, which is
    written once every table's folder is in place: a run stopped or failed while writing
    them (or they predate the record), so a table folder may still hold the month's
    earlier publication, or none. Reads the record only; ``exports_match`` also reads
    the files, for one month."""
    return [
        month
        for (month,) in fetch_rows(
            con,
            "SELECT r.month FROM (SELECT DISTINCT month FROM main.run_log) r "
            "LEFT JOIN main.export_log e "
            "ON e.month = r.month AND list_contains($tables, e.table_name) "
            "GROUP BY r.month HAVING count(DISTINCT e.table_name) < $table_count "
            "ORDER BY r.month",
            {"tables": list(OUTPUT_TABLES), "table_count": len(OUTPUT_TABLES)},
        )
    ]


def clear_unpublished_months(outputs: Path, published: set[str]) -> list[Path]:
    """Delete the ``month=YYYY-MM`` folders of the export tables whose month is not in
    ``published`` (the warehouse's published months); returns them.

    Exports are only written after their month's publication commits, so such a folder
    is not an export of this warehouse: say the outputs folder of a warehouse that was
    deleted to start over. Readers glob every month folder of a table, and would read
    its rows beside main.*'s, so one that cannot be deleted stops the caller
    (``remove_folder``). Call it only while holding the warehouse's run lock.
    """
    orphans = [
        folder
        for table in OUTPUT_TABLES
        for folder in sorted(Path(outputs, table).glob("month=*"))
        if folder.is_dir() and folder.name.removeprefix("month=") not in published
    ]
    for folder in orphans:
        remove_folder(folder)
    return orphans


def remove_folder(folder: Path) -> None:
    """Delete ``folder`` and everything in it; a file that cannot be deleted stops the
    caller with an error naming it by its whole path.

    For folders readers would take as data (an unpublished month's export, a preview's
    files): ignoring the error left their rows beside the published ones, unseen. And
    ``shutil.rmtree``'s own error names only the entry inside the folder
    (``Read-only file system: part-0.parquet``). A folder that is a symbolic link is
    unlinked: readers follow it, and what it points to is not this folder's to delete.
    """

    def name_the_whole_path(_function: object, path: str, error: BaseException) -> None:
        if isinstance(error, OSError):
            raise OSError(error.errno, error.strerror or str(error), path) from error
        raise error

    if folder.is_symlink():
        folder.unlink()  # its error names the link
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=name_the_whole_path)
    else:  # onerror is given the exception as sys.exc_info()
        shutil.rmtree(folder, onerror=lambda f, p, info: name_the_whole_path(f, p, info[1]))


def exports_match(con: duckdb.DuckDBPyConnection, outputs: Path, month: str) -> bool:
    """Whether every table's exported month is exactly what was recorded when it was
    written and what main.* holds now: the same rows, no file missing, none extra."""
    recorded = {
        table: (int(rows), int(digest))
        for table, rows, digest in fetch_rows(
            con,
            "SELECT table_name, row_count, rows_hash FROM main.export_log WHERE month = $month",
            {"month": month},
        )
    }
    return set(recorded) == set(OUTPUT_TABLES) and all(
        _files_fingerprint(con, month_folder(outputs, table, month)) == recorded[table]
        and table_fingerprint(con, table, month) == recorded[table]
        for table in OUTPUT_TABLES
    )


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str, month: str) -> Fingerprint:
    """The fingerprint of the month's rows in main.<table>."""
    rows = f"SELECT * FROM main.{table} WHERE month = $month"
    count, digest = fetch_rows(con, _FINGERPRINT.format(rows=rows), {"month": month})[0]
    return int(count), int(digest)


def _files_fingerprint(con: duckdb.DuckDBPyConnection, folder: Path) -> Fingerprint | None:
    """The fingerprint of every Parquet file of a month folder read together, as written
    (each file's own month column, not one from the folder name); None when the folder
    has no Parquet file or one cannot be read."""
    files = sorted(str(path.absolute()) for path in folder.glob("*.parquet"))
    if not files:
        return None
    # The files are listed, not globbed in SQL: a folder named like a pattern
    # (``exports [1]``) matches no file as a DuckDB glob, but each listed path is read as
    # it is written (absolute: no '~' expansion).
    rows = "SELECT * FROM read_parquet($files, hive_partitioning = false)"
    try:
        count, digest = fetch_rows(con, _FINGERPRINT.format(rows=rows), {"files": files})[0]
    except duckdb.Error:
        return None
    return int(count), int(digest)


def _copy_table(con: duckdb.DuckDBPyConnection, table: str, month: str, target: Path) -> None:
    con.execute(copy_month_sql(f"main.{table}", ORDER_BY[table], target), {"month": month})


def copy_month_sql(table: str, order_by: str, target: Path) -> str:
    """SQL: COPY the ``$month`` rows of ``table`` to Parquet file ``target``, in ``order_by``
    order, every column declared optional (nullable).

    DuckDB 2.0 declares a Parquet column required when its statistics show no NULL, and
    those are the whole table's: a month's file schema then depended on the other months
    (the same month, regraded or graded fresh, came out required or optional), and a
    consumer that appends months under a fixed mode, such as BigQuery, refuses a mode
    that changes. A NULL row that is never produced (its volatile condition is false)
    makes every column's statistics nullable; the rows written are the same."""
    return (
        f"COPY (SELECT * FROM (SELECT * FROM {table} WHERE month = $month "
        f"UNION ALL BY NAME SELECT NULL AS month WHERE random() < 0) "
        f"ORDER BY {order_by}) TO '{_sql_path(target)}' (FORMAT parquet)"
    )


def _checked_fingerprint(
    con: duckdb.DuckDBPyConnection, table: str, month: str, staging: Path
) -> Fingerprint:
    """The staged file's fingerprint, refused unless it is the published rows'."""
    written = _files_fingerprint(con, staging)
    published = table_fingerprint(con, table, month)
    if written != published:
        raise RuntimeError(
            f"{staging / 'part-0.parquet'}: the written {table} file of {month} holds "
            f"{written} (rows, hash), main.{table} holds {published}"
        )
    return published


def _record(
    con: duckdb.DuckDBPyConnection, month: str, fingerprints: dict[str, Fingerprint]
) -> None:
    """Replace the month's rows of main.export_log with what was just swapped in."""
    with transaction(con):
        con.execute("DELETE FROM main.export_log WHERE month = $month", {"month": month})
        con.executemany(
            "INSERT INTO main.export_log VALUES ($1, $2, $3, $4, CAST(now() AS TIMESTAMP))",
            [[month, table, rows, digest] for table, (rows, digest) in fingerprints.items()],
        )


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal body; COPY TO does not take a parameter. Absolute:
    DuckDB reads a leading '~' of a relative path as the home folder (found 2026-12-06)."""
    return str(Path(path).absolute()).replace("'", "''")


def _swap_in(staging: Path, final: Path, staging_root: Path) -> None:
    """Rename the staged folder into place; the replaced folder is moved out of the
    table folder first (into the staging folder) and deleted from there."""
    retired = staging_root / f"retired-{final.parent.name}"
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    shutil.rmtree(retired, ignore_errors=True)
