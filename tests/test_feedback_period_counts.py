"""The feedback count as SQL (Spark's) equals the polars rule (DuckDB's), on boundary cases.

The DuckDB engine counts feedback per merchant, buyer and ten-day period with the polars
rule ``count_feedback_by_period``; the Spark engine runs the same rule as one query,
``sql/grading/feedback_period_counts.sql``, over the same feedback rows query. These
tests hold the two equal on the rows where they could part: the instants either side of
each period start, a period's end across months (31 January, 29 February), a window that
starts inside a period, a buyer who changes their mind in one period, the minimum amount
to the last decimal, and a policy with other numbers. The SQL runs on DuckDB here, and
transpiled on the test cluster's Spark.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from fractions import Fraction

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import grading
from pipelines.datasets import AMOUNT_PRECISION, AMOUNT_SCALE
from pipelines.feedback_counts import (
    FEEDBACK_COUNTS_QUERY,
    FEEDBACK_ROWS_PARAM,
    feedback_count_params,
    feedback_counts_sql,
    query_text,
)
from pipelines.months import grading_window
from pipelines.policy import Policy, load_policy
from pipelines.rules.credit import count_feedback_by_period
from pipelines.spark_engine.rows import SPARK_ROW_QUERIES
from pipelines.sql_files import load_sql
from pipelines.warehouse import bound_params, fetch_frame

T = dt.datetime
END_OF_DAY = dt.timedelta(days=1, microseconds=-1)


def _feedback(rows: list[tuple[str, str, str, int, dt.datetime, str]]) -> pl.DataFrame:
    """raw.feedback's columns the count reads: month, merchant, buyer, stars, when, amount."""
    return pl.DataFrame(
        rows,
        schema={
            "month": pl.String,
            "merchant_id": pl.String,
            "buyer_id": pl.String,
            "stars": pl.Int64,
            "feedback_at": pl.Datetime("us"),
            "order_amount_usd": pl.String,
        },
        orient="row",
    ).with_columns(pl.col("order_amount_usd").str.to_decimal(scale=AMOUNT_SCALE))


def _boundary_rows() -> pl.DataFrame:
    jan, feb, mar = "2026-01", "2026-02", "2026-03"
    return _feedback(
        [
            # One buyer, two positives in days 1-10 (one counts), the last instant of day 10
            # and the first of day 11 (two periods).
            (jan, "M1", "B1", 5, T(2026, 1, 1), "5.00"),
            (jan, "M1", "B1", 4, T(2026, 1, 10) + END_OF_DAY, "7.00"),
            (jan, "M1", "B1", 5, T(2026, 1, 11), "9.00"),
            # Day 20's last instant and day 21's first; 31 January and 1 February.
            (jan, "M1", "B2", 1, T(2026, 1, 20) + END_OF_DAY, "5.00"),
            (jan, "M1", "B2", 2, T(2026, 1, 21), "5.00"),
            (jan, "M1", "B2", 1, T(2026, 1, 31) + END_OF_DAY, "5.00"),
            (feb, "M1", "B2", 1, T(2026, 2, 1), "5.00"),
            # A buyer who changes their mind in one period: one negative, one neutral and
            # one positive count; the repeated positive does not.
            (feb, "M2", "B1", 1, T(2026, 2, 12, 9), "20.00"),
            (feb, "M2", "B1", 3, T(2026, 2, 13, 9), "20.00"),
            (feb, "M2", "B1", 5, T(2026, 2, 14, 9), "20.00"),
            (feb, "M2", "B1", 4, T(2026, 2, 20) + END_OF_DAY, "20.00"),
            # The other policy's minimum (10.005) on 31 January, inside the partial period.
            (jan, "M5", "B1", 5, T(2026, 1, 31, 12), "10.005"),
            (jan, "M5", "B2", 1, T(2026, 1, 31, 13), "10.004999999999999999"),
            # The same buyer with another merchant counts again.
            (feb, "M3", "B1", 5, T(2026, 2, 14, 9), "20.00"),
            # The minimum amount to the last decimal: under it earns nothing.
            (feb, "M3", "B4", 5, T(2026, 2, 3), "4.999999999999999999"),
            (feb, "M3", "B5", 1, T(2026, 2, 3), "4.99"),
            (feb, "M3", "B6", 1, T(2026, 2, 3), "5.000000000000000000"),
            # The stars at the polarity edges.
            (feb, "M3", "B7", 3, T(2026, 2, 25), "6.00"),
            (feb, "M3", "B8", 2, T(2026, 2, 25), "6.00"),
            (feb, "M3", "B9", 4, T(2026, 2, 25), "6.00"),
            # 28 February's last instant (the period 21-end of a short month) and 1 March.
            (feb, "M4", "B1", 5, T(2026, 2, 28) + END_OF_DAY, "8.00"),
            (mar, "M4", "B1", 5, T(2026, 3, 1), "8.00"),
            (mar, "M4", "B1", 5, T(2026, 3, 31, 23), "8.00"),
            # Cut off by the month's cutoff and by the window's start.
            (mar, "M4", "B2", 5, T(2026, 4, 1), "8.00"),
        ]
    )


