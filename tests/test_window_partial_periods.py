"""Windows that start inside a ten-day period, in the same month folder as its end (§3, §4).

A window adds up the stored counts of its whole periods and recounts from raw rows only
the period it starts inside of, from its first instant up to the next period's first
(grading.window_feedback_counts). tests/test_window_boundaries.py covers April's window,
which starts on 31 January: its partial period ends on 1 February, in another month
folder than the one the recount reads. Here the partial period ends inside its own
folder: May 2026's window starts on 3 March (partial period 3-10 March) and June's on
2 April (2-10 April), the day after a period's first day.

A mutation audit (2026-12-07) found that nothing failed when the recount also took the
next period's first instant (``<= $period_end``: a feedback then counted twice, once in
the recount and once in the stored period), nor when the stored periods' first days
were one day late (a whole period the window starts after was then added in full).
Each feedback below has its own buyer, so no ten-day period folds two, and the expected
counts are worked out by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import grading
from pipelines.months import grading_window
from pipelines.policy import load_policy
from pipelines.warehouse import connect, fetch_frame
from tests.helpers import (
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    graded_through,
    merchant,
    order,
    write_csv,
)

MERCHANT = "M-PARTIAL"
MONTHS = ["2026-03", "2026-04", "2026-05", "2026-06"]
JUST_BEFORE = "23:59:59.999999Z"

# (order id, buyer, stars, feedback_at); each order ends on the first day of its month
FEEDBACK = [
    ("O-1", "B1", 5, f"2026-03-02T{JUST_BEFORE}"),  # just before May's window
    ("O-2", "B2", 5, "2026-03-03T00:00:00Z"),  # May's first instant
    ("O-3", "B3", 1, f"2026-03-10T{JUST_BEFORE}"),  # May's partial period's last instant
    ("O-4", "B4", 5, "2026-03-11T00:00:00Z"),  # the first instant after May's partial period
    ("O-5", "B5", 5, "2026-04-01T12:00:00Z"),  # the day before June's window
    ("O-6", "B6", 5, "2026-04-02T00:00:00Z"),  # June's first instant
    ("O-7", "B7", 1, "2026-04-11T00:00:00Z"),  # the first instant after June's partial period
]
# What each window holds, counted by hand from the rows above.
EXPECTED = {
    "2026-03": {"positive_feedback": 3, "negative_feedback": 1},  # O-1 to O-4
    "2026-04": {"positive_feedback": 5, "negative_feedback": 2},  # all seven
    "2026-05": {"positive_feedback": 4, "negative_feedback": 2},  # O-2 to O-7
    "2026-06": {"positive_feedback": 1, "negative_feedback": 1},  # O-6, O-7
}
FEEDBACK_COUNTS = ("positive_feedback", "negative_feedback")


def _write_landing(landing: Path) -> None:
    for month in MONTHS:
        write_csv(landing, "merchants", month, [merchant(MERCHANT)], MERCHANT_COLUMNS)
        rows = [f for f in FEEDBACK if f[3].startswith(month)]
        orders = [
            order(
                oid,
                MERCHANT,
                f"{month}-01T10:00:00Z",
                buyer_id=buyer,
                created_at=f"{month}-01T09:00:00Z",
            )
            for oid, buyer, _, _ in rows
        ]
        write_csv(landing, "orders", month, orders, ORDER_COLUMNS)
        feedback = [[oid, MERCHANT, buyer, stars, at] for oid, buyer, stars, at in rows]
        write_csv(landing, "feedback", month, feedback, FEEDBACK_COLUMNS)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    return graded_through(tmp_path_factory.mktemp("partial_periods"), _write_landing, MONTHS)


def test_may_and_june_windows_start_the_day_after_a_period_start_in_their_first_folder() -> None:
    """The setup the tests below rely on: each window's partial period ends inside the
    month folder it starts in (the folder the recount reads)."""
    policy = load_policy()
    starts = {m: grading_window(m, policy.window_days).window_start.date() for m in MONTHS}
    assert [(d.month, d.day) for d in starts.values()] == [(1, 1), (1, 31), (3, 3), (4, 2)]


@pytest.mark.parametrize("month", MONTHS)
def test_published_window_counts_each_feedback_once(warehouse, month) -> None:
    """merchant_grades as published: the stored whole periods plus the partial period's
    recount count every feedback of the window once, and none before it."""
    con = connect(warehouse, read_only=True)
    try:
        grade = fetch_frame(
            con,
            "SELECT * FROM main.merchant_grades WHERE month = $month AND merchant_id = $m",
            {"month": month, "m": MERCHANT},
        ).row(0, named=True)
    finally:
        con.close()
    assert {c: grade[c] for c in FEEDBACK_COUNTS} == EXPECTED[month]


@pytest.mark.parametrize("month", MONTHS)
def test_stored_periods_add_up_to_the_raw_recount(warehouse, month) -> None:
    """The stored periods' path (reuse) and the raw recount of the window (a preview's or
    a changed rule's path) count alike, and as worked out by hand."""
    policy = load_policy()
    window = grading_window(month, policy.window_days)
    con = connect(warehouse, read_only=True)
    try:
        counts = {
            reuse: grading.window_feedback_counts(con, window, policy, reuse=reuse)
            .collect()
            .filter(merchant_id=MERCHANT)
            .select(FEEDBACK_COUNTS)
            .row(0, named=True)
            for reuse in (True, False)
        }
    finally:
        con.close()
    assert counts[True] == counts[False] == EXPECTED[month]
