"""The month's blocking data checks, run on a preview's copy of the warehouse.

A preview runs the Great Expectations suites a run of the month runs (assets/ingest.py,
assets/grading.py, assets/exposure.py), on the same tables of its copy, and is blocked by
the first that fails, with the message a run gives. The input suites read the month's
rows with the month's own bounds (a row of the month folder landed after the as-of day
is still in its month); the output suites read the projection with its window, which
ends on the as-of day (merchant_grades.rows recomputes which rates are defined).
"""

from __future__ import annotations

import duckdb

from pipelines.checks.validation import check_parameters, validate_suite
from pipelines.months import GradingWindow
from pipelines.policy import Policy


def input_check_failure(
    con: duckdb.DuckDBPyConnection, window: GradingWindow, policy: Policy, dataset: str
) -> str | None:
    """Validate ``inputs/<dataset>`` for the month: why it failed, or None when it passed."""
    sql_params, expectation_params = check_parameters(window.month, policy, dataset)
    return _failure(
        con, window, f"inputs/{dataset}", f"raw_{dataset}", sql_params, expectation_params
    )


def output_check_failure(
    con: duckdb.DuckDBPyConnection, window: GradingWindow, policy: Policy, table: str
) -> str | None:
    """Validate ``outputs/<table>`` on the staged projection: why it failed, or None."""
    sql_params, expectation_params = check_parameters(window.month, policy)
    sql_params = {**sql_params, **window.sql_params}  # the projection's window
    return _failure(con, window, f"outputs/{table}", table, sql_params, expectation_params)


def _failure(
    con: duckdb.DuckDBPyConnection,
    window: GradingWindow,
    suite: str,
    asset: str,
    sql_params: dict,
    expectation_params: dict,
) -> str | None:
    """The suite's verdict, worded as assets.runner.failure_reason words a failed check."""
    report = validate_suite(con, suite, window.month, sql_params, expectation_params)
    if report.success:
        return None
    return f"data check {asset}.expectations failed: {report.summary()}"