def _other_policy() -> Policy:
    """Other numbers for every parameter of the rule: weekly periods, 5-star positives."""
    return dataclasses.replace(
        load_policy(),
        positive_min_stars=5,
        negative_max_stars=1,
        min_order_amount_usd=Fraction(2001, 200),  # 10.005
        period_start_days=(1, 8, 15, 22),
    )


# Each feedback rows query the grading counts, with the parameters of one of its uses.
ROW_QUERIES = {
    "grading/month_feedback.sql": {"month": "2026-02", "cutoff": T(2026, 3, 1)},
    "grading/window_feedback.sql": {
        "first_month": "2026-01",
        "month": "2026-03",
        "window_start": T(2026, 1, 1),
        "cutoff": T(2026, 4, 1),
    },
    # A window starting on 31 January (inside the period 21-31): its partial period.
    "grading/partial_period_feedback.sql": {
        "first_month": "2026-01",
        "window_start": T(2026, 1, 31),
        "period_end": T(2026, 2, 1),
    },
    "grading/history_feedback.sql": {"month": "2026-03", "cutoff": T(2026, 4, 1)},
}
POLICIES = {"shipped": load_policy, "other": _other_policy}
FEEDBACK_COLUMNS = ("positive_feedback", "neutral_feedback", "negative_feedback")


