"""Load one dataset's month folder into the warehouse (spec §1), set-based in DuckDB.

Each file is read on its own (CSV as text, Parquet as typed), its columns are found by
name in any order and cast to the contract's types. A value that cannot be cast stops
the month with an error naming the file, the column and the row. Rows that break a rule
of their own go to ``raw.quarantine`` with a reason; exact copies collapse into one.
The month is replaced whole, so a rerun with the same files changes nothing. Every
stored row names its file and its row there (``source_file``, ``source_row``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.datasets import STORAGE_TYPES, Dataset
from pipelines.faults import crash_point
from pipelines.ingest.classify import classify, null_key_sql
from pipelines.ingest.reading import raise_cast_error, read_rows, typed_file
from pipelines.ingest.report import IngestReport
from pipelines.landing import files_digest, landing_files, relative_path
from pipelines.months import parse_month
from pipelines.sql_files import load_sql
from pipelines.warehouse import fetch_rows, fetch_value, transaction


def ingest_month(
    con: duckdb.DuckDBPyConnection, landing: Path, dataset: Dataset, month: str
) -> IngestReport:
    """Ingest ``dataset`` for ``month`` into ``raw.<dataset>``; replaces the month whole.

    Two ways in, with the same result. A dataset whose rows need nothing looked up to be
    stored (merchants, orders, service metrics) is read straight into the month's
    partition of raw.<dataset>; the few rows then found rejected or repeated are moved
    out (``_ingest_direct``). At 100M orders this is one compressed write instead of a
    temp table that spills, is read three times and dropped. Feedback and bad-order
    records store a value of their order, so they are staged in a temp table,
    classified with the order lookup, then inserted in one transaction
    (``_ingest_staged``).
    """
    report, files = start_report(landing, dataset, month)
    try:
        if dataset.checks_order:
            _ingest_staged(con, dataset, month, files, report)
        else:
            _ingest_direct(con, dataset, month, files, report)
    finally:
        con.execute(
            "DROP TABLE IF EXISTS _stage; DROP VIEW IF EXISTS _month_rows; "
            "DROP TABLE IF EXISTS _odd; DROP TABLE IF EXISTS _repeated; "
            "DROP TABLE IF EXISTS _repeated_rows; DROP TABLE IF EXISTS _duplicate_keys; "
            "DROP TABLE IF EXISTS _repeated_classified; DROP TABLE IF EXISTS _earlier; "
            "DROP TABLE IF EXISTS _earlier_keys; DROP TABLE IF EXISTS _classified; "
            "DROP TABLE IF EXISTS _rejected; DROP TABLE IF EXISTS _gone"
        )
    return report


def start_report(landing: Path, ds: Dataset, month: str) -> tuple[IngestReport, list[Path]]:
    """The month's landing files and a report naming them, with their digest (either
    engine's ingest starts here, so both refuse the same folders and name files alike)."""
    parse_month(month)
    landing = Path(landing)
    report = IngestReport(ds.name, month)
    files = landing_files(landing, ds.name, month)
    report.files_digest = files_digest(files)
    report.files = [relative_path(path, landing) for path in files]
    return report, files


def _ingest_staged(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    month: str,
    files: list[Path],
    report: IngestReport,
) -> None:
    """Stage every file in temp table ``_stage`` (each row's file as its number in the
    report's list, not the path repeated on every row: at 100M rows that was a large
    share of a temp table that spills), classify, then replace the month."""
    _create_stage(con, ds, "_stage", "INTEGER")
    for file_no, (path, rel) in enumerate(zip(files, report.files, strict=True), start=1):
        typed = typed_file(con, ds, path, rel, report)
        read_rows(
            con,
            typed,
            f"INSERT INTO _stage SELECT {typed.columns}, $file, _row, {typed.cast_error} "
            f"FROM {typed.rows}",
            {"file": file_no},
        )
        raise_cast_error(con, ds, "_stage", file_no, typed)
    report.rows_read = fetch_value(con, "SELECT count(*) FROM _stage")
    classified = classify(con, ds, month, "_stage")
    store = _stored_columns(ds)
    store.update({dst: f"_{dst}" for dst in ds.copied_from_order})
    store.update(source_file="$files[_src.f]", source_row="_src.r")
    files_param = {"files": report.files}
    with transaction(con):
        con.execute(f"DELETE FROM raw.{ds.name} WHERE month = $month", {"month": month})
        con.execute(
            f"INSERT INTO raw.{ds.name} ({', '.join(store)}) SELECT {', '.join(store.values())} "
            f"FROM ({classified.sql}) WHERE _reason IS NULL",
            {**classified.params, **files_param, "month": month},
        )
        _finish_month(con, ds, month, report, "$files[_src.f]", files_param)


