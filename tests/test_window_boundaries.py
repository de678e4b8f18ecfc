"""Records at the exact instants that bound a window (spec §2, §4, §11).

One merchant's rows sit on the edges of three windows: March's, [2026-01-01, 2026-04-01);
April's, [2026-01-31, 2026-05-01), which starts inside the ten-day period 21-31 January;
and a preview's as of 2026-03-15, [2025-12-16, 2026-03-16). Each row is either at the
first instant of a window (it counts), or a microsecond before it, or at the cutoff
(it does not). The expected counts are worked out by hand below, so a filter that moves
an edge by one instant (`>` for `>=`, `<=` for `<`, a cutoff left out) fails here:
found by a mutation audit, where the other tests' data had no row on these instants.

Months are graded through the Dagster job (grade_months); the preview goes through
``compute_grades`` with its as-of day, and the window's raw recount through
``window_feedback_counts(reuse=False)``, the paths a preview and a policy change take.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest

from pipelines import grading
from pipelines.months import grading_window
from pipelines.policy import load_policy
from pipelines.warehouse import connect, fetch_frame
from tests.helpers import (
    BAD_ORDER_COLUMNS,
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    SERVICE_COLUMNS,
    graded_through,
    merchant,
    order,
    write_csv,
)

MERCHANT = "M-EDGE"
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]
JUST_BEFORE = "23:59:59.999999Z"

# order id -> (month folder, ended_at)
ORDERS = {
    "O-START": ("2026-01", "2026-01-01T00:00:00Z"),  # March's first instant
    "O-JAN20": ("2026-01", "2026-01-20T12:00:00Z"),
    "O-JAN30": ("2026-01", f"2026-01-30T{JUST_BEFORE}"),  # just before April's window
    "O-JAN31": ("2026-01", "2026-01-31T00:00:00Z"),  # April's first instant
    "O-FEB": ("2026-02", "2026-02-15T12:00:00Z"),
    "O-MAR10": ("2026-03", "2026-03-10T08:00:00Z"),
    "O-MAR16": ("2026-03", "2026-03-16T00:00:00Z"),  # the preview's cutoff
    "O-MARLAST": ("2026-03", f"2026-03-31T{JUST_BEFORE}"),  # March's last instant
    "O-APR": ("2026-04", "2026-04-15T12:00:00Z"),
}
# (order id, buyer, stars, feedback_at): one buyer each, so no ten-day period folds two
FEEDBACK = [
    ("O-START", "B1", 5, "2026-01-01T00:00:00Z"),  # March's first instant
    ("O-JAN20", "B2", 1, f"2026-01-30T{JUST_BEFORE}"),  # just before April's window
    ("O-JAN30", "B3", 5, "2026-01-31T00:00:00Z"),  # April's first instant, mid-period
    ("O-FEB", "B4", 5, "2026-02-16T12:00:00Z"),
    ("O-MAR10", "B5", 5, f"2026-03-15T{JUST_BEFORE}"),  # the preview's last instant
    ("O-JAN31", "B6", 1, "2026-03-16T00:00:00Z"),  # the preview's cutoff
    ("O-APR", "B7", 5, "2026-04-16T12:00:00Z"),
]
# (order id, reason, recorded_at, exempt)
BAD_ORDERS = [
    ("O-START", "late_shipment", "2026-01-02T00:00:00Z", "false"),
    ("O-JAN20", "low_dsr", f"2026-03-15T{JUST_BEFORE}", "false"),  # the preview's last
    ("O-MAR10", "seller_responsible_dispute", "2026-03-16T00:00:00Z", "false"),  # cutoff
    ("O-FEB", "late_shipment", "2026-02-20T00:00:00Z", "true"),  # exempt: never counts
]
# metric_date -> (received, replied, dsr sum, dsr count, due, on time)
SERVICE = {
    "2026-01-01": (0, 0, 0, 0, 5, 5),  # March's first day
    "2026-01-30": (0, 0, 0, 0, 100, 0),  # the day before April's window
    "2026-01-31": (0, 0, 0, 0, 10, 10),  # April's first day
    "2026-03-15": (10, 10, 50, 10, 30, 30),  # the preview's last day
    "2026-03-16": (10, 0, 10, 10, 40, 0),  # the day after it
}

# What each window holds, counted by hand from the rows above.
EXPECTED = {
    "march": {
        "assessed_orders": 8,  # every order but April's
        "bad_orders": 3,  # O-START, O-JAN20, O-MAR10
        "seller_dispute_orders": 1,  # O-MAR10
        "positive_feedback": 4,  # B1, B3, B4, B5
        "negative_feedback": 2,  # B2, B6
        "dsr": Fraction(60, 20),
        "on_time": Fraction(45, 185),
        "response": Fraction(10, 20),
    },
    "april": {
        "assessed_orders": 6,  # O-JAN31 on, not O-JAN30
        "bad_orders": 1,  # O-MAR10 (O-START and O-JAN20 ended before the window)
        "seller_dispute_orders": 1,
        "positive_feedback": 4,  # B3, B4, B5, B7: not B1, and B2 is a microsecond early
        "negative_feedback": 1,  # B6
        "dsr": Fraction(60, 20),
        "on_time": Fraction(40, 80),  # not 30 January's 100 due
        "response": Fraction(10, 20),
    },
    "preview": {
        "assessed_orders": 6,  # not O-MAR16 (at the cutoff) nor O-MARLAST
        "bad_orders": 2,  # O-START, O-JAN20: O-MAR10's record is at the cutoff
        "seller_dispute_orders": 0,
        "positive_feedback": 4,  # B1, B3, B4, B5
        "negative_feedback": 1,  # B2: B6 is at the cutoff
        "dsr": Fraction(50, 10),
        "on_time": Fraction(145 - 100, 145),
        "response": Fraction(10, 10),
    },
}
COUNTS = ("assessed_orders", "bad_orders", "seller_dispute_orders")
FEEDBACK_COUNTS = ("positive_feedback", "negative_feedback")
RATES = {"dsr": "dsr_item_avg", "on_time": "on_time_ship_rate", "response": "response_rate_24h"}


def _write_landing(landing: Path) -> None:
    """The edge merchant in every month's snapshot, and its rows in their month folders."""
    for month in MONTHS:
        write_csv(landing, "merchants", month, [merchant(MERCHANT)], MERCHANT_COLUMNS)
        orders = [
            order(oid, MERCHANT, ended, buyer_id=f"BUY-{oid}", created_at="2025-12-31T10:00:00Z")
            for oid, (folder, ended) in ORDERS.items()
            if folder == month
        ]
        write_csv(landing, "orders", month, orders, ORDER_COLUMNS)
        feedback = [
            [oid, MERCHANT, buyer, stars, at]
            for oid, buyer, stars, at in FEEDBACK
            if at.startswith(month)
        ]
        write_csv(landing, "feedback", month, feedback, FEEDBACK_COLUMNS)
        bad = [[oid, MERCHANT, *rest] for oid, *rest in BAD_ORDERS if rest[1].startswith(month)]
        if bad:
            write_csv(landing, "bad_orders", month, bad, BAD_ORDER_COLUMNS)
        service = [[MERCHANT, day, *v] for day, v in SERVICE.items() if day.startswith(month)]
        if service:
            write_csv(landing, "service_metrics", month, service, SERVICE_COLUMNS)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    return graded_through(tmp_path_factory.mktemp("window_edges"), _write_landing, MONTHS)


