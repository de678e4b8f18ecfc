"""The duplicate_keys batch on Great Expectations' Spark engine, over the lake.

The batch's one DuckDB script (sql/checks/duplicate_keys.sql: a SET VARIABLE key range,
hash() and getvariable()) runs on Spark: the same rows are put in DuckDB's raw tables and
in the lake (earlier and later months published, the graded month staged), and Spark's
batch must report the same colliding keys, copies and months as DuckDB's, and fail.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlglot

from pipelines.checks.validation import (
    ExpectationOutcome,
    _ge_suites,
    batch_sql,
    check_parameters,
)
from pipelines.datasets import DATASETS_BY_NAME
from pipelines.policy import load_policy
from pipelines.spark_engine.checks import SparkBatches
from pipelines.spark_engine.lake import Lake
from pipelines.spark_engine.transpile import NotTranspilable, to_spark
from pipelines.spark_engine.variables import spark_script
from pipelines.warehouse import bound_params, statements

MONTH = "2026-02"
DAY = dt.date(2026, 2, 1)
# Keys per month of each dataset: a key repeated in the graded month (K3), a key an
# earlier month holds (K1), and a key a LATER month holds too (K4: not this month's error).
DIRTY = {"2026-01": ["K1", "K2"], MONTH: ["K1", "K3", "K3", "K4", "K5"], "2026-03": ["K4"]}
CLEAN = {"2026-01": ["K1", "K2"], MONTH: ["K3", "K4", "K5"], "2026-03": ["K4"]}


def _key_row(dataset: str, key: str) -> dict[str, Any]:
    """A row of ``dataset`` with the key ``key`` (the other columns empty)."""
    number = int(key.removeprefix("K"))
    if dataset == "service_metrics":  # key (merchant_id, metric_date): a date range column
        return {"merchant_id": "M1", "metric_date": DAY + dt.timedelta(days=number)}
    return {"order_id": key}


def _load(con: duckdb.DuckDBPyConnection, lake: Lake, dataset: str, keys: dict) -> None:
    """The same rows in DuckDB's raw.<dataset> and in the lake: the graded month staged,
    the others published."""
    for month, month_keys in keys.items():
        rows = pd.DataFrame([{"month": month, **_key_row(dataset, k)} for k in month_keys])
        con.register("new_rows", rows)
        con.execute(f"INSERT INTO raw.{dataset} BY NAME SELECT * FROM new_rows")
        con.unregister("new_rows")
        folder = (lake.staged if month == MONTH else lake.partition)("raw", dataset, month)
        folder.mkdir(parents=True)
        con.execute(
            f"COPY (SELECT * EXCLUDE (month) FROM raw.{dataset} WHERE month = '{month}') "
            f"TO '{folder / 'part-0.parquet'}' (FORMAT parquet)"
        )


def _duckdb_batch(con: duckdb.DuckDBPyConnection, suite: str, params: dict) -> list[tuple]:
    """The batch's rows as DuckDB's validation reads them (setup statements, then query)."""
    *setup, sql = statements(batch_sql(suite, "duplicate_keys"))
    for statement in setup:
        con.execute(statement, bound_params(statement, params))
    sql = sql.rstrip(";")
    return sorted(con.sql(sql, params=bound_params(sql, params)).fetchall(), key=str)


def _validate_on_spark(
    spark: Any, lake: Lake, suite: str, params: tuple[dict, dict]
) -> tuple[ExpectationOutcome, str]:
    """The suite's duplicate_keys batch validated as validate_suite validates it on Spark."""
    sub_suite, expectations = next(
        (s, e) for batch, s, e in _ge_suites(suite) if batch == "duplicate_keys"
    )
    (outcome,) = [
        ExpectationOutcome(e["type"], "duplicate_keys", e["kwargs"]) for e in expectations
    ]
    validated = SparkBatches(spark, lake).validate(
        suite, "duplicate_keys", sub_suite, *params, [outcome]
    )
    assert validated is not None, "duplicate_keys not validated on Spark"
    return outcome, validated[1]


