"""Load one dataset's month folder into the warehouse (spec §1), set-based in DuckDB.

Each file is read on its own (CSV as text, Parquet as typed), its columns are found by
name in any order and cast to the contract's types. A value that cannot be cast stops
the month with an error naming the file, the column and the row. Rows that break a rule
of their own go to ``raw.quarantine`` with a reason; exact copies collapse into one.
The month is replaced whole, so a rerun with the same files changes nothing. Every
stored row names its file and its row there (``source_file``, ``source_row``).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb

from pipelines.datasets import STORAGE_TYPES, Dataset
from pipelines.faults import crash_point
from pipelines.months import grading_window, parse_month
from pipelines.sql_files import load_sql
from pipelines.warehouse import bound_params, fetch_rows, fetch_value, transaction

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".csv": "csv", ".parquet": "parquet"}
INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
# CSV is read with every setting given, nothing sniffed: DuckDB's sniffer may take '#'
# for a comment character and silently drop rows whose id starts with it, or guess a
# type that cuts a value. Columns are named by the header (read by _csv_header) and
# read as text; strict mode refuses ragged rows, bad quoting and mixed line endings.
CSV_OPTIONS = (
    "auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"', "
    "comment = '', strict_mode = true, null_padding = false, encoding = 'utf-8', "
    "hive_partitioning = false"
)
CSV_DIALECT = {"delimiter": ",", "quotechar": '"', "doublequote": True, "strict": True}
DECIMAL_TYPE = STORAGE_TYPES["decimal"]
DECIMAL_PRECISION, DECIMAL_SCALE = map(
    int, re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", DECIMAL_TYPE).groups()
)
# Staged rows looked up among the orders at once (see _order_id_ranges).
ORDER_LOOKUP_ROWS = int(os.environ.get("GRADING_ORDER_LOOKUP_ROWS", "10000000"))
# Strings some writers store as bytes without the UTF8 annotation are text (DuckDB would
# read them as BLOB, whose cast to text escapes every non-ASCII byte); bytes that are not
# UTF-8 stop the file.
PARQUET_READ = (
    "read_parquet($path, hive_partitioning = false, file_row_number = true, "
    "binary_as_string = true)"
)
# A number as written in plain or exponent notation, nothing else (no '_', no tab).
PLAIN_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
# DuckDB reads a Parquet DECIMAL wider than its own 38 digits as a DOUBLE (rounded).
MAX_DECIMAL_DIGITS = 38


@dataclass(frozen=True)
class Classified:
    """The query giving each distinct staged row its reason, and its parameters."""

    sql: str
    params: dict[str, object]


class IngestError(RuntimeError):
    """A landing file is unusable; the month stops. The message names file, column, row."""


@dataclass
class IngestReport:
    """What one dataset-month ingest did, for asset metadata and the run log."""

    dataset: str
    month: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    exact_copies: int = 0
    rows_accepted: int = 0
    files_digest: str = ""
    fingerprint: str = ""
    quarantined: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())


def month_folder(landing: Path, dataset: str, month: str) -> Path:
    return Path(landing) / dataset / f"month={month}"


def landing_files(landing: Path, dataset: str, month: str) -> list[Path]:
    """The month folder's data files, sorted; other files, and folders, are refused, not
    skipped: rows a writer put in a deeper folder (``day=02/``) would be lost in silence."""
    folder = month_folder(landing, dataset, month)
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")):
            continue  # hidden files and markers such as _SUCCESS or Spark's _temporary
        if path.is_dir():
            raise IngestError(
                f"{_relative(path, landing)}: a folder inside a month folder is not read "
                "(expected .csv or .parquet files directly in the month folder)"
            )
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise IngestError(
                f"{_relative(path, landing)}: unsupported file type "
                f"{path.suffix!r} (expected .csv or .parquet)"
            )
        files.append(path)
    return files


def files_digest(files: list[Path]) -> str:
    """Digest of a dataset-month's landing files (names and content), for the run key."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        stat = path.stat()
        digest.update(
            _content_digest(
                str(path.resolve()),
                (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns),
            )
        )
    return digest.hexdigest()


