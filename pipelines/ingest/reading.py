"""Read one landing file as the contract's typed columns, CSV or Parquet.

CSV is read with every setting given, nothing sniffed; columns are found by name in
any order. Errors name the file, the line or row, and the column.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.datasets import Dataset
from pipelines.ingest.casting import cast_expr, quote_identifier
from pipelines.ingest.report import IngestReport
from pipelines.landing import SUPPORTED_SUFFIXES, IngestError
from pipelines.warehouse import fetch_rows, fetch_value

# The longest CSV line read, in bytes (a record with its quoted line breaks). DuckDB's
# default, 2,000,000, refused a valid file holding one 2.5 MB value (found by an audit,
# 2026-12-05). The spec sets no limit, but a reader needs one: its buffers grow with it
# (a 300 MB CSV read in 380 MB instead of 194 MB). A longer line stops the month naming
# file and line.
CSV_MAX_LINE_BYTES = 16 * 1024 * 1024
# CSV is read with every setting given, nothing sniffed: DuckDB's sniffer may take '#'
# for a comment character and silently drop rows whose id starts with it, or guess a
# type that cuts a value. Columns are named by the header (read by csv_header) and
# read as text; strict mode refuses ragged rows, bad quoting and mixed line endings.
CSV_OPTIONS = (
    "auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"', "
    "comment = '', strict_mode = true, null_padding = false, encoding = 'utf-8', "
    f"hive_partitioning = false, max_line_size = {CSV_MAX_LINE_BYTES}"
)
CSV_DIALECT = {"delimiter": ",", "quotechar": '"', "doublequote": True, "strict": True}
# Strings some writers store as bytes without the UTF8 annotation are text (DuckDB would
# read them as BLOB, whose cast to text escapes every non-ASCII byte); bytes that are not
# UTF-8 stop the file.
PARQUET_READ = (
    "read_parquet($path, hive_partitioning = false, file_row_number = true, "
    "binary_as_string = true)"
)
# A file with a column of its own named file_row_number (in any case) cannot be read
# with DuckDB's row number next to it (a binder error), and the column hides DuckDB's
# virtual one; such a file's rows are numbered in the order they are read, as a CSV's.
PARQUET_READ_NUMBERED_BY_ORDER = (
    "read_parquet($path, hive_partitioning = false, binary_as_string = true)"
)
ROW_NUMBER_COLUMN = "file_row_number"
# DuckDB reads a Parquet DECIMAL wider than its own 38 digits as a DOUBLE (rounded).
MAX_DECIMAL_DIGITS = 38


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


def typed_file(
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
        reader, source, row_expr = _parquet_reader(con, path, rel, params)
    mapping = match_columns(dataset, source, rel, report)
    _refuse_wide_decimals(mapping, rel)
    refuse_nested_types(mapping, rel)
    typed, errors, failures, missing = [], [], [], []
    for column, logical in dataset.columns.items():
        expr, failed = cast_expr(mapping[column].ref, mapping[column].type, logical)
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
    header = csv_header(path, rel)
    source = [SourceColumn(name, f"c{i}", "VARCHAR") for i, name in enumerate(header, start=1)]
    columns = ", ".join(f"'{column.ref}': 'VARCHAR'" for column in source)
    return f"read_csv($path, {CSV_OPTIONS}, columns = {{{columns}}})", source


def csv_header(path: Path, rel: str) -> list[str]:
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


def _parquet_reader(
    con: duckdb.DuckDBPyConnection, path: Path, rel: str, params: dict[str, object]
) -> tuple[str, list[SourceColumn], str]:
    """A Parquet file's read_parquet call, its columns and its 1-based row number SQL.

    Columns are named as the file writes them (``parquet_schema``), not as DuckDB
    renames a repeated name (``stars``, ``stars_1``), so that a name written twice is
    seen as such by match_columns."""
    top_level = _parquet_top_level(con, path, rel, params)
    if any(name.lower() == ROW_NUMBER_COLUMN for name, _ in top_level):
        reader, row_expr = PARQUET_READ_NUMBERED_BY_ORDER, "row_number() OVER ()"
    else:
        reader, row_expr = PARQUET_READ, f"{ROW_NUMBER_COLUMN} + 1"
    return reader, _parquet_columns(con, reader, top_level, path, rel, params), row_expr


def _parquet_top_level(
    con: duckdb.DuckDBPyConnection, path: Path, rel: str, params: dict[str, object]
) -> list[tuple[str, str]]:
    """A Parquet file's top-level columns, in order: each name as written, and its
    ``DECIMAL(p,s)`` when it is a decimal wider than DuckDB reads exactly (else "").

    ``parquet_schema`` lists the schema's elements depth first: the root, then each
    column followed by the elements nested in it (a list's or struct's children), so a
    column's subtree is skipped by its ``num_children``, and a nested field never
    answers for a top-level column of its name. The walk is over the schema's few
    elements, not over rows."""
    with _read_errors(rel, "parquet", path):
        elements = fetch_rows(
            con,
            "SELECT name, num_children, CASE WHEN precision > $digits AND (converted_type = "
            "'DECIMAL' OR logical_type LIKE 'DecimalType%') THEN printf('DECIMAL(%d,%d)', "
            "precision, scale) ELSE '' END FROM parquet_schema($path)",
            {**params, "digits": MAX_DECIMAL_DIGITS},
        )
    columns, index = [], 1
    for _ in range((elements[0][1] or 0) if elements else 0):
        columns.append((elements[index][0], elements[index][2]))
        index = _after_subtree(elements, index)
    return columns


def _after_subtree(elements: list[tuple], index: int) -> int:
    """The index of the schema element after the one at ``index`` and its descendants."""
    pending = 1
    while pending:
        pending += (elements[index][1] or 0) - 1
        index += 1
    return index


def _parquet_columns(
    con: duckdb.DuckDBPyConnection,
    reader: str,
    top_level: list[tuple[str, str]],
    path: Path,
    rel: str,
    params: dict[str, object],
) -> list[SourceColumn]:
    """A Parquet file's columns with their types (the row number DuckDB adds left out),
    each named as the file writes it (``top_level``) and referenced as DuckDB names it."""
    with _read_errors(rel, "parquet", path):
        described = fetch_rows(con, f"DESCRIBE SELECT * FROM {reader}", params)
    if reader == PARQUET_READ:
        described = [row for row in described if row[0] != ROW_NUMBER_COLUMN]
    if len(described) != len(top_level):  # not expected; never judge the file without them
        raise IngestError(
            f"{rel}: cannot be read as parquet: its schema lists {len(top_level)} top-level "
            f"columns and DuckDB reads {len(described)}"
        )
    return [
        SourceColumn(name, quote_identifier(duckdb_name), type_, wide if type_ == "DOUBLE" else "")
        for (name, wide), (duckdb_name, type_, *_) in zip(top_level, described, strict=True)
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


def refuse_nested_types(mapping: dict[str, SourceColumn], rel: str) -> None:
    """Stop the month at a column the contract reads from a Parquet list, struct, map,
    union or variant: its cast to text would store ``[B15032]`` as an id, and no other
    type of the contract can hold it either. Types as DuckDB names them (``VARCHAR[]``,
    ``STRUCT(..)``) or as the Spark engine passes them on (``ARRAY<STRING>``, ``STRUCT<..>``)."""
    nested = ("STRUCT", "MAP", "UNION", "ARRAY", "VARIANT")
    for column, source in mapping.items():
        if source.type.endswith("]") or source.type.upper().startswith(nested):
            raise IngestError(
                f"{rel}: column '{column}' cannot be cast: the file holds a nested "
                f"{source.type} there, not a single value per row"
            )


def read_rows(
    con: duckdb.DuckDBPyConnection, typed: TypedFile, sql: str, params: dict[str, object]
) -> int:
    """Run a statement reading the file; a file DuckDB cannot read stops the month with
    its name. Returns the number of rows the statement wrote."""
    with _read_errors(typed.rel, typed.kind, typed.path):
        return fetch_value(con, sql, {**typed.params, **params})


@contextmanager
def _read_errors(rel: str, kind: str, path: Path) -> Iterator[None]:
    """DuckDB's error reading the file, raised as the file's (``_read_error``); but one
    out of memory, which is not the file's fault: the run's line says what to do."""
    try:
        yield
    except duckdb.OutOfMemoryException:
        raise
    except duckdb.Error as exc:
        raise _read_error(rel, kind, path, exc) from exc


def _read_error(rel: str, kind: str, path: Path, exc: duckdb.Error) -> IngestError:
    """The error of a file DuckDB cannot read: its name, the line where DuckDB says or,
    for a CSV whose line endings change (DuckDB does not say where), where they first
    change, and DuckDB's whole reason (which names the problem and the settings used)."""
    reason = str(exc).strip() or type(exc).__name__
    line: int | None = None
    cause: str | None = None
    if kind == "csv":
        said = re.search(r"CSV Error on Line: (\d+)", reason)
        if said:
            line, cause = int(said[1]), _csv_error_cause(reason)
        else:
            line = line_ending_change(path)
            if line is not None:
                cause = "its line endings change on this line (the first line ends otherwise)"
    if kind == "parquet":
        cause = _columns_stored_with(path, reason)
        if cause is None and not _NOT_UTF8.search(reason):
            cause = _column_that_cannot_be_decoded(path)
    if _NOT_UTF8.search(reason):
        found = first_value_not_utf8(path, kind, rel)
        if found:  # the column and row of the bad bytes, which DuckDB does not name
            cause = f"{found}{f' ({cause})' if cause else ''}"
    where = f", line {line}" if line is not None else ""
    if cause:  # first, so a one-line report (the CLI's) says what is wrong, not just where
        reason = f"{cause}\n{reason}"
    return IngestError(f"{rel}: cannot be read as {kind}{where}: {reason}")


