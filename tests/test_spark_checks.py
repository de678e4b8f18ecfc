"""The input suites' row batches on Great Expectations' Spark engine really validate.

GE over other engines has returned empty metrics that pass everything (its SQL engine
over DuckDB), so each suite's row batch is shown to FAIL on Spark: a small DataFrame with
the batch query's own columns (the transpiled sql/checks/<dataset>.rows.sql over an empty
lake), one good row and one bad row per expectation, each expectation failing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from pipelines.checks.validation import (
    ExpectationOutcome,
    _ge_suites,
    check_parameters,
    validate_suite,
)
from pipelines.policy import load_policy
from pipelines.spark_engine.checks import (
    DUCKDB_CHECK_BATCHES,
    SPARK_CHECK_BATCHES,
    SparkBatches,
    spark_batch_query,
    validate_spark_frame,
)
from pipelines.spark_engine.lake import Lake

MONTH = "2026-01"
START = dt.datetime(2026, 1, 1)
START_US = int(START.replace(tzinfo=dt.UTC).timestamp()) * 1_000_000
DAY_US = 86_400 * 1_000_000
# A row of each suite's row batch that passes every expectation (pair columns A > B).
GOOD_ROWS: dict[str, dict[str, Any]] = {
    "orders": {
        "merchant_id": "M1", "buyer_id": "B1", "created_at": START + dt.timedelta(days=4),
        "ended_at": START + dt.timedelta(days=5), "ended_at_us": START_US + 5 * DAY_US,
        "status": "completed", "amount_usd": 10.0,
    },
    "feedback": {
        "merchant_id": "M1", "buyer_id": "B1", "stars": 5, "feedback_at_us": START_US + DAY_US,
    },
    "bad_orders": {
        "merchant_id": "M1", "reason": "low_dsr", "recorded_at_us": START_US + DAY_US,
        "exempt": False,
    },
    "merchants": {
        "account_type": "individual", "auth_entity_id": "A1", "real_name_verified": True,
        "collection_account_set": True, "sales_plan": "basic", "store_type": "official",
        "main_category": "books", "product_count": 3, "status": "active",
        "registered_at": START - dt.timedelta(days=30),
    },
    "service_metrics": {
        "metric_date_us": START_US + DAY_US, "messages_received": 10,
        "messages_replied_24h": 5, "dsr_item_sum": 12, "dsr_item_count": 3,
        "dsr_item_max": 15, "shipments_due": 10, "shipments_on_time": 8,
    },
}  # fmt: skip


def _bad_row(good: dict[str, Any], expectation: dict[str, Any], params: dict[str, Any]) -> dict:
    """The good row with the one change that breaks ``expectation``."""
    kwargs = expectation["kwargs"]
    kind = expectation["type"]
    if kind == "expect_column_values_to_not_be_null":
        return {**good, kwargs["column"]: None}
    if kind == "expect_column_values_to_be_in_set":
        return {**good, kwargs["column"]: "not-" + kwargs["value_set"][0]}
    if kind == "expect_column_values_to_be_between":
        low = kwargs["min_value"]
        low = params[low["$PARAMETER"]] if isinstance(low, dict) else low
        column = kwargs["column"]
        return {**good, column: type(good[column])(low - 1)}  # a double stays a float
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kwargs["column_A"], kwargs["column_B"]
        return {**good, a: good[b], b: good[a]}
    raise AssertionError(f"no bad row for {kind}")


def _rows_batch(suite: str) -> tuple[Any, list[dict[str, Any]]]:
    (sub_suite, expectations) = next(
        (s, e) for batch, s, e in _ge_suites(suite) if batch in SPARK_CHECK_BATCHES
    )
    return sub_suite, expectations


@pytest.mark.spark
@pytest.mark.parametrize("dataset", sorted(GOOD_ROWS))
def test_each_row_suite_fails_a_bad_batch_on_gx_spark(spark, tmp_path: Path, dataset) -> None:
    suite = f"inputs/{dataset}"
    sql_params, expectation_params = check_parameters(MONTH, load_policy(), dataset)
    empty = SparkBatches(spark, Lake(str(tmp_path / "lake"))).frame(suite, "rows", sql_params)
    sub_suite, expectations = _rows_batch(suite)
    good = GOOD_ROWS[dataset]
    rows = [good, *(_bad_row(good, e, expectation_params) for e in expectations)]
    frame = spark.createDataFrame([tuple(r[c] for c in empty.columns) for r in rows], empty.schema)
    outcomes = [ExpectationOutcome(e["type"], "rows", dict(e["kwargs"])) for e in expectations]
    result, engine = validate_spark_frame(sub_suite, frame, outcomes, expectation_params)
    assert engine == "SparkDFExecutionEngine"
    assert result.success is False
    for outcome in outcomes:  # every expectation counted the rows and found its bad one
        assert outcome.error is None, outcome.describe()
        assert not outcome.success, outcome.describe()
        assert outcome.element_count == len(rows), outcome.describe()
        assert 1 <= outcome.unexpected_count < len(rows), outcome.describe()
        assert outcome.samples, outcome.describe()


@pytest.mark.spark
def test_validate_suite_runs_the_row_batch_on_spark_the_rest_on_duckdb(
    con, spark, tmp_path
) -> None:
    """validate_suite with the lake as its batch source: the row and key batches are the
    staged month's rows on Spark, the ingest-log ratio DuckDB's (an empty month: it passes)."""
    lake = Lake(str(tmp_path / "lake"))
    sql_params, expectation_params = check_parameters(MONTH, load_policy(), "orders")
    empty = SparkBatches(spark, lake).frame("inputs/orders", "rows", sql_params)
    assert empty.columns == list(GOOD_ROWS["orders"])
    report = validate_suite(
        con, "inputs/orders", MONTH, sql_params, expectation_params,
        batch_source=SparkBatches(spark, lake),
    )  # fmt: skip
    assert report.success, report.summary()
    assert report.engines == {
        "rows": "SparkDFExecutionEngine",
        "duplicate_keys": "SparkDFExecutionEngine",
        "quarantine_ratio": "PandasExecutionEngine",
    }


def test_every_batch_of_the_input_suites_has_its_engine_said() -> None:
    """A batch is either validated on Spark (its query transpiles) or kept on DuckDB with
    a reason: a new batch cannot silently stay on one engine."""
    for dataset in GOOD_ROWS:
        suite = f"inputs/{dataset}"
        sql_params, _ = check_parameters(MONTH, load_policy(), dataset)
        for batch, _, _ in _ge_suites(suite):
            if batch in SPARK_CHECK_BATCHES:  # its SET VARIABLEs transpile too, to raw_ views
                setup: list[str] = []
                query = spark_batch_query(suite, batch, sql_params, setup.append)  # value: NULL
                assert all("raw_" in q for q in [query, *setup]), f"{suite}: batch {batch}"
            else:
                assert batch in DUCKDB_CHECK_BATCHES, f"{suite}: batch {batch}"