@lru_cache(maxsize=4096)
def _content_digest(path: str, identity: tuple[int, ...]) -> bytes:
    """A file's SHA-256, read once per process while the file is unchanged.

    A run hashes a month's files for its run key and again at ingest (1.3 GB at 10M
    orders); ``identity`` (inode, size, modification and change times) makes any
    rewrite of the file a new cache entry.
    """
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


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
    parse_month(month)
    landing = Path(landing)
    report = IngestReport(dataset.name, month)
    files = landing_files(landing, dataset.name, month)
    report.files_digest = files_digest(files)
    report.files = [_relative(path, landing) for path in files]
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
        typed = _typed_file(con, ds, path, rel, report)
        _read(
            con,
            typed,
            f"INSERT INTO _stage SELECT {typed.columns}, $file, _row, {typed.cast_error} "
            f"FROM {typed.rows}",
            {"file": file_no},
        )
        _raise_cast_error(con, ds, "_stage", file_no, typed)
    report.rows_read = fetch_value(con, "SELECT count(*) FROM _stage")
    classified = _classify(con, ds, month, "_stage")
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
            typed = _typed_file(con, ds, path, rel, report)
            _read(
                con,
                typed,
                f"INSERT INTO _odd SELECT {typed.columns}, $file, _row, {typed.cast_error} "
                f"FROM {typed.rows} WHERE {typed.cast_failed} OR {typed.key_missing}",
                {"file": rel},
            )
            _raise_cast_error(con, ds, "_odd", rel, typed)
            report.rows_read += _read(
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
    _classify(con, ds, month, "_month_rows")
    key_cols = ", ".join(ds.key)
    null_key = _null_key(ds)
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


def _relative(path: Path, landing: Path) -> str:
    try:
        return path.relative_to(landing).as_posix()
    except ValueError:
        return str(path)


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


@dataclass(frozen=True)
class TypedFile:
    """One landing file as the contract's typed columns: SQL over ``rows`` (its rows, each
    with its 1-based ``_row``), and the parameters that SQL uses."""

    rel: str
    kind: str  # csv or parquet
    path: Path
    rows: str
    columns: str  # "<expr> AS <column>, ..." in contract order
    cast_error: str  # the first column whose value cannot be cast, else NULL
    cast_failed: str  # true when some value cannot be cast
    key_missing: str  # true when a key column is empty
    source_columns: dict[str, str]  # contract column -> the SQL of the file's column
    params: dict[str, object]


@dataclass(frozen=True)
class SourceColumn:
    """A column of a landing file: its name as the file writes it, its SQL reference in
    the file's rows and its DuckDB type."""

    name: str
    ref: str
    type: str
    # The Parquet DECIMAL(p,s) DuckDB reads as a rounded DOUBLE (p > 38), else empty.
    wide_decimal: str = ""


def _typed_file(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    path: Path,
    rel: str,
    report: IngestReport,
) -> TypedFile:
    kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
    if path.stat().st_size == 0:
        raise IngestError(f"{rel}: empty file (0 bytes)")
    params = {"path": str(path)}
    if kind == "csv":
        reader, source = _csv_reader(path, rel)
        row_expr = "row_number() OVER ()"
    else:
        reader, source = PARQUET_READ, _parquet_columns(con, path, rel, params)
        row_expr = "file_row_number + 1"
    mapping = _match_columns(dataset, source, rel, report)
    _refuse_wide_decimals(mapping, rel)
    typed, errors, failures, missing = [], [], [], []
    for column, logical in dataset.columns.items():
        expr, failed = _cast_expr(mapping[column].ref, mapping[column].type, logical)
        typed.append(f"{expr} AS {column}")
        if failed != "FALSE":
            errors.append(f"CASE WHEN {failed} THEN '{column}' END")
            failures.append(failed)
        if column in dataset.key:
            missing.append(f"({expr}) IS NULL")
    # Only the columns the contract reads, then the row number: with ``*``, a column of
    # the file named ``_row`` would have been taken for it.
    read = ", ".join(dict.fromkeys(source.ref for source in mapping.values()))
    return TypedFile(
        rel=rel,
        kind=kind,
        path=path,
        rows=f"(SELECT {read}, {row_expr} AS _row FROM {reader})",
        columns=", ".join(typed),
        cast_error=f"coalesce({', '.join(errors)})" if errors else "CAST(NULL AS VARCHAR)",
        cast_failed=f"({' OR '.join(failures or ['FALSE'])})",
        key_missing=f"({' OR '.join(missing)})",
        source_columns={column: source.ref for column, source in mapping.items()},
        params=params,
    )


def _csv_reader(path: Path, rel: str) -> tuple[str, list[SourceColumn]]:
    """The read_csv call of a CSV file, with every setting explicit, and its columns.

    The columns are those of the header, each read as text under a positional name
    (c1, c2, ...), so no header spelling can break the SQL and DuckDB guesses nothing.
    """
    header = _csv_header(path, rel)
    source = [SourceColumn(name, f"c{i}", "VARCHAR") for i, name in enumerate(header, start=1)]
    columns = ", ".join(f"'{column.ref}': 'VARCHAR'" for column in source)
    return f"read_csv($path, {CSV_OPTIONS}, columns = {{{columns}}})", source


def _csv_header(path: Path, rel: str) -> list[str]:
    """The header record of a CSV file, parsed with the dialect DuckDB reads the rows
    with (a UTF-8 byte-order mark is dropped). Only the first record is decoded: bad
    bytes further down are DuckDB's to report, with their line."""
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            records = csv.reader(handle, **CSV_DIALECT)
            header = next(records, [])
            # A blank first line: rows after it make the file unreadable, not empty.
            holds_records = bool(header) or any(records)
    except csv.Error as exc:
        raise IngestError(f"{rel}: cannot be read as csv, line 1: header: {exc}") from exc
    except OSError as exc:
        raise IngestError(f"{rel}: cannot be read as csv: {exc}") from exc
    if not holds_records:
        raise IngestError(f"{rel}: empty file (no header line)")
    if not header:
        raise IngestError(
            f"{rel}: cannot be read as csv, line 1: the line is blank; the header must be "
            "the first line"
        )
    if any("\ufffd" in name for name in header):
        raise IngestError(f"{rel}: cannot be read as csv, line 1: header is not UTF-8")
    return header


def _parquet_columns(
    con: duckdb.DuckDBPyConnection, path: Path, rel: str, params: dict[str, object]
) -> list[SourceColumn]:
    """A Parquet file's columns with their types (the row number DuckDB adds left out)."""
    try:
        described = fetch_rows(con, f"DESCRIBE SELECT * FROM {PARQUET_READ}", params)
    except duckdb.Error as exc:
        raise _read_error(rel, "parquet", path, exc) from exc
    try:
        wide = dict(
            fetch_rows(
                con,
                "SELECT name, printf('DECIMAL(%d,%d)', precision, scale) "
                "FROM parquet_schema($path) WHERE precision > $digits "
                "AND (converted_type = 'DECIMAL' OR logical_type LIKE 'DecimalType%')",
                {**params, "digits": MAX_DECIMAL_DIGITS},
            )
        )
    except duckdb.Error as exc:
        raise _read_error(rel, "parquet", path, exc) from exc
    return [
        SourceColumn(name, _quote(name), type_, wide.get(name, "") if type_ == "DOUBLE" else "")
        for name, type_, *_ in described
        if name != "file_row_number"
    ]


def _refuse_wide_decimals(mapping: dict[str, SourceColumn], rel: str) -> None:
    """Stop the month at a column the contract reads from a Parquet DECIMAL of more than
    38 digits: DuckDB reads it as a DOUBLE, already rounded (4.9999999999999999999999999
    arrives as 5.0), so its exact value cannot be known."""
    for column, source in mapping.items():
        if source.wide_decimal:
            raise IngestError(
                f"{rel}: column '{column}' is a Parquet {source.wide_decimal}, wider than "
                f"the {MAX_DECIMAL_DIGITS} digits DuckDB reads exactly (it would read a "
                "rounded float); write it as DECIMAL(38,18) or narrower, or as text"
            )


def _read(
    con: duckdb.DuckDBPyConnection, typed: TypedFile, sql: str, params: dict[str, object]
) -> int:
    """Run a statement reading the file; a file DuckDB cannot read stops the month with
    its name. Returns the number of rows the statement wrote."""
    try:
        return fetch_value(con, sql, {**typed.params, **params})
    except duckdb.Error as exc:
        raise _read_error(typed.rel, typed.kind, typed.path, exc) from exc


def _read_error(rel: str, kind: str, path: Path, exc: duckdb.Error) -> IngestError:
    """The error of a file DuckDB cannot read: its name, the line where DuckDB says or,
    for a CSV whose line endings change (DuckDB does not say where), where they first
    change, and DuckDB's whole reason (which names the problem and the settings used)."""
    reason = str(exc).strip() or type(exc).__name__
    line: int | None = None
    if kind == "csv":
        said = re.search(r"CSV Error on Line: (\d+)", reason)
        line = int(said[1]) if said else _line_ending_change(path)
    where = f", line {line}" if line is not None else ""
    return IngestError(f"{rel}: cannot be read as {kind}{where}: {reason}")


_LINE_BREAK_OR_QUOTE = re.compile(rb'"|\r\n|\r|\n')


def _line_ending_change(path: Path) -> int | None:
    """The first line (1-based) ending otherwise than the first line does, outside quoted
    values; None when the endings agree. Only called once a read has failed: it reads the
    file again, a megabyte at a time, and looks closely only at chunks that hold quotes
    or a different ending."""
    first: bytes | None = None
    line, quoted, carry = 1, False, b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            data = carry + chunk
            carry = b""
            if chunk and data.endswith(b"\r"):  # may be the first half of \r\n
                data, carry = data[:-1], b"\r"
            if not data:
                return None
            if first is not None and not quoted and _same_endings(data, first):
                line += data.count(first[-1:])
                continue
            for match in _LINE_BREAK_OR_QUOTE.finditer(data):
                token = match.group()
                if token == b'"':
                    quoted = not quoted
                elif not quoted and first is not None and token != first:
                    return line
                else:
                    first = first or (None if quoted else token)
                    line += 1


def _same_endings(data: bytes, ending: bytes) -> bool:
    """True when ``data`` holds no quote and every line break in it is ``ending``."""
    if b'"' in data:
        return False
    crlf = data.count(b"\r\n")
    breaks = {b"\r\n": crlf, b"\r": data.count(b"\r") - crlf, b"\n": data.count(b"\n") - crlf}
    return all(count == 0 for kind, count in breaks.items() if kind != ending)


def _raise_cast_error(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, table: str, file: object, typed: TypedFile
) -> None:
    """Stop the month at the file's first value that cannot be cast, naming file, column
    and row, and showing the value as the file holds it."""
    bad = fetch_rows(
        con,
        f"SELECT _cast_error, _row FROM {table} WHERE _file = $file "
        "AND _cast_error IS NOT NULL ORDER BY _row LIMIT 1",
        {"file": file},
    )
    if bad:
        column, row = bad[0]
        shown = fetch_value(
            con,
            f"SELECT CAST({typed.source_columns[column]} AS VARCHAR) "
            f"FROM {typed.rows} WHERE _row = $row",
            {**typed.params, "row": row},
        )
        raise IngestError(
            f"{typed.rel}: column '{column}', row {row}: value {shown!r} cannot be "
            f"read as {dataset.columns[column]}"
        )


def _match_columns(
    dataset: Dataset, source: list[SourceColumn], rel: str, report: IngestReport
) -> dict[str, SourceColumn]:
    """Contract column -> the file's column of that name: the one spelled exactly so,
    else the one equal to it ignoring case and surrounding spaces. A name the file
    writes twice is ambiguous and stops the month rather than one copy being picked."""
    mapping = {}
    found = ", ".join(c.name for c in source) or "no columns"
    for column in dataset.columns:
        matches = [c for c in source if c.name.strip().lower() == column]
        exact = [c for c in matches if c.name == column]
        if len(exact) == 1 or len(matches) == 1:
            mapping[column] = (exact or matches)[0]
        elif not matches:
            raise IngestError(
                f"{rel}: required column '{column}' is missing (found: {found})"
                + _other_delimiter_hint(source)
            )
        else:
            raise IngestError(
                f"{rel}: required column '{column}' appears {len(matches)} times (found: {found})"
            )
    used = set(mapping.values())
    extra = sorted(c.name for c in source if c not in used)
    if extra:
        report.warnings.append(f"{rel}: extra columns ignored: {', '.join(extra)}")
    return mapping


# Delimiters a CSV export may use instead of a comma, as a message names them.
OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}


