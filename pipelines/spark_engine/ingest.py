"""A landing month folder ingested on Spark: read, cast, classified, stored in the lake.

The same steps as DuckDB's ingest (pipelines/ingest/), from the same definitions:
columns are matched by name (``match_columns``), cast by the same expressions
(``cast_expr``, transpiled), classified by the portable classification (reasons in the
spec's order), and the month's accepted and quarantined rows are written to the lake's
staging for the month. DuckDB's ``raw.*`` then receives the month from that Parquet, so
the checks, the merchant rules and publication read what Spark decided.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.datasets import STORAGE_TYPES, Dataset
from pipelines.error_text import first_line
from pipelines.ingest.casting import cast_expr, quote_identifier
from pipelines.ingest.load import record_ingest, start_report
from pipelines.ingest.reading import (
    SourceColumn,
    csv_header,
    match_columns,
    refuse_nested_types,
)
from pipelines.ingest.report import IngestReport
from pipelines.landing import (
    SUPPORTED_SUFFIXES,
    IngestError,
)
from pipelines.months import grading_window
from pipelines.spark_engine.classify import classification_sql
from pipelines.spark_engine.frames import (
    SPARK_TYPES,
    raw_columns,
    register_raw_views,
)
from pipelines.spark_engine.lake import Lake, literal_path
from pipelines.spark_engine.transpile import to_spark
from pipelines.warehouse import fetch_rows, transaction

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession


@dataclass(frozen=True)
class SparkFile:
    """One landing file as Spark reads it: its rows (with a 1-based ``_row``) and its
    columns as ``SourceColumn`` (the names cast_expr refers to, with DuckDB type names)."""

    rel: str
    rows: DataFrame
    source: list[SourceColumn]
    mapping: dict[str, SourceColumn] = field(default_factory=dict)  # set by _typed_rows


def spark_ingest_month(
    con: duckdb.DuckDBPyConnection,
    spark: SparkSession,
    lake: Lake,
    landing: Path,
    ds: Dataset,
    month: str,
) -> IngestReport:
    """Ingest ``ds`` for ``month`` on Spark into the lake's staging, then into raw.*."""
    report, files = start_report(landing, ds, month)
    require_lake_history(con, lake, month)
    register_raw_views(spark, lake, month)
    stage, files_by_no = None, {}
    for file_no, (path, rel) in enumerate(zip(files, report.files, strict=True), start=1):
        files_by_no[file_no] = _read_file(spark, path, rel)
        typed = _typed_rows(ds, files_by_no[file_no], report, file_no)
        stage = typed if stage is None else stage.unionByName(typed)
    if stage is None:  # no files: an empty month (require_complete_month allows some)
        stage = spark.createDataFrame(
            [],
            ", ".join(f"`{c}` {SPARK_TYPES[t]}" for c, t in ds.columns.items())
            + ", _file INT, _row BIGINT, _cast_error STRING, _text_error STRING",
        )
    _raise_first_cast_error(ds, stage, files_by_no)
    stage.createOrReplaceTempView("_stage")
    window = grading_window(month, 1)
    params = {"month": month, "month_start": window.month_start, "cutoff": window.cutoff}
    classified = spark.sql(to_spark(classification_sql(ds), params))
    _write_staging(lake, ds, month, classified, report.files)
    _load_into_warehouse(con, lake, ds, month, report)
    lake.record_ingest(ds.name, month, report.files_digest, report.fingerprint)
    return report


