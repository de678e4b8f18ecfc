"""Window feedback counts added up from stored period counts equal a recount of raw rows.

Each month's credit step stores counted feedback per merchant and ten-day period; a
window then adds up its whole periods and recounts only the period it starts inside of.
April's 90-day window starts on 31 January (a partial period, 21-31 January), March's on
1 January (whole periods only).
"""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.runner import grade_months
from pipelines import grading
from pipelines.generate import generate_landing
from pipelines.months import grading_window
from pipelines.policy import load_policy
from pipelines.warehouse import connect, fetch_frame

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("window_counts")
    generate_landing(root / "landing", merchants=60, months=MONTHS, orders_per_month=6000)
    results = grade_months(root / "landing", root / "w.duckdb", root / "out", MONTHS[-1])
    assert [r.month for r in results] == MONTHS
    return root / "w.duckdb"


def _counts(con, month: str, policy, reuse: bool) -> pl.DataFrame:
    window = grading_window(month, policy.window_days)
    return grading.window_feedback_counts(con, window, policy, reuse=reuse).collect()


@pytest.mark.parametrize("month", MONTHS)
def test_stored_period_counts_add_up_to_a_recount(warehouse, month) -> None:
    policy = load_policy()
    con = connect(warehouse, read_only=True)
    try:
        window = grading_window(month, policy.window_days)
        assert grading.stored_counts_cover(con, window, policy)
        stored = _counts(con, month, policy, reuse=True).sort("merchant_id")
        recount = _counts(con, month, policy, reuse=False).sort("merchant_id")
    finally:
        con.close()
    assert recount["positive_feedback"].sum() > 0, "test setup: no counted feedback"
    assert_frame_equal(stored, recount, check_dtypes=False)


def test_april_window_starts_inside_a_period(warehouse) -> None:
    policy = load_policy()
    start = grading_window("2026-04", policy.window_days).window_start.date()
    assert start.day not in policy.period_start_days  # the partial period is exercised
    con = connect(warehouse, read_only=True)
    try:
        partial = fetch_frame(
            con,
            "SELECT count(*) AS n FROM raw.feedback WHERE month = '2026-01' "
            "AND feedback_at >= $start AND feedback_at < '2026-02-01'",
            {"start": grading_window("2026-04", policy.window_days).window_start},
        )
    finally:
        con.close()
    assert partial["n"][0] > 0, "test setup: no feedback in the partial period"


def test_a_changed_counting_rule_recounts_raw_rows(warehouse) -> None:
    policy = load_policy()
    stricter = dataclasses.replace(policy, positive_min_stars=5)
    renamed = dataclasses.replace(policy, version="what-if")  # no counting number changed
    con = connect(warehouse, read_only=True)
    try:
        window = grading_window("2026-04", policy.window_days)
        assert not grading.stored_counts_cover(con, window, stricter)
        assert grading.stored_counts_cover(con, window, renamed)
        counted = _counts(con, "2026-04", stricter, reuse=True).sort("merchant_id")
        recount = _counts(con, "2026-04", stricter, reuse=False).sort("merchant_id")
        published = _counts(con, "2026-04", policy, reuse=True)
    finally:
        con.close()
    assert_frame_equal(counted, recount, check_dtypes=False)
    assert counted["positive_feedback"].sum() < published["positive_feedback"].sum()


def test_re_ingested_feedback_is_not_read_from_stale_counts(warehouse, tmp_path) -> None:
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    policy = load_policy()
    con = connect(copy)
    try:
        window = grading_window("2026-04", policy.window_days)
        # February's feedback as if re-ingested with other rows, its credit step not rerun
        con.execute(
            "UPDATE raw.ingest_log SET rows_digest = 'other rows' "
            "WHERE dataset = 'feedback' AND month = '2026-02'"
        )
        con.execute(
            "DELETE FROM raw.feedback WHERE month = '2026-02' AND stars >= $stars",
            {"stars": policy.positive_min_stars},
        )
        assert not grading.stored_counts_cover(con, window, policy)
        counted = _counts(con, "2026-04", policy, reuse=True).sort("merchant_id")
        recount = _counts(con, "2026-04", policy, reuse=False).sort("merchant_id")
    finally:
        con.close()
    assert_frame_equal(counted, recount, check_dtypes=False)