def _ingest_direct(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    month: str,
    files: list[Path],
    report: IngestReport,
) -> None:
    """Read every file straight into the month's partition of raw.<dataset>, then move
    the rejected and repeated rows out.

    Two transactions: DuckDB rewrites every row a transaction appended if that same
    transaction deletes some of them (10M orders: a 20 s commit instead of 2.6 s), so
    the rows are committed first, then classified where they lie (view
    ``_month_rows``), and the few rejected or repeated ones are deleted in a second.
    Between the two the month has no raw.ingest_log row: it reads as not ingested, and
    publishing refuses to build on it (``unfinished_ingests``) until a rerun completes
    it. A file that cannot be read stops the first transaction, which leaves the month
    as it was. Rows without a key (which raw.* cannot hold) and rows whose values
    cannot be cast go to temp table ``_odd`` first."""
    _create_stage(con, ds, "_odd", "VARCHAR")
    store = _stored_columns(ds)
    store.update(source_file="$file", source_row="_row")
    with transaction(con):
        con.execute(
            "DELETE FROM raw.ingest_log WHERE dataset = $dataset AND month = $month",
            {"dataset": ds.name, "month": month},
        )
        con.execute(f"DELETE FROM raw.{ds.name} WHERE month = $month", {"month": month})
        for path, rel in zip(files, report.files, strict=True):
            typed = typed_file(con, ds, path, rel, report)
            read_rows(
                con,
                typed,
                f"INSERT INTO _odd SELECT {typed.columns}, $file, _row, {typed.cast_error} "
                f"FROM {typed.rows} WHERE {typed.cast_failed} OR {typed.key_missing}",
                {"file": rel},
            )
            raise_cast_error(con, ds, "_odd", rel, typed)
            report.rows_read += read_rows(
                con,
                typed,
                f"INSERT INTO raw.{ds.name} ({', '.join(store)}) SELECT $month, "
                f"{typed.columns}, $file, _row FROM {typed.rows} WHERE NOT {typed.key_missing}",
                {"file": rel, "month": month},
            )
    crash_point("ingest:rows_stored", month)
    report.rows_read += fetch_value(con, "SELECT count(*) FROM _odd")
    cols = ", ".join(ds.columns)
    con.execute(  # month is a checked YYYY-MM: safe to write into the view
        f"CREATE OR REPLACE TEMP VIEW _month_rows AS SELECT {cols}, source_file AS _file, "
        f"source_row AS _row FROM raw.{ds.name} WHERE month = '{month}' "
        f"UNION ALL SELECT {cols}, _file, _row FROM _odd"
    )
    classify(con, ds, month, "_month_rows")
    key_cols = ", ".join(ds.key)
    null_key = null_key_sql(ds)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _gone AS SELECT {key_cols} FROM _repeated UNION "
        f"SELECT {key_cols} FROM _rejected WHERE NOT ({null_key})"
    )
    same_key = " AND ".join(f"t.{k} = g.{k}" for k in ds.key)
    store.update(source_file="_src.f", source_row="_src.r")
    with transaction(con):
        con.execute(
            f"DELETE FROM raw.{ds.name} AS t USING _gone g WHERE t.month = $month AND {same_key}",
            {"month": month},
        )
        con.execute(
            f"INSERT INTO raw.{ds.name} ({', '.join(store)}) SELECT {', '.join(store.values())} "
            f"FROM _repeated_classified WHERE _reason IS NULL",
            {"month": month},
        )
        _finish_month(con, ds, month, report, "_src.f", {})


def _stored_columns(ds: Dataset) -> dict[str, str]:
    """raw.<dataset>'s columns -> the SQL of their values in a classified row."""
    return {"month": "$month", **{c: c for c in ds.columns}}