def _published(warehouse: Path, month: str) -> dict:
    con = connect(warehouse, read_only=True)
    try:
        frame = fetch_frame(
            con,
            "SELECT * FROM main.merchant_grades WHERE month = $month AND merchant_id = $m",
            {"month": month, "m": MERCHANT},
        )
    finally:
        con.close()
    assert frame.height == 1
    return frame.row(0, named=True)


def _assert_grade(grade: dict, expected: dict) -> None:
    for column in (*COUNTS, *FEEDBACK_COUNTS):
        assert grade[column] == expected[column], column
    for key, column in RATES.items():
        assert grade[column] == pytest.approx(float(expected[key]), abs=1e-12), column


def test_the_data_quarantines_nothing(warehouse) -> None:
    """Every edge row is valid, so each one reaches the windows it belongs to."""
    con = connect(warehouse, read_only=True)
    try:
        quarantined = fetch_frame(con, "SELECT dataset, reason FROM main.quarantine")
    finally:
        con.close()
    assert quarantined.is_empty(), quarantined


@pytest.mark.parametrize(("month", "window"), [("2026-03", "march"), ("2026-04", "april")])
def test_published_month_counts_records_on_its_window_edges(warehouse, month, window) -> None:
    _assert_grade(_published(warehouse, month), EXPECTED[window])


def test_april_window_starts_inside_a_ten_day_period() -> None:
    """April's window edge is inside 21-31 January: the stored period counts cover only
    whole periods, so its first days are counted from raw rows (partial_period_feedback)."""
    policy = load_policy()
    start = grading_window("2026-04", policy.window_days).window_start
    assert start == dt.datetime(2026, 1, 31)
    assert start.day not in policy.period_start_days


@pytest.mark.parametrize(("month", "window"), [("2026-03", "march"), ("2026-04", "april")])
def test_raw_recount_of_the_window_counts_its_edges(warehouse, month, window) -> None:
    """The recount a preview or a changed counting rule makes (reuse=False) agrees."""
    policy = load_policy()
    con = connect(warehouse, read_only=True)
    try:
        counts = grading.window_feedback_counts(
            con, grading_window(month, policy.window_days), policy, reuse=False
        ).collect()
    finally:
        con.close()
    row = counts.filter(merchant_id=MERCHANT).row(0, named=True)
    for column in FEEDBACK_COUNTS:
        assert row[column] == EXPECTED[window][column], column


def test_preview_counts_nothing_from_its_cutoff_on(warehouse) -> None:
    """As of 15 March: a bad-order record, a feedback and a day of service metrics at the
    cutoff (16 March) are left out; those on the 15th's last instant count."""
    policy = load_policy()
    window = grading_window("2026-03", policy.window_days, dt.date(2026, 3, 15))
    assert (window.window_start, window.cutoff) == (
        dt.datetime(2025, 12, 16),
        dt.datetime(2026, 3, 16),
    )
    con = connect(warehouse, read_only=True)
    try:
        grades = grading.compute_grades(con, "2026-03", policy, as_of=dt.date(2026, 3, 15))
    finally:
        con.close()
    _assert_grade(grades.filter(merchant_id=MERCHANT).row(0, named=True), EXPECTED["preview"])