@pytest.mark.spark
@pytest.mark.parametrize("dataset", ["orders", "service_metrics"])
def test_duplicate_keys_on_gx_spark_reports_what_duckdb_reports(
    con, spark, tmp_path: Path, dataset: str
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    _load(con, lake, dataset, DIRTY)
    suite = f"inputs/{dataset}"
    sql_params, expectation_params = check_parameters(MONTH, load_policy(), dataset)

    frame = SparkBatches(spark, lake).frame(suite, "duplicate_keys", sql_params)
    on_spark = sorted((tuple(row) for row in frame.collect()), key=str)
    key = DATASETS_BY_NAME[dataset].key
    k1, k3 = (tuple(_key_row(dataset, k).values()) for k in ("K1", "K3"))
    assert on_spark == [(*k1, 2, "2026-01, 2026-02"), (*k3, 2, "2026-02, 2026-02")]
    assert frame.columns == [*key, "copies", "months"]
    assert on_spark == _duckdb_batch(con, suite, sql_params)

    outcome, engine = _validate_on_spark(spark, lake, suite, (sql_params, expectation_params))
    assert engine == "SparkDFExecutionEngine"
    assert not outcome.success, outcome.describe()
    assert len(outcome.samples) == 2, outcome.describe()


@pytest.mark.spark
def test_duplicate_keys_on_gx_spark_passes_a_clean_month(con, spark, tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    _load(con, lake, "orders", CLEAN)
    sql_params, expectation_params = check_parameters(MONTH, load_policy(), "orders")
    outcome, engine = _validate_on_spark(
        spark, lake, "inputs/orders", (sql_params, expectation_params)
    )
    assert engine == "SparkDFExecutionEngine"
    assert outcome.success, outcome.describe()
    assert _duckdb_batch(con, "inputs/orders", sql_params) == []


def test_set_variable_binds_as_typed_literals() -> None:
    """Each SET VARIABLE's SELECT is run (transpiled) for its value, and the query reads
    that value as literals of its type: a struct's fields, a date, NULL."""
    script = (
        "SET VARIABLE r = (SELECT {lo: min(d), hi: max(d)} FROM raw.t WHERE month = $month);\n"
        "SET VARIABLE n = (SELECT max(x) FROM raw.t WHERE d >= getvariable('r').lo);\n"
        "SELECT x FROM raw.t WHERE d BETWEEN getvariable('r').lo AND getvariable('r').hi "
        "AND x = getvariable('n');\n"
    )
    values = iter([{"lo": dt.date(2026, 1, 2), "hi": None}, None])
    ran: list[str] = []

    def scalar(spark_sql: str) -> Any:
        ran.append(spark_sql)
        return next(values)

    query = spark_script(script, {"month": MONTH}, scalar)
    assert ran[0] == (
        "SELECT STRUCT(MIN(d) AS lo, MAX(d) AS hi) FROM raw_t WHERE month = '2026-02'"
    )
    assert "d >= CAST('2026-01-02' AS DATE)" in ran[1]
    assert query == (
        "SELECT x FROM raw_t WHERE d BETWEEN CAST('2026-01-02' AS DATE) AND NULL AND x = NULL"
    )


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("SET threads = 4;\nSELECT 1;", "only SET VARIABLE name = \\(SELECT ...\\)"),
        ("CREATE TEMP TABLE x AS SELECT 1;\nSELECT 1;", "has no Spark form"),
        ("SELECT getvariable('r');", "no SET VARIABLE r before it"),
        ("SET VARIABLE r = (SELECT 1);\nSELECT getvariable('r').lo;", r"has no \.lo"),
    ],
)
def test_a_setup_statement_spark_cannot_run_is_refused(script: str, message: str) -> None:
    with pytest.raises(NotTranspilable, match=message):
        spark_script(script, {}, lambda sql: 1)


def test_an_unbound_getvariable_is_refused() -> None:
    with pytest.raises(NotTranspilable, match="its SET VARIABLE did not run"):
        to_spark("SELECT getvariable('r')")


def test_hash_is_spark_xxhash64_and_not_materialized_is_dropped() -> None:
    spark_sql = to_spark(
        "WITH k AS NOT MATERIALIZED (SELECT hash(a, b) AS h FROM raw.t) SELECT h FROM k"
    )
    assert spark_sql == "WITH k AS (SELECT XXHASH64(a, b) AS h FROM raw_t) SELECT h FROM k"
    assert sqlglot.parse_one(spark_sql, read="spark")  # valid Spark SQL


def test_the_arguments_of_a_renamed_function_are_transpiled_too() -> None:
    spark_sql = to_spark(
        "SELECT epoch_us(CASE WHEN regexp_full_match(v, '[0-9]+') THEN t END), "
        "strlen((SELECT max(a) FROM raw.t)) FROM x"
    )
    assert "RLIKE '^(?:[0-9]+)\\\\z'" in spark_sql, spark_sql
    assert "REGEXP_FULL_MATCH" not in spark_sql.upper() and "raw_t" in spark_sql
    assert sqlglot.parse_one(spark_sql, read="spark")
