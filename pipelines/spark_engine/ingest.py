"""A landing month folder ingested on Spark: read, cast, classified, stored in the lake.

The same steps as DuckDB's ingest (pipelines/ingest/), from the same definitions:
columns are matched by name (``_match_columns``), cast by the same expressions
(``cast_expr``, transpiled), classified by the portable classification (reasons in the
spec's order), and the month's accepted and quarantined rows are written to the lake's
staging for the month. DuckDB's ``raw.*`` then receives the month from that Parquet, so
the checks, the merchant rules and publication read what Spark decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.datasets import STORAGE_TYPES, Dataset
from pipelines.ingest.casting import cast_expr, quote_identifier
from pipelines.ingest.load import dataset_fingerprint
from pipelines.ingest.reading import SourceColumn, _csv_header, _match_columns
from pipelines.ingest.report import IngestReport
from pipelines.landing import (
    SUPPORTED_SUFFIXES,
    IngestError,
    files_digest,
    landing_files,
    relative_path,
)
from pipelines.months import grading_window, parse_month
from pipelines.spark_engine.classify import classification_sql
from pipelines.spark_engine.frames import (
    SPARK_TYPES,
    quarantine_columns,
    raw_columns,
    register_raw_views,
)
from pipelines.spark_engine.lake import Lake
from pipelines.spark_engine.transpile import to_spark
from pipelines.sql_files import load_sql
from pipelines.warehouse import fetch_value, transaction

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class SparkFile:
    """One landing file as Spark reads it: its rows (with a 1-based ``_row``) and its
    columns as ``SourceColumn`` (the names cast_expr refers to, with DuckDB type names)."""

    rel: str
    rows: DataFrame
    source: list[SourceColumn]


def spark_ingest_month(
    con: duckdb.DuckDBPyConnection,
    spark: SparkSession,
    lake: Lake,
    landing: Path,
    ds: Dataset,
    month: str,
) -> IngestReport:
    """Ingest ``ds`` for ``month`` on Spark into the lake's staging, then into raw.*."""
    parse_month(month)
    landing = Path(landing)
    report = IngestReport(ds.name, month)
    files = landing_files(landing, ds.name, month)
    report.files_digest = files_digest(files)
    report.files = [relative_path(path, landing) for path in files]
    register_raw_views(spark, lake, month)
    stage = None
    for file_no, (path, rel) in enumerate(zip(files, report.files, strict=True), start=1):
        typed = _typed_rows(spark, ds, _read_file(spark, path, rel), report, file_no)
        stage = typed if stage is None else stage.unionByName(typed)
    if stage is None:  # no files: an empty month (require_complete_month allows some)
        stage = spark.createDataFrame(
            [],
            ", ".join(f"`{c}` {SPARK_TYPES[t]}" for c, t in ds.columns.items())
            + ", _file INT, _row BIGINT",
        )
    stage.createOrReplaceTempView("_stage")
    window = grading_window(month, 1)
    params = {"month": month, "month_start": window.month_start, "cutoff": window.cutoff}
    classified = spark.sql(to_spark(classification_sql(ds), params)).persist()
    try:
        _count(classified, report)
        _write_staging(spark, lake, ds, month, classified, report.files)
    finally:
        classified.unpersist()
    _load_into_warehouse(con, lake, ds, month, report)
    return report


def _read_file(spark: SparkSession, path: Path, rel: str) -> SparkFile:
    """A landing file's rows as Spark reads them, each with its 1-based row number.

    CSV: every column as text under a positional name (c1, c2, ... as DuckDB's reader
    names them), the header taken by the same parser DuckDB's ingest uses; multi-line
    mode keeps a file in one partition, so the row number is its position in it.
    Parquet: typed, the row number from Spark's row index.
    """
    from pyspark.sql import functions as F

    if path.stat().st_size == 0:
        raise IngestError(f"{rel}: empty file (0 bytes)")
    kind = SUPPORTED_SUFFIXES[path.suffix.lower()]
    if kind == "csv":
        header = _csv_header(path, rel)
        source = [SourceColumn(name, f"c{i}", "VARCHAR") for i, name in enumerate(header, 1)]
        schema = ", ".join(f"{c.ref} STRING" for c in source)
        rows = (
            spark.read.schema(schema)
            .options(
                header=False, multiLine=True, quote='"', escape='"', mode="FAILFAST",
                encoding="UTF-8", comment=None, ignoreLeadingWhiteSpace=False,
                ignoreTrailingWhiteSpace=False,
            )
            .csv(str(path))
            .withColumn("_row", F.monotonically_increasing_id())
            .where("_row > 0")  # the header line
        )  # fmt: skip
        return SparkFile(rel, rows, source)
    rows = spark.read.parquet(str(path))
    source = [
        SourceColumn(
            field.name, quote_identifier(field.name), _duckdb_type(field.dataType.simpleString())
        )
        for field in rows.schema.fields
    ]
    rows = rows.select("*", (F.col("_metadata.row_index") + 1).alias("_row"))
    return SparkFile(rel, rows, source)


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


