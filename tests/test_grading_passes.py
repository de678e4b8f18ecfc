"""Feedback is counted a group of merchants at a time; the result must not depend on it."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.runner import grade_months
from pipelines import grading
from pipelines.months import grading_window
from pipelines.policy import load_policy
from pipelines.rules.credit import credit_points_earned
from pipelines.warehouse import connect, fetch_value
from tests.helpers import CONFORMANCE

MONTH = "2026-03"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("passes")
    shutil.copytree(CONFORMANCE / "landing", root / "landing")
    grade_months(root / "landing", root / "w.duckdb", root / "out", MONTH)
    return root / "w.duckdb"


def test_grades_are_the_same_in_one_pass_and_in_many(warehouse, monkeypatch) -> None:
    policy = load_policy()
    con = connect(warehouse, read_only=True)
    try:
        window_rows = fetch_value(con, "SELECT count(*) FROM raw.feedback")
        assert window_rows > 20, "test setup: too little feedback to split"
        window = grading_window(MONTH, policy.window_days)
        one_pass = grading.compute_grades(con, MONTH, policy)
        recount_one_pass = _recount(con, window, policy)
        monkeypatch.setattr(grading, "FEEDBACK_ROWS_PER_PASS", 7)  # dozens of passes
        value_ranges, passes = grading.value_ranges, []

        def recorded(*args):
            ranges = value_ranges(*args)
            passes.append(len(ranges))
            return ranges

        monkeypatch.setattr(grading, "value_ranges", recorded)
        many_passes = grading.compute_grades(con, MONTH, policy)
        recount_many_passes = _recount(con, window, policy)
        earned = grading.in_passes(
            con,
            "grading/month_feedback.sql",
            {"month": MONTH, "cutoff": window.cutoff},
            lambda rows: credit_points_earned(rows, policy),
        ).collect()
    finally:
        con.close()
    assert one_pass.height == 169  # the active merchants of March (expected.json)
    # the recount and the month's points (the grades reuse stored counts), in many ranges
    assert len(passes) >= 2 and min(passes) >= 10
    assert_frame_equal(one_pass, many_passes)
    # the window's raw rows counted in one pass and in many (not from stored periods)
    assert recount_one_pass["positive_feedback"].sum() > 0
    assert_frame_equal(recount_one_pass, recount_many_passes)
    # the month's points, in passes, equal the ledger's published delta for the month
    con = connect(warehouse, read_only=True)
    try:
        ledger = grading.fetch_frame(
            con,
            "SELECT merchant_id, points_delta AS points FROM work.credit_ledger "
            "WHERE month = $month AND points_delta <> 0",
            {"month": MONTH},
        )
    finally:
        con.close()
    assert_frame_equal(
        earned.filter(pl.col("points") != 0).sort("merchant_id"),
        ledger.sort("merchant_id"),
        check_dtypes=False,
    )


def _recount(con, window, policy) -> pl.DataFrame:
    return (
        grading.window_feedback_counts(con, window, policy, reuse=False)
        .collect()
        .sort("merchant_id")
    )