def require_lake_history(con: duckdb.DuckDBPyConnection, lake: Lake, month: str) -> None:
    """Refuse to ingest on Spark unless the lake holds every earlier month the warehouse
    has ingested, as it ingested it: Spark reads earlier months' merchants, orders and
    keys from the lake.

    A month missing (graded with the DuckDB engine, or into another lake) would leave
    them unknown and rows wrongly quarantined. A month the warehouse ingested again since
    the lake's partition was written (a regrade with the DuckDB engine, which does not
    write the lake) would be read as it was: Spark graded later months on the old rows,
    published wrong grades, and the run key of a right month let them stand (found by a
    review, 2026-12-06). Each raw partition records the ingest digests it was written
    with (``Lake.record_ingest``); they must be the ones ``raw.ingest_log`` holds.
    """
    logged = fetch_rows(
        con,
        "SELECT dataset, month, files_digest, rows_digest FROM raw.ingest_log "
        "WHERE month < $month ORDER BY month, dataset",
        {"month": month},
    )
    missing = [f"{ds} {m}" for ds, m, *_ in logged if not lake.has_partition("raw", ds, m)]
    if missing:
        raise IngestError(
            f"the lake {lake.root} lacks months this warehouse has ingested ({missing[0]}"
            f"{', ...' if len(missing) > 1 else ''}): grade from the first month with "
            "--engine spark and --force into this lake, or use the lake those months went to"
        )
    for dataset, earlier, files_digest, rows_digest in logged:
        record = lake.ingest_record(dataset, earlier)
        if record == {"files_digest": files_digest, "rows_digest": rows_digest}:
            continue
        why = (
            "records no ingest (written before the lake recorded them)"
            if record is None
            else "was written by another ingest than the warehouse's last (the month was "
            "ingested again since, with the DuckDB engine or into another lake)"
        )
        raise IngestError(
            f"{month} cannot be ingested on Spark: the lake {lake.root}'s {dataset} "
            f"{earlier} {why}, so Spark would read rows the warehouse no longer holds. "
            f"Grade from {earlier} with --engine spark and --force into this lake "
            f"(grading run --engine spark --force --from {earlier} --through {month})"
        )


def _read_file(spark: SparkSession, path: Path, rel: str) -> SparkFile:
    """A landing file's rows as Spark reads them, each with its 1-based row number.

    CSV: every column as text under a positional name (c1, c2, ... as DuckDB's reader
    names them), the header taken by the same parser DuckDB's ingest uses; multi-line
    mode keeps a file in one partition, so the row number is its position in it.
    Parquet: typed, the row number from Spark's row index.
    """
    if path.name.startswith((".", "_")):
        # Spark lists such a file as hidden and reads no rows from it, even named
        # explicitly (Spark 4.3 has no option against it): refused, never read as empty.
        raise IngestError(
            f"{rel}: the Spark engine cannot read a file whose name starts with "
            f"'{path.name[0]}' (Spark treats it as hidden and reads no rows): rename it, or "
            "grade with --engine duckdb"
        )
    if ":" in path.name:
        # Hadoop's paths take "x:3.csv" for a URI with a scheme, and fail unnamed.
        raise IngestError(
            f"{rel}: the Spark engine cannot read a file whose name holds ':' (Hadoop "
            "reads it as a URI): rename it, or grade with --engine duckdb"
        )
    from pyspark.sql import functions as F

    if path.stat().st_size == 0:
        raise IngestError(f"{rel}: empty file (0 bytes)")
    kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
    literal = literal_path(path)
    if kind == "csv":
        header = csv_header(path, rel)
        source = [SourceColumn(name, f"c{i}", "VARCHAR") for i, name in enumerate(header, 1)]
        schema = ", ".join(f"{c.ref} STRING" for c in source)
        rows = (
            spark.read.schema(schema)
            .options(
                header=False, multiLine=True, quote='"', escape='"', mode="FAILFAST",
                encoding="ISO-8859-1", comment=None, ignoreLeadingWhiteSpace=False,
                ignoreTrailingWhiteSpace=False,
            )
            .csv(literal)
            .withColumn("_row", F.monotonically_increasing_id())
            .where("_row > 0")  # the header line
        )  # fmt: skip
        # Read as Latin-1 (every byte a character) and each value taken back to its bytes:
        # a UTF-8 read puts U+FFFD for bytes that are not UTF-8, and the file would be
        # graded with its text changed, where DuckDB's ingest stops it.
        as_written = [
            F.expr(f"CAST(encode({c.ref}, 'ISO-8859-1') AS STRING)").alias(c.ref) for c in source
        ]
        rows = rows.select(*as_written, "_row")
        return SparkFile(rel, _with_text_error(rows, source, _holds_carriage_return(path)), source)
    from pyspark.errors import AnalysisException

    try:
        rows = spark.read.parquet(literal)
    except AnalysisException as exc:
        if "COLUMN_ALREADY_EXISTS" not in str(exc):
            raise
        # Spark reads column names ignoring case: `note` and `Note` are one name to it.
        # DuckDB's engine reads such a file, refusing it only when a contract column is
        # written twice; this engine cannot, and says so rather than fail unnamed.
        raise IngestError(
            f"{rel}: the Spark engine cannot read a file with two columns of the same name, "
            f"ignoring case ({first_line(exc)}): rename one, or grade with "
            "--engine duckdb"
        ) from exc
    nanos = nanosecond_columns(path)
    if nanos:
        rows = rows.withColumns(
            {name: _micros_from_nanos(name, utc) for name, utc in nanos.items()}
        )
    source = [
        SourceColumn(
            field.name, quote_identifier(field.name), _duckdb_type(field.dataType.simpleString())
        )
        for field in rows.schema.fields
    ]
    rows = rows.select("*", (F.col("_metadata.row_index") + 1).alias("_row"))
    return SparkFile(rel, _with_text_error(rows, source), source)