def _other_delimiter_hint(source: list[SourceColumn]) -> str:
    """Why a header reads as one column, when it does: the file is delimited otherwise
    (CSV is read comma-separated only, never sniffed)."""
    if len(source) != 1:
        return ""
    for delimiter, named in OTHER_DELIMITERS.items():
        if delimiter in source[0].name:
            return f"; the header looks delimited by {named}, not by commas"
    return ""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _cast_expr(col: str, source_type: str, logical: str) -> tuple[str, str]:
    """SQL turning a source column into the contract type, and the cast-failure predicate
    (``FALSE`` when the cast cannot fail).

    One rule for CSV text and Parquet alike: surrounding spaces are not part of a value
    (text is trimmed, as typed values are), a blank value is a missing value, not a cast
    failure, an integer is a whole number (4, 4.0; 4.5 is refused, never rounded), and a
    decimal is stored only when exact (see _exact_decimal).
    """
    source_type = source_type.upper()
    is_text = source_type == "VARCHAR"
    text = f"trim(CAST({col} AS VARCHAR))"
    if logical == "str":
        if is_text:
            return _trimmed_text(col), "FALSE"
        expr = f"CAST({col} AS VARCHAR)"
    elif logical == "int":
        if source_type in INTEGER_TYPES:
            expr = f"CAST({col} AS BIGINT)"
        elif source_type.startswith(("DECIMAL", "DOUBLE", "FLOAT")):
            expr = f"CASE WHEN {col} = trunc({col}) THEN TRY_CAST({col} AS BIGINT) END"
        else:  # a whole number, its fraction (if written) all zeros, as a DOUBLE 4.0 is
            expr = (
                f"CASE WHEN regexp_full_match({text}, '[+-]?[0-9]+(\\.0*)?') "
                f"THEN TRY_CAST({text} AS BIGINT) END"
            )
    elif logical == "decimal":
        if source_type in INTEGER_TYPES or _decimal_fits(source_type):
            expr = f"TRY_CAST({col} AS {DECIMAL_TYPE})"
        else:  # text, and floats and decimals finer than the storage scale, as written
            expr = _exact_decimal(col if is_text else f"CAST({col} AS VARCHAR)")
    elif logical == "bool":
        expr = col if source_type == "BOOLEAN" else _text_boolean(text)
    elif logical == "timestamp":
        # An instant with a zone becomes naive UTC through its epoch microseconds, which
        # is exact and skips the calendar work of a cast to TIMESTAMP (5x cheaper).
        if source_type == "TIMESTAMP":
            expr = col
        elif source_type.startswith("TIMESTAMP"):
            expr = _microsecond_timestamp(col, source_type)
        elif source_type == "DATE":
            expr = f"CAST({col} AS TIMESTAMP)"
        else:
            expr = f"make_timestamp(epoch_us(TRY_CAST({text} AS TIMESTAMPTZ)))"
    elif logical == "date":
        if source_type == "DATE":
            expr = col
        elif source_type.startswith("TIMESTAMP"):
            expr = f"CAST({_microsecond_timestamp(col, source_type)} AS DATE)"
        else:
            expr = _text_date(text)
    else:  # pragma: no cover - the dataset table only uses the types above
        raise ValueError(f"unknown logical type {logical}")
    if not is_text and _cast_cannot_fail(source_type, logical):
        return expr, "FALSE"
    failed = f"({col} IS NOT NULL AND ({expr}) IS NULL"
    failed += f" AND {text} <> '')" if is_text else ")"
    return expr, failed


