"""The input suites' row batches on Great Expectations' Spark execution engine.

With ``--engine spark`` the month's rows are in the lake (its staging, while the month is
graded), so the row-level expectations of expectations/inputs/*.json run there: the
batch's query is the same ``sql/checks/<dataset>.rows.sql`` DuckDB runs, transpiled, over
the lake's ``raw_<dataset>`` views, and the resulting Spark DataFrame is validated by GE's
Spark datasource (``SparkDFExecutionEngine``): the metrics are Spark aggregations on the
cluster, not rows pulled to the driver. The suite's grouping into batches, the outcomes,
Data Docs and the blocking decision are validation.validate_suite's, as on DuckDB.

The ``duplicate_keys`` batch runs there too: its DuckDB script's ``SET VARIABLE`` key
range is computed on Spark first and bound as a literal (pipelines/spark_engine/
variables.py). ``quarantine_ratio`` stays on DuckDB (reads the ingest log, one row;
docs/decisions/spark-ge.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pipelines.checks.validation import ExpectationOutcome, batch_sql, validate_ge_batch
from pipelines.spark_engine.frames import register_raw_views
from pipelines.spark_engine.lake import Lake
from pipelines.spark_engine.transpile import NotTranspilable
from pipelines.spark_engine.variables import ScalarRunner, spark_scalar, spark_script

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

# The batches of the input suites that read the month's raw rows: validated on Spark.
SPARK_CHECK_BATCHES = ("rows", "duplicate_keys")
# The input suites' other batches, and why DuckDB keeps them.
DUCKDB_CHECK_BATCHES = {
    "quarantine_ratio": "reads raw.ingest_log, one row per dataset and month",
}


def runs_on_spark(suite: str, batch: str) -> bool:
    """Whether a batch of ``suite`` is validated on Spark with the Spark engine: the row
    batches of the input suites (the output suites check DuckDB's per-merchant tables)."""
    return suite.startswith("inputs/") and batch in SPARK_CHECK_BATCHES


def spark_batch_query(
    suite: str, batch: str, sql_params: dict[str, Any], scalar: ScalarRunner
) -> str:
    """The batch's DuckDB query (sql/checks/), as Spark SQL over the lake's views; its
    setup statements (SET VARIABLE) evaluated with ``scalar`` and bound as literals."""
    try:
        return spark_script(batch_sql(suite, batch), sql_params, scalar)
    except NotTranspilable as exc:
        raise NotTranspilable(f"check batch {suite}.{batch}: {exc}") from exc


@dataclass(frozen=True)
class SparkBatches:
    """The lake as validate_suite's batch source (pipelines.checks.validation.BatchSource)."""

    spark: SparkSession
    lake: Lake

    def frame(self, suite: str, batch: str, sql_params: dict[str, Any]) -> DataFrame:
        """The batch's rows as a Spark DataFrame, the graded month read from its staging."""
        register_raw_views(self.spark, self.lake, str(sql_params["month"]))
        query = spark_batch_query(suite, batch, sql_params, spark_scalar(self.spark))
        return decimals_as_doubles(self.spark.sql(query))

    def validate(
        self, suite: str, batch: str, ge_suite: Any, sql_params: dict[str, Any],
        expectation_params: dict[str, Any], outcomes: list[ExpectationOutcome],
    ) -> tuple[Any, str] | None:  # fmt: skip
        if not runs_on_spark(suite, batch):
            return None
        frame = self.frame(suite, batch, sql_params)
        return validate_spark_frame(ge_suite, frame, outcomes, expectation_params)


def decimals_as_doubles(frame: DataFrame) -> DataFrame:
    """The frame with each decimal column cast to double: GE compares a batch's decimals
    as doubles on either engine (pipelines/checks/check_filter.py: ge_columns_sql)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    return frame.select(
        *(
            F.col(f"`{field.name}`").cast("double").alias(field.name)
            if isinstance(field.dataType, DecimalType)
            else F.col(f"`{field.name}`")
            for field in frame.schema.fields
        )
    )


def validate_spark_frame(
    ge_suite: Any,
    frame: DataFrame,
    outcomes: list[ExpectationOutcome],
    expectation_params: dict[str, Any] | None,
) -> tuple[Any, str]:
    """A Spark DataFrame validated on GE's Spark engine: the whole batch in one validation
    (no chunks: the cluster aggregates), the outcomes filled as the pandas chunks fill them."""

    def head(rows: int) -> pd.DataFrame:
        return frame.limit(rows).toPandas()

    return validate_ge_batch(
        _spark_batch_definition(), ge_suite, frame, outcomes, expectation_params,
        row_count=frame.count, head=head,
    )  # fmt: skip


@cache
def _spark_batch_definition() -> Any:
    """One ephemeral GE context for the process: a Spark dataframe asset, no progress bars.

    GE's Spark datasource takes the process's active session (the engine's, on the
    cluster). ``persist=False``: GE would otherwise cache each month's rows on the
    executors and never release them; re-reading a few Parquet columns is cheaper.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_spark("spark_batches", persist=False)
    return source.add_dataframe_asset("batch").add_batch_definition_whole_dataframe("whole")