# Parquet encodings DuckDB's reason may name when it cannot decode one for a column's type.
_PARQUET_ENCODINGS = (
    "BYTE_STREAM_SPLIT",
    "DELTA_LENGTH_BYTE_ARRAY",
    "DELTA_BYTE_ARRAY",
    "DELTA_BINARY_PACKED",
    "RLE_DICTIONARY",
    "PLAIN_DICTIONARY",
)


def _columns_stored_with(path: Path, reason: str) -> str | None:
    """The columns a Parquet file stores with the encoding DuckDB's reason names and says
    it cannot read for their type (``BYTE_STREAM_SPLIT encoding is only supported for
    FLOAT, DOUBLE, INT32 or INT64 data``, for a decimal written as fixed-length bytes):
    DuckDB names neither the column nor its type. None when the reason names no
    encoding, or the file's metadata cannot be read."""
    encoding = next((e for e in _PARQUET_ENCODINGS if e in reason), None)
    if encoding is None:
        return None
    supported = re.search(r"only supported for (.+?) data", reason)
    types = set(re.findall(r"[A-Z][A-Z_0-9]*", supported[1])) if supported else set()
    try:
        with duckdb.connect() as con:
            stored = con.execute(
                "SELECT DISTINCT path_in_schema, type FROM parquet_metadata($path) "
                "WHERE list_contains(string_split(encodings, ', '), $encoding) ORDER BY ALL",
                {"path": str(path), "encoding": encoding},
            ).fetchall()
    except duckdb.Error:
        return None
    named = [f"'{column}' ({kind})" for column, kind in stored if kind not in types]
    if not named:
        return None
    return (
        f"column {', '.join(named)} is stored with the {encoding} encoding, which DuckDB "
        "cannot read for that type; write it with another encoding (PLAIN, say)"
    )