NANOS_COLUMNS = """
SELECT name, logical_type LIKE '%isAdjustedToUTC=1%' FROM parquet_schema($path)
WHERE logical_type LIKE 'TimestampType(%NANOS=NanoSeconds()%'
"""


def nanosecond_columns(path: Path) -> dict[str, bool]:
    """The file's Parquet ``TIMESTAMP(NANOS)`` columns, each with whether it is an instant
    (adjusted to UTC). Spark reads them as their long (``nanosAsLong``, set on the
    session); the footer, read here by DuckDB, says which longs they are."""
    con = duckdb.connect()
    try:
        return dict(con.execute(NANOS_COLUMNS, {"path": str(path)}).fetchall())
    finally:
        con.close()


def _micros_from_nanos(name: str, adjusted_to_utc: bool) -> Column:
    """A nanosecond count as Spark's timestamp, cut to the microsecond that holds it
    (floored, before 1970 too), never rounded: the DuckDB engine's ``epoch_us`` of the
    same value (pipelines/ingest/casting.py), so the last nanosecond of January stays in
    January. Spark's ``div`` truncates towards zero, hence the step back for a negative
    remainder."""
    from pyspark.sql import functions as F

    c = "`" + name.replace("`", "``") + "`"
    micros = F.expr(f"timestamp_micros({c} div 1000 - CASE WHEN {c} % 1000 < 0 THEN 1 ELSE 0 END)")
    return micros if adjusted_to_utc else micros.cast("timestamp_ntz")


# Marks a ``_text_error`` that is a line break Spark changed, not bytes that are not UTF-8.
LINE_BREAK = "line break:"


def _holds_carriage_return(path: Path) -> bool:
    """Whether a CSV file holds a CR byte anywhere. Its first line's ending is not enough:
    DuckDB's ingest stops a file whose line endings change after the first line, where
    Spark read one whose first line ends in LF and later lines in CRLF, keeping each such
    line's CR in its last value (``toys\\r``; found by an audit, 2026-12-05)."""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            if b"\r" in chunk:
                return True
    return False


def _with_text_error(
    rows: DataFrame, source: list[SourceColumn], holds_cr: bool = False
) -> DataFrame:
    """``rows`` with ``_text_error``: the name of the row's first text column whose bytes
    are not UTF-8, else NULL. Spark keeps such bytes as they are (a Parquet string) or
    reads them as they are (a CSV read as Latin-1); DuckDB's ingest stops the file.

    ``holds_cr``: the CSV file holds a CR byte. Where its lines end in CRLF or CR,
    Spark's parser turns a line break inside a quoted value into a plain LF
    ("home\r\ngarden" became "home\ngarden", and that category was published; found by
    an audit, 2026-12-05), with no option against it; where they change from LF to CRLF,
    a line's CR stays in its last value. So in such a file a value (every CSV column is
    text here) holding CR or LF is flagged too (``LINE_BREAK`` and the column), and the
    file is stopped rather than graded changed. A file with LF endings and a CR only
    inside a quoted value, which Spark reads as written, is stopped too: the line
    endings cannot be told from the values without parsing the file.
    """
    from pyspark.sql import functions as F

    texts = [c for c in source if c.type == "VARCHAR"]
    checks = [
        F.when(~F.expr(f"is_valid_utf8(CAST({_spark_expr(c.ref)} AS STRING))"), F.lit(c.name))
        for c in texts
    ]
    if holds_cr:
        checks += [
            F.when(F.col(c.ref).rlike("[\\r\\n]"), F.lit(LINE_BREAK + c.name)) for c in texts
        ]
    error = F.coalesce(*checks) if checks else F.lit(None).cast("string")
    return rows.withColumn("_text_error", error)