def _microsecond_timestamp(col: str, source_type: str) -> str:
    """SQL: a typed timestamp as naive UTC microseconds, the finer digits cut off as the
    text cast cuts them. DuckDB's cast of a nanosecond timestamp rounds instead: the
    last nanosecond of January became February's first instant (``wrong_month``)."""
    if source_type.endswith("_NS"):  # TIMESTAMP_NS, TIMESTAMPTZ_NS
        return f"make_timestamp(epoch_us(CAST({col} AS TIMESTAMP_NS)))"
    if source_type == "TIMESTAMP WITH TIME ZONE":
        # Through its epoch microseconds: exact, and 5x cheaper than a cast's calendar work.
        return f"make_timestamp(epoch_us({col}))"
    return f"CAST({col} AS TIMESTAMP)"  # TIMESTAMP_S, TIMESTAMP_MS: exact


def _text_date(text: str) -> str:
    """SQL: the day a text date names. A date alone is that day; a date with a time and
    an offset is an instant, and its day is the UTC day (as a Parquet TIMESTAMPTZ's is):
    DuckDB's date cast would drop the offset and keep the local day."""
    return (
        f"CASE WHEN strlen({text}) <= 10 THEN TRY_CAST({text} AS DATE) "
        f"ELSE CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS DATE) END"
    )