def _create_stage(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, table: str, file_type: str
) -> None:
    """A temp table of typed rows, with where each came from (its file, as ``file_type``,
    and its row in that file) and the first column that could not be cast."""
    cols = ", ".join(f"{c} {STORAGE_TYPES[t]}" for c, t in dataset.columns.items())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} ({cols}, _file {file_type}, _row BIGINT, "
        f"_cast_error VARCHAR)"
    )


def _finish_month(
    con: duckdb.DuckDBPyConnection,
    ds: Dataset,
    month: str,
    report: IngestReport,
    file_sql: str,
    file_params: dict[str, object],
) -> None:
    """Inside the month's transaction, once raw.<dataset> holds the month's accepted rows:
    count what happened, replace the month's quarantine (rejected rows, in file and row
    order; ``file_sql`` names a rejected row's file), fingerprint the month and log it."""
    # Every row read is one classified row or an exact copy collapsed into one of
    # _repeated_rows (the only rows with _copies > 1).
    report.exact_copies = fetch_value(
        con, "SELECT coalesce(sum(_copies) - count(*), 0) FROM _repeated_rows"
    )
    distinct_rows = report.rows_read - report.exact_copies
    counts = fetch_rows(con, "SELECT _reason, count(*) FROM _rejected GROUP BY ALL ORDER BY 1")
    earlier_copies = sum(n for r, n in counts if r == "earlier_copy")
    report.exact_copies += earlier_copies
    report.quarantined = {r: int(n) for r, n in counts if r != "earlier_copy"}
    report.rows_accepted = distinct_rows - earlier_copies - report.rows_quarantined

    record = "to_json(struct_pack(" + ", ".join(f"{c} := {c}" for c in ds.columns) + "))::VARCHAR"
    params = {"month": month, "dataset": ds.name}
    con.execute("DELETE FROM raw.quarantine WHERE dataset = $dataset AND month = $month", params)
    con.execute(
        "INSERT INTO raw.quarantine (dataset, month, source_file, reason, record, source_row) "
        f"SELECT $dataset, $month, {file_sql}, _reason, {record}, _src.r "
        "FROM _rejected WHERE _reason <> 'earlier_copy' ORDER BY _src",
        {**params, **file_params},
    )
    record_ingest(con, ds, month, report)
    crash_point("ingest:before_commit", month)


def dataset_fingerprint(con: duckdb.DuckDBPyConnection, dataset: Dataset, month: str) -> str:
    """A digest of a dataset's month as ingested (rows kept and quarantined).

    Order-independent (XOR of row hashes), and blind to file names, so the same rows in
    other files are the same input. It is also the Dagster data version of the ingest
    asset: an unchanged rerun leaves later months fresh, a restatement makes them stale.
    """
    row = ", ".join(dataset.columns)
    kept = fetch_rows(
        con,
        f"SELECT count(*), coalesce(bit_xor(hash(struct_pack({row}))), 0) "
        f"FROM raw.{dataset.name} WHERE month = $month",
        {"month": month},
    )[0]
    quarantined = fetch_rows(
        con,
        "SELECT count(*), coalesce(bit_xor(hash(reason, record)), 0) "
        "FROM raw.quarantine WHERE dataset = $dataset AND month = $month",
        {"dataset": dataset.name, "month": month},
    )[0]
    return hashlib.sha256(repr((dataset.name, kept, quarantined)).encode()).hexdigest()


def record_ingest(
    con: duckdb.DuckDBPyConnection, ds: Dataset, month: str, report: IngestReport
) -> None:
    """Inside the month's transaction, once raw.* and raw.quarantine hold the month:
    fingerprint it and log the ingest (raw.ingest_log), whichever engine read the rows."""
    report.fingerprint = dataset_fingerprint(con, ds, month)
    con.execute(
        load_sql("ingest/record_ingest.sql"),
        {
            "month": month,
            "dataset": ds.name,
            "files": len(report.files),
            "rows_read": report.rows_read,
            "exact_copies": report.exact_copies,
            "rows_accepted": report.rows_accepted,
            "rows_quarantined": report.rows_quarantined,
            "files_digest": report.files_digest,
            "rows_digest": report.fingerprint,
        },
    )