def _duckdb_type(spark_type: str) -> str:
    """A Spark type's DuckDB name, as cast_expr takes it (the cast rules are DuckDB's)."""
    simple = {
        "string": "VARCHAR",
        "binary": "VARCHAR",
        "bigint": "BIGINT",
        "int": "INTEGER",
        "smallint": "SMALLINT",
        "tinyint": "TINYINT",
        "double": "DOUBLE",
        "float": "FLOAT",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP WITH TIME ZONE",
        "timestamp_ntz": "TIMESTAMP",
        "date": "DATE",
    }
    if spark_type.startswith("decimal"):
        return spark_type.upper()
    return simple.get(spark_type, spark_type.upper())


def _typed_rows(ds: Dataset, file: SparkFile, report: IngestReport, file_no: int) -> DataFrame:
    """The file's rows as the contract's typed columns, with ``_file``, ``_row`` and
    ``_cast_error`` (the first column whose value cannot be cast, else NULL)."""
    from pyspark.sql import functions as F

    mapping = match_columns(ds, file.source, file.rel, report)
    refuse_nested_types(mapping, file.rel)
    typed, errors = [], []
    for column, logical in ds.columns.items():
        source = mapping[column]
        expr, failed = cast_expr(source.ref, source.type, logical)
        typed.append(F.expr(_spark_expr(f"CAST({expr} AS {STORAGE_TYPES[logical]})")).alias(column))
        if failed != "FALSE":
            errors.append(f"CASE WHEN {failed} THEN '{column}' END")
    cast_error = f"coalesce({', '.join(errors)})" if errors else "CAST(NULL AS VARCHAR)"
    file.mapping.update(mapping)
    return file.rows.select(
        *typed,
        F.lit(file_no).alias("_file"),
        F.col("_row").cast("bigint"),
        F.expr(_spark_expr(cast_error)).alias("_cast_error"),
        F.col("_text_error"),
    )


def _raise_first_cast_error(ds: Dataset, stage: DataFrame, files: dict[int, SparkFile]) -> None:
    """Stop the month at its first value that cannot be cast (in file and row order),
    naming the file, the column and the row, and showing the value as the file has it."""
    from pyspark.sql import functions as F

    first = (
        stage.select("_file", "_row", "_cast_error", "_text_error")
        .where("_cast_error IS NOT NULL OR _text_error IS NOT NULL")
        .orderBy("_file", "_row")
        .limit(1)
        .collect()
    )
    if not first:
        return
    file_no, row, column, text_column = first[0]
    file = files[file_no]
    if text_column is not None and text_column.startswith(LINE_BREAK):
        raise IngestError(
            f"{file.rel}: column '{text_column.removeprefix(LINE_BREAK).strip()}', row {row}: "
            "the value holds a line break or CR, in a file that holds CR bytes: Spark's CSV "
            "parser changes such a value where lines end in CRLF or CR (a quoted line break "
            "becomes LF; a line ending's CR stays in the line's last value), so the Spark "
            "engine stops the file rather than grade a changed value (write the file with "
            "LF line endings and no CR, or grade with --engine duckdb)"
        )
    if text_column is not None:  # as DuckDB's ingest words it (pipelines/ingest/reading.py)
        ref = _spark_expr(next(c.ref for c in file.source if c.name == text_column))
        raw = file.rows.where(F.col("_row") == row).select(F.expr(f"CAST({ref} AS BINARY)"))
        shown = bytes(raw.collect()[0][0]).decode("utf-8", errors="backslashreplace")
        raise IngestError(
            f"{file.rel}: cannot be read as {SUPPORTED_SUFFIXES[Path(file.rel).suffix.lower()]}: "
            f"column '{text_column.strip()}', "
            f"row {row}: value '{shown}' is not UTF-8 text"
        )
    shown_expr = F.expr(_spark_expr(file.mapping[column].ref)).cast("string")
    shown = file.rows.where(F.col("_row") == row).select(shown_expr).collect()[0][0]
    raise IngestError(
        f"{file.rel}: column '{column}', row {row}: value {shown!r} cannot be "
        f"read as {ds.columns[column]}"
    )


def _spark_expr(duckdb_expr: str) -> str:
    """A DuckDB expression as a Spark one (transpiled within a SELECT)."""
    return to_spark(f"SELECT {duckdb_expr}").removeprefix("SELECT ")