def _trimmed_text(col: str) -> str:
    """SQL: a text value without surrounding spaces, NULL when blank.

    Spaces around an id are an artefact of how a file was written (`` M123 `` is
    merchant M123), so they go before keys, copies and lookups see the value. The
    common value, with no space at either end, skips trim (LIKE on a fixed prefix or
    suffix is the cheapest test: 3M values 0.13 s, against 0.33 s for trimming all).
    """
    return (
        f"CASE WHEN {col} LIKE ' %' OR {col} LIKE '% ' OR {col} = '' "
        f"THEN nullif(trim({col}), '') ELSE {col} END"
    )


def _decimal_fits(source_type: str) -> bool:
    """True for a DECIMAL type whose every value the storage decimal holds exactly."""
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", source_type)
    if not decimal:
        return False
    precision, scale = int(decimal[1]), int(decimal[2])
    return scale <= DECIMAL_SCALE and precision - scale <= DECIMAL_PRECISION - DECIMAL_SCALE


def _exact_decimal(value: str) -> str:
    """SQL: the number the text ``value`` writes as the storage decimal, NULL (a cast
    error) when it is not a number or has a non-zero digit past the storage scale.

    DuckDB's cast rounds such a digit away (4.99999999999 becomes 5.0000000000, which
    then earns credit under the $5 rule), so an amount the warehouse cannot hold exactly
    is refused, never rounded. A DOUBLE or FLOAT is read as the shortest decimal that
    is that same float (DuckDB's text of it: 4.99, not 4.9900000000000002131...), a
    DECIMAL as its exact digits. Nearly every value is short, without exponent, and
    goes straight to the cast (which ignores surrounding spaces); the others are
    measured, trimmed: the significant decimals, less any exponent, must fit the scale.
    """
    scale = DECIMAL_SCALE
    point = f"instr({value}, '.')"
    short = (
        f"NOT contains({value}, 'e') AND NOT contains({value}, 'E') AND (strlen({value}) "
        f"<= {scale + 1} OR {point} = 0 OR strlen({value}) - {point} <= {scale})"
    )
    text = f"trim({value})"
    decimals = f"length(regexp_extract({text}, '\\.([0-9]*?)0*([eE]|$)', 1))"
    exponent = f"coalesce(TRY_CAST(regexp_extract({text}, '[eE]([+-]?[0-9]+)$', 1) AS INTEGER), 0)"
    # Measured only when written plainly: DuckDB's cast also skips tabs and line breaks
    # around a number and reads '_' between digits, which the measure would miss, and
    # then it rounds (4.9999999999999999999 + tab became 5).
    plain = f"regexp_full_match({text}, '{PLAIN_NUMBER}')"
    return (
        f"CASE WHEN {short} THEN TRY_CAST({value} AS {DECIMAL_TYPE}) "
        f"WHEN {plain} AND {decimals} - {exponent} <= {scale} "
        f"THEN TRY_CAST({text} AS {DECIMAL_TYPE}) END"
    )


def _cast_cannot_fail(source_type: str, logical: str) -> bool:
    """Typed sources whose every value converts (or whose conversion raises, as an integer
    overflow does, stopping the file): such a column needs no per-row failure test, and
    a Parquet file of them needs no pass over its values before it is stored."""
    return {
        "str": True,
        "int": source_type in INTEGER_TYPES,
        "decimal": _decimal_fits(source_type)
        or source_type in INTEGER_TYPES - {"HUGEINT", "UHUGEINT"},
        "bool": source_type == "BOOLEAN",
        "timestamp": source_type.startswith("TIMESTAMP") or source_type == "DATE",
        "date": source_type.startswith("TIMESTAMP") or source_type == "DATE",
    }.get(logical, False)


