"""The lake's tables as Spark views: ``raw_<dataset>`` holds every published month and,
for the month being graded, its staged partition in place of the published one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.datasets import AMOUNT_PRECISION, AMOUNT_SCALE, DATASETS, Dataset
from pipelines.spark_engine.lake import Lake, literal_path

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# The contract's logical types as Spark types: naive UTC timestamps, as DuckDB's.
SPARK_TYPES = {
    "str": "STRING",
    "bool": "BOOLEAN",
    "int": "BIGINT",
    "decimal": f"DECIMAL({AMOUNT_PRECISION},{AMOUNT_SCALE})",
    "timestamp": "TIMESTAMP_NTZ",
    "date": "DATE",
}


def raw_columns(ds: Dataset) -> dict[str, str]:
    """raw.<dataset>'s columns but ``month`` (the partition), with their logical types."""
    copied = {
        dst: "decimal" if src == "amount_usd" else "timestamp"
        for dst, src in ds.copied_from_order.items()
    }
    return {**ds.columns, **copied, "source_file": "str", "source_row": "int"}


def _schema(columns: dict[str, str]) -> str:
    return ", ".join(f"`{c}` {SPARK_TYPES[t]}" for c, t in columns.items())


def lake_table(
    spark: SparkSession, lake: Lake, table: str, name: str, columns: dict[str, str], month: str
) -> DataFrame:
    """Every published month of ``table``/``name`` with a ``month`` column, the graded
    ``month`` taken from its staging when it has been written there."""
    from pyspark.sql import functions as F

    parts = []
    staged = lake.staged(table, name, month)
    for other in lake.months(table, name):
        if other == month and staged.is_dir():
            continue
        path = literal_path(lake.partition(table, name, other))
        parts.append(
            spark.read.schema(_schema(columns)).parquet(path).withColumn("month", F.lit(other))
        )
    if any(staged.glob("*.parquet")):
        parts.append(
            spark.read.schema(_schema(columns))
            .parquet(literal_path(staged))
            .withColumn("month", F.lit(month))
        )
    if not parts:
        return spark.createDataFrame([], f"{_schema(columns)}, month STRING")
    frame = parts[0]
    for part in parts[1:]:
        frame = frame.unionByName(part)
    return frame


def register_raw_views(spark: SparkSession, lake: Lake, month: str) -> None:
    """``raw_<dataset>`` views over the lake, as the transpiled queries read them."""
    for ds in DATASETS:
        frame = lake_table(spark, lake, "raw", ds.name, raw_columns(ds), month)
        frame.createOrReplaceTempView(f"raw_{ds.name}")