def _write_staging(
    lake: Lake, ds: Dataset, month: str, classified: DataFrame, files: list[str]
) -> None:
    """The classified month in one pass: its accepted rows to the staging of raw/<dataset>,
    its quarantined rows (typed, with ``quarantine_reason``) to quarantine/<dataset>, and
    the copies of rows earlier months accepted to neither (they are counted only)."""
    from pyspark.sql import functions as F

    file_names = F.element_at(F.array(*[F.lit(f) for f in files]), F.col("_file"))
    kind = (
        F.when(F.col("_reason").isNull(), "raw")
        .when(F.col("_reason") == "earlier_copy", "copy")
        .otherwise("quarantine")
    )
    columns = [
        *[F.col(c) for c in ds.columns],
        *[F.col(f"_{dst}").alias(dst) for dst in ds.copied_from_order],
        file_names.alias("source_file"),
        F.col("_row").alias("source_row"),
        F.col("_reason").alias("quarantine_reason"),
        F.col("_copies"),
        kind.alias("_kind"),
    ]
    written = lake.staged("_classified", ds.name, month)
    shutil.rmtree(written, ignore_errors=True)
    classified.select(*columns).write.partitionBy("_kind").parquet(str(written))
    for table, kind_name in (("raw", "raw"), ("quarantine", "quarantine"), ("copies", "copy")):
        target = lake.staged(table, ds.name, month)
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = written / f"_kind={kind_name}"
        if source.is_dir():
            source.rename(target)
        else:
            target.mkdir()
    shutil.rmtree(written.parent, ignore_errors=True)


def _load_into_warehouse(
    con: duckdb.DuckDBPyConnection, lake: Lake, ds: Dataset, month: str, report: IngestReport
) -> None:
    """raw.<dataset> and raw.quarantine of the month from the lake's staging, with the
    report's counts and the ingest log, in one transaction (the quarantine's JSON record
    made by DuckDB, so it reads exactly as DuckDB's ingest writes it)."""
    raw_cols = raw_columns(ds)
    typed = {c: f"CAST({c} AS {STORAGE_TYPES[t]})" for c, t in raw_cols.items()}
    record = "to_json(struct_pack(" + ", ".join(f"{c} := {typed[c]}" for c in ds.columns) + "))"
    paths = {t: _parquet_files(lake.staged(t, ds.name, month)) for t in TABLE_KINDS}
    _count(con, paths, report)
    params = {"month": month, "dataset": ds.name}
    with transaction(con):
        con.execute(f"DELETE FROM raw.{ds.name} WHERE month = $month", {"month": month})
        if paths["raw"]:
            con.execute(
                f"INSERT INTO raw.{ds.name} (month, {', '.join(raw_cols)}) "
                f"SELECT $month, {', '.join(typed.values())} FROM read_parquet($paths)",
                {"month": month, "paths": paths["raw"]},
            )
        con.execute(
            "DELETE FROM raw.quarantine WHERE dataset = $dataset AND month = $month", params
        )
        if paths["quarantine"]:
            con.execute(
                "INSERT INTO raw.quarantine (dataset, month, source_file, reason, record, "
                f"source_row) SELECT $dataset, $month, source_file, quarantine_reason, "
                f"{record}::VARCHAR, source_row FROM read_parquet($paths) "
                "ORDER BY source_file, source_row",
                {**params, "paths": paths["quarantine"]},
            )
        record_ingest(con, ds, month, report)


TABLE_KINDS = ("raw", "quarantine", "copies")


def _parquet_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.parquet"))


def _count(
    con: duckdb.DuckDBPyConnection, paths: dict[str, list[str]], report: IngestReport
) -> None:
    """The report's counts, as DuckDB's ingest counts them: rows read, copies collapsed
    (an earlier month's same row counts as a copy), accepted, quarantined by reason."""
    counts: dict[str, list[tuple[object, int, int]]] = {}
    for kind, files in paths.items():
        counts[kind] = (
            fetch_rows(
                con,
                "SELECT quarantine_reason, count(*), sum(_copies) FROM read_parquet($paths) "
                "GROUP BY ALL ORDER BY 1",
                {"paths": files},
            )
            if files
            else []
        )
    every = [row for rows in counts.values() for row in rows]
    report.rows_read = int(sum(copies for _, _, copies in every))
    distinct = sum(n for _, n, _ in every)
    earlier = sum(n for _, n, _ in counts["copies"])
    report.exact_copies = report.rows_read - distinct + earlier
    report.quarantined = {str(reason): int(n) for reason, n, _ in counts["quarantine"]}
    report.rows_accepted = sum(n for _, n, _ in counts["raw"])