def _text_boolean(text: str) -> str:
    """Text booleans, in CSV and in Parquet string columns alike: true/false in any case,
    1/0 (spec §1); anything else is a cast error."""
    return (
        f"CASE WHEN lower({text}) IN ('true', '1') THEN TRUE "
        f"WHEN lower({text}) IN ('false', '0') THEN FALSE END"
    )


def _classify(con: duckdb.DuckDBPyConnection, ds: Dataset, month: str, stage: str) -> Classified:
    """Collapse exact copies, then give each distinct row of ``stage`` its quarantine
    reason (or none): the first that applies in the order of spec §1, the key last, so
    keys are compared only among rows that pass every other rule.

    Returns the query of all classified rows, and leaves temp tables ``_repeated`` (the
    keys that repeat in the month) and ``_rejected`` (every rejected row). When it looks
    orders up, the classification is stored once (``_classified``); otherwise only the
    rows of repeated keys and without a key are (``_repeated_classified``), and the
    rest, nearly the whole month, is classified as it streams.

    Sized for 100 million rows: only rows whose key repeats in the month (usually a
    handful) can be exact copies or in-month duplicates, so only they are grouped on all
    columns; every other row is classified in one streaming pass. Earlier months' rows
    are found by a semi join on this month's keys, and the orders an event refers to by
    a join whose hash table holds this month's rows (a range of them, for a large month):
    history is streamed past either, so memory stays bounded as history grows, and
    DuckDB skips history row groups whose key range cannot match.
    """
    cols = list(ds.columns)
    col_list = ", ".join(cols)
    key_using = ", ".join(ds.key)
    null_key = _null_key(ds)
    row_reason = _row_reason_sql(ds, null_key)
    window = grading_window(month, 1)
    params = {"month": month, "month_start": window.month_start, "cutoff": window.cutoff}

    def run(sql: str) -> None:
        con.execute(sql, bound_params(sql, params))

    # Keys whose hash repeats first (sorting 64-bit hashes and comparing neighbours is
    # about twice as fast as grouping them, and much cheaper than grouping strings),
    # then the keys among those that really repeat: exact.
    key_hash = f"hash({key_using})"
    run(
        f"CREATE OR REPLACE TEMP TABLE _repeated AS SELECT {key_using} FROM {stage} "
        f"WHERE NOT ({null_key}) AND {key_hash} IN (SELECT key_hash FROM ("
        f"SELECT key_hash, key_hash = lag(key_hash) OVER (ORDER BY key_hash) AS again "
        f"FROM (SELECT {key_hash} AS key_hash FROM {stage} WHERE NOT ({null_key}))) "
        f"WHERE again) GROUP BY ALL HAVING count(*) > 1"
    )
    run(
        f"""
        CREATE OR REPLACE TEMP TABLE _repeated_rows AS
        -- The first copy in file order: _file is the file's number in the sorted list,
        -- or its name (the same order: names in one folder, sorted).
        SELECT {col_list}, min(struct_pack(f := _file, r := _row)) AS _src,
               count(*) AS _copies, TRUE AS _rep
        FROM (
            SELECT * FROM {stage} SEMI JOIN _repeated USING ({key_using})
            UNION ALL
            SELECT * FROM {stage} WHERE {null_key}
        )
        GROUP BY {col_list}
        """
    )
    # A key held by two distinct rows that pass every other rule is a duplicate key. The
    # candidates: keys held by two distinct rows that pass their own rules (a few, found
    # among the repeated rows); once the merchant and order rules have been applied too,
    # _mark_duplicate_keys keeps those still held by two.
    run(
        f"CREATE OR REPLACE TEMP TABLE _duplicate_keys AS SELECT {key_using} "
        f"FROM _repeated_rows WHERE (CASE {row_reason} END) IS NULL "
        f"GROUP BY ALL HAVING count(*) > 1"
    )

    # The month's key range as a constant: history rows outside it cannot match, and
    # DuckDB skips their row groups by their statistics (ids that grow over time skip
    # nearly all history) instead of joining them.
    ranges = ", ".join(f"{k}: {{lo: min({k}), hi: max({k})}}" for k in ds.key)
    run(f"SET VARIABLE _month_key_range = (SELECT {{{ranges}}} FROM {stage})")

    def in_range(key: str) -> str:
        bound = f"getvariable('_month_key_range').{key}"
        return f"{key} BETWEEN {bound}.lo AND {bound}.hi"

    joins = []
    # The reasons in the order of spec §1: the row's own, its merchant's, its order's,
    # then its key's, so that keys are compared only among rows passing every other rule.
    reference_reasons: list[str] = []
    key_reasons: list[str] = []
    if ds.key_unique_across_months:
        differ = " OR ".join(f"b.{c} IS DISTINCT FROM e.{c}" for c in cols)
        # Earlier rows with this month's keys, found first on their own (a semi join
        # whose hash table holds keys only), so the final pass joins a small table. When
        # no earlier row lies in the month's key range (orders, whose ids grow), the join
        # is skipped: DuckDB would still build its hash table on the month's keys.
        earlier = f"month < $month AND {' AND '.join(in_range(k) for k in ds.key)}"
        any_earlier = f"SELECT EXISTS (SELECT 1 FROM raw.{ds.name} WHERE {earlier})"
        if not fetch_value(con, any_earlier, {"month": month}):
            earlier = "FALSE"

        def find_earlier(rows: str = "TRUE") -> None:
            """Earlier rows with the keys of the staged ``rows``: their keys first, reading
            only the key columns of history (10M feedback: 1.6 s -> 0.9 s), then the
            whole rows of those few keys (none, usually: DuckDB then reads nothing)."""
            run(
                f"CREATE OR REPLACE TEMP TABLE _earlier_keys AS SELECT {key_using} "
                f"FROM raw.{ds.name} SEMI JOIN (SELECT {key_using} FROM {stage} WHERE {rows}) "
                f"USING ({key_using}) WHERE {earlier} AND {rows}"
            )
            run(
                f"CREATE OR REPLACE TEMP TABLE _earlier AS SELECT {col_list}, TRUE AS _seen "
                f"FROM raw.{ds.name} SEMI JOIN _earlier_keys USING ({key_using}) "
                f"WHERE {earlier} AND {rows}"
            )

        if not ds.checks_order:  # else found for each range of order ids, below
            find_earlier()
        joins.append(f"LEFT JOIN _earlier e USING ({key_using})")
        key_reasons.append(f"WHEN e._seen AND ({differ}) THEN 'duplicate_key'")
        key_reasons.append("WHEN e._seen THEN 'earlier_copy'")
    if ds.checks_merchant:
        joins.append(
            "LEFT JOIN (SELECT DISTINCT merchant_id, TRUE AS _known FROM raw.merchants "
            "WHERE month <= $month) m ON m.merchant_id = b.merchant_id"
        )
        reference_reasons.append("WHEN m._known IS NULL THEN 'unknown_merchant'")
    extras = ""
    if ds.checks_order:
        # The join reads only the order columns this dataset checks or copies.
        order_cols = ["order_id", "merchant_id"]
        reference_reasons.append(
            "WHEN o.order_id IS NULL OR o.merchant_id <> b.merchant_id THEN 'unknown_order'"
        )
        if ds.requires_completed_order:
            order_cols.append("status")
            reference_reasons.append("WHEN o.status <> 'completed' THEN 'order_not_completed'")
        order_cols.extend(ds.copied_from_order.values())
        extras = "".join(f", o.{src} AS _{dst}" for dst, src in ds.copied_from_order.items())

    reasons = " ".join(
        ["WHEN b._row_reason IS NOT NULL THEN b._row_reason", *reference_reasons, *key_reasons]
    )

    def classified(collapsed: str, order_join: str = "") -> str:
        """The classification of ``collapsed``, but for keys repeated in the month: those
        need every row's other reasons first (``_mark_duplicate_keys``)."""
        return f"""
            WITH collapsed AS ({collapsed}),
            base AS (SELECT *, CASE {row_reason} END AS _row_reason FROM collapsed)
            SELECT b.*, CASE {reasons} END AS _reason{extras}
            FROM base b {" ".join(joins)} {order_join}
            """

    others = (
        f"SELECT {col_list}, struct_pack(f := _file, r := _row) AS _src, "
        f"CAST(1 AS BIGINT) AS _copies, FALSE AS _rep FROM {stage} "
        f"ANTI JOIN _repeated USING ({key_using}) WHERE NOT ({null_key})"
    )
    if ds.checks_order:
        # Each row's order is looked up by a left join on the order history, classified
        # and kept, in ranges of order ids when the month is too large for the join to fit
        # in memory. DuckDB builds the join's hash table on the month's rows and streams
        # the orders of the range past it (one join: 10M orders, feedback ingest 17 s ->
        # 13 s, against a semi join finding the orders first, then a join to those). The
        # side it builds on comes from its estimates: the plans at 10M and 100M put the
        # orders on the probe side; were they built, a range's orders would spill.
        for index, (lo, hi) in enumerate(_order_id_ranges(con, stage)):
            params.update(range_lo=lo, range_hi=hi)
            in_range_sql = _order_id_in_range(lo, hi)
            if ds.key_unique_across_months:
                find_earlier(in_range_sql)
            order_join = (
                f"LEFT JOIN (SELECT {', '.join(order_cols)} FROM raw.orders "
                f"WHERE month <= $month AND {in_range_sql}) o ON o.order_id = b.order_id"
            )
            rows_in_range = (
                f"{others} AND {in_range_sql} UNION ALL FROM _repeated_rows "
                f"WHERE {_order_id_in_range(lo, hi, with_null=True)}"
            )
            into = "INSERT INTO _classified " if index else "CREATE TEMP TABLE _classified AS "
            run(into + classified(rows_in_range, order_join=order_join))
        _mark_duplicate_keys(con, ds, "_classified")
        result = Classified("FROM _classified", {})
    else:
        # The repeated rows are kept on their own: the direct path puts their accepted
        # copies back after deleting every row of their keys.
        run(
            "CREATE OR REPLACE TEMP TABLE _repeated_classified AS "
            + classified("FROM _repeated_rows")
        )
        _mark_duplicate_keys(con, ds, "_repeated_classified")
        sql = f"{classified(others)} UNION ALL FROM _repeated_classified"
        result = Classified(sql, bound_params(sql, params))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _rejected AS FROM ({result.sql}) WHERE _reason IS NOT NULL",
        result.params,
    )
    return result


