"""What a step needs to run its row-level work on Spark: the session and the lake.

Only the Spark engine imports pyspark (the optional ``spark`` extra), and only when a
step runs: the DuckDB engine's runs never do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

from assets.resources import GradingSettings, WarehouseResource
from pipelines.spark_engine.lake import Lake

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from pipelines.checks.validation import BatchSource


def lake(settings: GradingSettings, warehouse: WarehouseResource) -> Lake:
    return Lake(settings.lake(warehouse.path))


def spark(settings: GradingSettings) -> SparkSession:
    from pipelines.spark_engine.session import spark_session

    return spark_session(settings.spark_master)


@contextmanager
def row_queries(settings: GradingSettings, warehouse: WarehouseResource) -> Iterator[None]:
    """With the Spark engine, the grading's row queries run on Spark in the block."""
    if not settings.uses_spark:
        with nullcontext():
            yield
        return
    from pipelines.spark_engine.rows import rows_on_spark

    with rows_on_spark(spark(settings), lake(settings, warehouse)):
        yield


def check_batches(settings: GradingSettings, warehouse: WarehouseResource) -> BatchSource | None:
    """With the Spark engine, the lake: the input suites' row batches run on GE's Spark
    engine (pipelines/spark_engine/checks.py); None, every batch on DuckDB."""
    if not settings.uses_spark:
        return None
    from pipelines.spark_engine.checks import SparkBatches

    return SparkBatches(spark(settings), lake(settings, warehouse))