def _column_that_cannot_be_decoded(path: Path) -> str | None:
    """The first column of a Parquet file that DuckDB cannot read alone, with the reason
    that read gives (a damaged data page: ``Snappy decompression failure`` names neither
    column nor page), found by reading each column on its own; only a file that already
    failed pays it. None when the schema cannot be read (a damaged footer: the file is
    named) or every column reads alone."""
    try:
        with duckdb.connect() as con:
            columns = [
                row[0]
                for row in con.execute(
                    "DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(path)}
                ).fetchall()
            ]
            for column in columns:
                quoted = '"' + column.replace('"', '""') + '"'
                try:  # hash() decodes every value; a count could come from the metadata
                    con.execute(
                        f"SELECT min(hash({quoted})) FROM read_parquet($path)",
                        {"path": str(path)},
                    ).fetchall()
                except duckdb.Error as exc:  # its own reason: damage, or anything else
                    said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    return f"column '{column}' cannot be read on its own: {said}"
    except duckdb.Error:
        return None
    return None


# DuckDB's errors for text that is not UTF-8: a CSV's, and a Parquet string's.
_NOT_UTF8 = re.compile(r"Invalid unicode|not utf-8 encoded|Invalid string encoding", re.I)
# One UTF-8 character, with each byte read as the Latin-1 character of its value: a
# value read as Latin-1 is UTF-8 exactly when it is a run of these.
_UTF8_AS_LATIN1 = (
    r"(?:[\x{00}-\x{7F}]|[\x{C2}-\x{DF}][\x{80}-\x{BF}]|\x{E0}[\x{A0}-\x{BF}][\x{80}-\x{BF}]"
    r"|[\x{E1}-\x{EC}\x{EE}\x{EF}][\x{80}-\x{BF}]{2}|\x{ED}[\x{80}-\x{9F}][\x{80}-\x{BF}]"
    r"|\x{F0}[\x{90}-\x{BF}][\x{80}-\x{BF}]{2}|[\x{F1}-\x{F3}][\x{80}-\x{BF}]{3}"
    r"|\x{F4}[\x{80}-\x{8F}][\x{80}-\x{BF}]{2})*"
)