def _mark_duplicate_keys(con: duckdb.DuckDBPyConnection, ds: Dataset, classified: str) -> None:
    """Quarantine as ``duplicate_key`` every row of a key that two distinct rows passing
    every other rule hold in the month (spec §1).

    Keys are compared only once the other reasons are known: a copy quarantined for its
    merchant or its order leaves its twin valid. Only the rows of candidate keys
    (``_duplicate_keys``, usually none) are looked at: the ``_rep`` rows of ``classified``
    (the repeated keys), whose reason is none or one of the key's own, which a duplicate
    in the month overrides (all copies go, the earlier month's row stands either way).
    """
    if not fetch_value(con, "SELECT EXISTS (FROM _duplicate_keys)"):
        return
    key_using = ", ".join(ds.key)
    same_key = " AND ".join(f"t.{k} = d.{k}" for k in ds.key)
    valid = "(_reason IS NULL OR _reason IN ('duplicate_key', 'earlier_copy'))"
    con.execute(
        f"""
        UPDATE {classified} AS t SET _reason = 'duplicate_key'
        FROM (
            SELECT {key_using} FROM {classified} SEMI JOIN _duplicate_keys USING ({key_using})
            WHERE _rep AND {valid}
            GROUP BY ALL HAVING count(*) > 1
        ) AS d
        WHERE t._rep AND {same_key} AND (t._reason IS NULL OR t._reason = 'earlier_copy')
        """
    )