def _typed_rows(
    spark: SparkSession, ds: Dataset, file: SparkFile, report: IngestReport, file_no: int
) -> DataFrame:
    """The file's rows as the contract's typed columns, with ``_file`` and ``_row``.

    A value that cannot be cast stops the month, naming the file, the column and the
    first such row, as DuckDB's ingest does.
    """
    from pyspark.sql import functions as F

    mapping = _match_columns(ds, file.source, file.rel, report)
    typed, errors = [], []
    for column, logical in ds.columns.items():
        source = mapping[column]
        expr, failed = cast_expr(source.ref, source.type, logical)
        typed.append(F.expr(_spark_expr(f"CAST({expr} AS {STORAGE_TYPES[logical]})")).alias(column))
        if failed != "FALSE":
            errors.append(f"CASE WHEN {failed} THEN '{column}' END")
    rows = file.rows
    if errors:  # one pass over the file finds its first value that cannot be cast
        cast_error = F.expr(_spark_expr(f"coalesce({', '.join(errors)})"))
        first = (
            rows.select("_row", cast_error.alias("_column"))
            .where("_column IS NOT NULL")
            .orderBy("_row")
            .limit(1)
            .collect()
        )
        if first:
            row, column = first[0]
            shown_expr = F.expr(_spark_expr(mapping[column].ref)).cast("string")
            shown = rows.where(F.col("_row") == row).select(shown_expr).collect()[0][0]
            raise IngestError(
                f"{file.rel}: column '{column}', row {row}: value {shown!r} cannot be "
                f"read as {ds.columns[column]}"
            )
    return rows.select(*typed, F.lit(file_no).alias("_file"), F.col("_row").cast("bigint"))


def _spark_expr(duckdb_expr: str) -> str:
    """A DuckDB expression as a Spark one (transpiled within a SELECT)."""
    return to_spark(f"SELECT {duckdb_expr}").removeprefix("SELECT ")


def _count(classified: DataFrame, report: IngestReport) -> None:
    """The report's counts, as DuckDB's ingest counts them: rows read, copies collapsed
    (an earlier month's same row counts as a copy), accepted and quarantined by reason."""
    by_reason = classified.groupBy("_reason").agg({"*": "count", "_copies": "sum"}).collect()
    counts = {r["_reason"]: (int(r["count(1)"]), int(r["sum(_copies)"])) for r in by_reason}
    report.rows_read = sum(copies for _, copies in counts.values())
    distinct = sum(n for n, _ in counts.values())
    earlier = counts.get("earlier_copy", (0, 0))[0]
    report.exact_copies = report.rows_read - distinct + earlier
    report.quarantined = {
        reason: n for reason, (n, _) in sorted(counts.items(), key=lambda i: str(i[0]))
        if reason is not None and reason != "earlier_copy"
    }  # fmt: skip
    report.rows_accepted = counts.get(None, (0, 0))[0]


def _write_staging(
    spark: SparkSession,
    lake: Lake,
    ds: Dataset,
    month: str,
    classified: DataFrame,
    files: list[str],
) -> None:
    """The month's accepted rows and quarantined rows, as Parquet in the lake's staging."""
    from pyspark.sql import functions as F

    file_names = F.element_at(F.array(*[F.lit(f) for f in files]), F.col("_file"))
    stored = {
        **{c: F.col(c) for c in ds.columns},
        **{dst: F.col(f"_{dst}") for dst in ds.copied_from_order},
        "source_file": file_names,
        "source_row": F.col("_row"),
    }
    accepted = classified.where("_reason IS NULL").select(
        *[expr.alias(name) for name, expr in stored.items()]
    )
    assert list(stored) == list(raw_columns(ds))
    rejected = classified.where("_reason <> 'earlier_copy'").select(
        *[F.col(c) for c in ds.columns],
        file_names.alias("source_file"),
        F.col("_row").alias("source_row"),
        F.col("_reason").alias("quarantine_reason"),
    )
    assert rejected.columns == list(quarantine_columns(ds))
    for table, frame in (("raw", accepted), ("quarantine", rejected)):
        lake.clear_staging(month, table, ds.name)
        frame.coalesce(1).write.mode("overwrite").parquet(str(lake.staged(table, ds.name, month)))


def _load_into_warehouse(
    con: duckdb.DuckDBPyConnection, lake: Lake, ds: Dataset, month: str, report: IngestReport
) -> None:
    """raw.<dataset> and raw.quarantine of the month from the lake's staging, with the
    ingest log, in one transaction (the quarantine's JSON record made by DuckDB, so it
    reads exactly as DuckDB's ingest writes it)."""
    raw_cols = raw_columns(ds)
    raw_path = str(lake.staged("raw", ds.name, month) / "*.parquet")
    quarantine_path = str(lake.staged("quarantine", ds.name, month) / "*.parquet")
    typed = {c: f"CAST({c} AS {STORAGE_TYPES[t]})" for c, t in raw_cols.items()}
    record = "to_json(struct_pack(" + ", ".join(f"{c} := {typed[c]}" for c in ds.columns) + "))"
    params = {"month": month, "dataset": ds.name}
    with transaction(con):
        con.execute(f"DELETE FROM raw.{ds.name} WHERE month = $month", {"month": month})
        con.execute(
            f"INSERT INTO raw.{ds.name} (month, {', '.join(raw_cols)}) "
            f"SELECT $month, {', '.join(typed.values())} FROM read_parquet($path)",
            {"month": month, "path": raw_path},
        )
        con.execute(
            "DELETE FROM raw.quarantine WHERE dataset = $dataset AND month = $month", params
        )
        con.execute(
            "INSERT INTO raw.quarantine (dataset, month, source_file, reason, record, source_row) "
            f"SELECT $dataset, $month, source_file, quarantine_reason, {record}::VARCHAR, "
            "source_row "
            "FROM read_parquet($path) ORDER BY source_file, source_row",
            {**params, "path": quarantine_path},
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
    stored = fetch_value(
        con, f"SELECT count(*) FROM raw.{ds.name} WHERE month = $month", {"month": month}
    )
    if stored != report.rows_accepted:  # pragma: no cover - a broken staging write
        raise IngestError(
            f"{ds.name} {month}: Spark accepted {report.rows_accepted} rows but the lake "
            f"holds {stored}"
        )