def _duckdb_with(feedback: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.register("feedback_frame", feedback)
    con.execute(
        "CREATE TABLE raw.feedback AS SELECT * REPLACE "
        f"(CAST(order_amount_usd AS DECIMAL({AMOUNT_PRECISION},{AMOUNT_SCALE})) "
        "AS order_amount_usd) FROM feedback_frame"
    )
    return con


def _polars_counts(
    con: duckdb.DuckDBPyConnection, rows_query: str, params: dict, policy: Policy
) -> pl.DataFrame:
    """The DuckDB engine's count: the rows query's rows through the polars rule."""
    sql = load_sql(rows_query)
    rows = fetch_frame(con, sql, bound_params(sql, params))
    return count_feedback_by_period(rows.lazy(), policy).collect()


def _both_counts(
    feedback: pl.DataFrame, rows_query: str, params: dict, policy: Policy
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The counts of ``feedback`` by the polars rule and by the count query, on DuckDB."""
    con = _duckdb_with(feedback)
    try:
        by_polars = _polars_counts(con, rows_query, params, policy)
        sql = feedback_counts_sql(rows_query)
        by_sql = fetch_frame(
            con, sql, bound_params(sql, {**params, **feedback_count_params(policy)})
        )
    finally:
        con.close()
    return by_polars, by_sql


def _sorted(counts: pl.DataFrame) -> pl.DataFrame:
    return counts.sort("merchant_id", "period_start")


@pytest.mark.parametrize("policy_name", POLICIES)
@pytest.mark.parametrize("rows_query", ROW_QUERIES)
def test_the_count_query_on_duckdb_equals_the_polars_rule(rows_query, policy_name) -> None:
    policy = POLICIES[policy_name]()
    params = ROW_QUERIES[rows_query]
    expected, found = _both_counts(_boundary_rows(), rows_query, params, policy)
    assert expected.height > 0, "test setup: nothing counted"
    assert_frame_equal(_sorted(found), _sorted(expected))


def test_the_boundary_rows_count_as_the_spec_says() -> None:
    """The expected counts of the shipped policy written out, so that a rule both forms
    share cannot be wrong in the same way in both."""
    con = _duckdb_with(_boundary_rows())
    try:
        sql = feedback_counts_sql("grading/history_feedback.sql")
        params = {**ROW_QUERIES["grading/history_feedback.sql"]}
        found = fetch_frame(
            con, sql, bound_params(sql, {**params, **feedback_count_params(load_policy())})
        )
    finally:
        con.close()
    d = dt.date
    expected = pl.DataFrame(
        [
            ("M1", d(2026, 1, 1), 1, 0, 0),
            ("M1", d(2026, 1, 11), 1, 0, 1),
            ("M1", d(2026, 1, 21), 0, 0, 1),
            ("M1", d(2026, 2, 1), 0, 0, 1),
            ("M2", d(2026, 2, 11), 1, 1, 1),
            ("M3", d(2026, 2, 1), 0, 0, 1),
            ("M3", d(2026, 2, 11), 1, 0, 0),
            ("M3", d(2026, 2, 21), 1, 1, 1),
            ("M4", d(2026, 2, 21), 1, 0, 0),
            ("M4", d(2026, 3, 1), 1, 0, 0),
            ("M4", d(2026, 3, 21), 1, 0, 0),
            ("M5", d(2026, 1, 21), 1, 0, 1),
        ],
        schema={
            "merchant_id": pl.String,
            "period_start": pl.Date,
            "positive_feedback": pl.Int64,
            "neutral_feedback": pl.Int64,
            "negative_feedback": pl.Int64,
        },
        orient="row",
    )
    assert_frame_equal(_sorted(found), expected)


@pytest.mark.spark
@pytest.mark.parametrize("policy_name", POLICIES)
def test_the_count_query_on_spark_equals_the_polars_rule(spark, policy_name) -> None:
    from pipelines.spark_engine.transpile import to_spark

    policy = POLICIES[policy_name]()
    feedback = _boundary_rows()
    spark.createDataFrame(feedback.to_arrow()).createOrReplaceTempView("raw_feedback")
    con = _duckdb_with(feedback)
    try:
        for rows_query, params in ROW_QUERIES.items():
            expected = _polars_counts(con, rows_query, params, policy)
            bound = {**params, **feedback_count_params(policy), FEEDBACK_ROWS_PARAM: rows_query}
            sql = to_spark(feedback_counts_sql(rows_query), bound)
            found = pl.from_arrow(spark.sql(sql).toArrow())
            assert expected.height > 0, f"test setup: nothing counted by {rows_query}"
            assert_frame_equal(_sorted(found), _sorted(expected))
    finally:
        con.close()


def test_the_minimum_amount_is_the_policys_exact_decimal() -> None:
    assert feedback_count_params(_other_policy())["min_order_amount_usd"] == Decimal("10.005")


@pytest.mark.parametrize(
    ("minimum", "under", "at"),
    [
        # 19 decimals, the 19th under 5: cast to the amounts' 18 it rounded down, and an
        # order of exactly 5.00 earned credit (found in review, 2026-12-06).
        ("5.0000000000000000001", "5.000000000000000000", "5.000000000000000001"),
        # Rounded down to 4.999999999999999999, the amount just under it earned credit.
        ("4.9999999999999999991", "4.999999999999999999", "5.000000000000000000"),
    ],
)
def test_a_minimum_of_nineteen_decimals_is_compared_exactly(minimum, under, at) -> None:
    """Spec §3: feedback on an order under the minimum earns nothing. Amounts have 18
    decimals at most; a minimum of 19 is compared by its ceiling on that grid, by the
    polars rule and by the count query alike."""
    policy = dataclasses.replace(load_policy(), min_order_amount_usd=Fraction(minimum))
    february = T(2026, 2, 3)
    feedback = _feedback(
        [("2026-02", "M1", "B1", 5, february, under), ("2026-02", "M1", "B2", 1, february, at)]
    )
    rows_query = "grading/month_feedback.sql"
    params = ROW_QUERIES[rows_query]
    by_polars, by_sql = _both_counts(feedback, rows_query, params, policy)
    for counts in (by_polars, by_sql):
        # The order under the minimum earns nothing; the one at its ceiling does.
        assert counts.select(FEEDBACK_COLUMNS).rows() == [(0, 0, 1)], counts


def test_an_engine_holding_the_rows_returns_counts_not_feedback_rows() -> None:
    """With the Spark engine's hook set (here a runner on DuckDB that records its calls),
    the window's feedback is counted by the count query where the rows are: the runner
    is asked for counts per merchant and period, never for the feedback rows, and the
    grading's result is the polars rule's."""
    policy = load_policy()
    window = grading_window("2026-03", policy.window_days)
    con = _duckdb_with(_boundary_rows())
    asked: list[str] = []

    def runner(name: str, params: dict[str, object]) -> pl.DataFrame:
        asked.append(name)
        sql = query_text(name, params)
        return fetch_frame(con, sql, bound_params(sql, params))

    try:
        expected = grading.window_feedback_counts(con, window, policy, reuse=False).collect()
        token = grading.ROW_QUERIES.set((SPARK_ROW_QUERIES, runner))
        try:
            found = grading.window_feedback_counts(con, window, policy, reuse=False).collect()
        finally:
            grading.ROW_QUERIES.reset(token)
    finally:
        con.close()
    assert asked == [FEEDBACK_COUNTS_QUERY]
    assert expected["positive_feedback"].sum() > 0, "test setup: nothing counted"
    assert_frame_equal(found.sort("merchant_id"), expected.sort("merchant_id"))