def _order_id_ranges(
    con: duckdb.DuckDBPyConnection, stage: str
) -> list[tuple[str | None, str | None]]:
    """Consecutive ranges of the staged order ids, each of about ORDER_LOOKUP_ROWS rows
    (one open range when the stage is smaller).

    At 100M orders a month holds ~55M feedback rows: looked up and classified at once,
    their joins' hash tables outgrow DuckDB's memory limit and spill. In ranges, each
    join fits, and the order history is read once in all: DuckDB skips every row group
    of raw.orders whose ids lie outside a range by their min/max, and ids that grow over
    time keep each range to a few row groups. The bounds come from a sample of the ids;
    any bounds give the same result, since every row of a key lands in one range.
    """
    rows = fetch_value(con, f"SELECT count(*) FROM {stage}")
    ranges = -(-rows // ORDER_LOOKUP_ROWS)
    if ranges <= 1:
        return [(None, None)]
    bounds = fetch_value(
        con,
        "SELECT list(DISTINCT bound ORDER BY bound) FROM (SELECT unnest(quantile_disc("
        f"order_id, $quantiles)) AS bound FROM (SELECT order_id FROM {stage} "
        "WHERE order_id IS NOT NULL USING SAMPLE reservoir(100000 ROWS) REPEATABLE (1)))",
        {"quantiles": [k / ranges for k in range(1, ranges)]},
    )
    return list(itertools.pairwise([None, *(bounds or []), None]))


def _order_id_in_range(lo: str | None, hi: str | None, with_null: bool = False) -> str:
    """SQL: the order id lies in [$range_lo, $range_hi) (an absent bound is open). Rows
    without an order id belong to the first range, when asked for."""
    bounds = [
        sql
        for sql, bound in (("order_id >= $range_lo", lo), ("order_id < $range_hi", hi))
        if bound is not None
    ]
    sql = " AND ".join(bounds) or "TRUE"
    return f"(order_id IS NULL OR {sql})" if with_null and lo is None and bounds else sql


def _null_key(ds: Dataset) -> str:
    """SQL: true when a row's key is incomplete (a stored row never is)."""
    return " OR ".join(f"{k} IS NULL" for k in ds.key)


def _row_reason_sql(ds: Dataset, null_key: str) -> str:
    """CASE branches giving a row's own reason: null_key, bad_value, wrong_month."""
    bad_value = [f"{c} IS NULL" for c in ds.columns if c not in ds.key]
    for column, allowed in ds.enums.items():
        values = ", ".join("'" + v + "'" for v in allowed)
        bad_value.append(f"{column} NOT IN ({values})")
    bad_value.extend(f"({p})" for p in ds.bad_value_sql)
    branches = [
        f"WHEN {null_key} THEN 'null_key'",
        f"WHEN {' OR '.join(bad_value)} THEN 'bad_value'",
    ]
    if ds.month_column:
        branches.append(
            f"WHEN NOT ({ds.month_column} >= $month_start AND "
            f"{ds.month_column} < $cutoff) THEN 'wrong_month'"
        )
    return " ".join(branches)


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
    report.fingerprint = dataset_fingerprint(con, ds, month)
    con.execute(
        load_sql("ingest/record_ingest.sql"),
        {
            **params,
            "files": len(report.files),
            "rows_read": report.rows_read,
            "exact_copies": report.exact_copies,
            "rows_accepted": report.rows_accepted,
            "rows_quarantined": report.rows_quarantined,
            "files_digest": report.files_digest,
            "rows_digest": report.fingerprint,
        },
    )
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