def first_value_not_utf8(path: Path, kind: str, rel: str) -> str | None:
    """``column 'c', row n: value '...' is not UTF-8 text`` for the file's first value
    whose bytes are not UTF-8 (None when none is found), so the error names the column
    and the row as a cast error does. Only called once a read has failed.

    A CSV is read again as Latin-1, where every byte is a character, and its values
    matched against UTF-8's byte patterns; a Parquet file's text columns are read one
    at a time with pyarrow, which keeps the bytes as written, and checked as bytes."""
    try:
        if kind == "csv":
            return _csv_value_not_utf8(path, rel)
        return _parquet_value_not_utf8(path)
    except (duckdb.Error, OSError, IngestError, ValueError):
        return None  # the error keeps DuckDB's own words


def _csv_value_not_utf8(path: Path, rel: str) -> str | None:
    reader, source = _csv_reader(path, rel)
    latin1 = reader.replace("encoding = 'utf-8'", "encoding = 'latin-1'")
    refs = [column.ref for column in source]
    bad = [f"NOT coalesce(regexp_full_match({ref}, $utf8), TRUE)" for ref in refs]
    which = " ".join(f"WHEN {test} THEN {i}" for i, test in enumerate(bad))
    with duckdb.connect() as con:
        found = fetch_rows(
            con,
            f"SELECT CASE {which} END, _row, [{', '.join(refs)}] FROM ("
            f"SELECT *, row_number() OVER () AS _row FROM {latin1}) "
            f"WHERE {' OR '.join(bad)} ORDER BY _row LIMIT 1",
            {"path": str(path), "utf8": _UTF8_AS_LATIN1},
        )
    if not found:
        return None
    index, row, values = found[0]
    shown = values[index].encode("latin-1").decode("utf-8", errors="backslashreplace")
    name = source[index].name.strip()
    return f"column '{name}', row {row}: value '{shown}' is not UTF-8 text"


def _parquet_value_not_utf8(path: Path) -> str | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    text = (
        pa.types.is_string,
        pa.types.is_large_string,
        pa.types.is_binary,
        pa.types.is_large_binary,
    )
    for name in schema.names:
        if not any(is_text(schema.field(name).type) for is_text in text):
            continue
        values = parquet.read(columns=[name]).column(name).cast(pa.large_binary())
        if _valid_utf8(values):
            continue
        low, high = 0, len(values)  # the first bad row, by halving: each check is vectorised
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if not _valid_utf8(values[low:middle]) else (middle, high)
        shown = values[low].as_py().decode("utf-8", errors="backslashreplace")
        return f"column '{name}', row {low + 1}: value '{shown}' is not UTF-8 text"
    return None


def _valid_utf8(values: object) -> bool:
    import pyarrow as pa

    try:
        values.cast(pa.large_string()).validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def _csv_error_cause(reason: str) -> str | None:
    """What DuckDB's CSV error says is wrong (``Invalid unicode ... not utf-8 encoded``,
    ``Expected Number of Columns: 7 Found: 8``, ``Value with unterminated quote found``):
    the last line before its first ``Possible ...`` advice. Not the line after ``Original
    Line:``, which is the row itself and may span lines (a quoted line break). Split on
    ``\n`` only: a row may hold ``\r`` or other line separators."""
    lines = [line.strip() for line in reason.split("\n")]
    advice = next((i for i, line in enumerate(lines) if line.startswith("Possible ")), None)
    if advice is None:
        return None
    return next((line for line in reversed(lines[:advice]) if line), None)


_LINE_BREAK_OR_QUOTE = re.compile(rb'"|\r\n|\r|\n')


def line_ending_change(path: Path) -> int | None:
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


def raise_cast_error(
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


def match_columns(
    dataset: Dataset, source: list[SourceColumn], rel: str, report: IngestReport
) -> dict[str, SourceColumn]:
    """Contract column -> the file's column of that name, ignoring case and surrounding
    spaces. A name the file writes twice, in any spelling (``stars`` and ``Stars``), is
    ambiguous and stops the month: no copy is picked, the exact spelling included."""
    mapping = {}
    found = ", ".join(c.name for c in source) or "no columns"
    for column in dataset.columns:
        matches = [c for c in source if c.name.strip().lower() == column]
        if len(matches) == 1:
            mapping[column] = matches[0]
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
    # A header's trailing comma (as spreadsheets write it) makes a column without a name.
    extra = sorted(
        c.name if c.name.strip() else f"(a column without a name, number {number})"
        for number, c in enumerate(source, start=1)
        if c not in used
    )
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
