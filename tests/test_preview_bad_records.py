"""A preview counts a bad-order record only for an order its window assesses (§4, §11).

``bad_orders`` are *assessed* orders with a record before the cutoff. A record can come
before its order ends (a late shipment is recorded while the order is still open, and
the order ends once delivered), so a preview's cutoff can fall between the two: the
record is before the cutoff, the order's end is not, and the order is not assessed.
For a month-end grade the order always ends before the cutoff (a record's order is
ingested in its month or earlier), so only a preview can tell. A mutation audit
(2026-12-07) found that nothing failed when window_bad_records.sql dropped its
``order_ended_at < $cutoff``: the preview then counted a bad order it did not assess.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assets.runner import grade_months
from pipelines import grading
from pipelines.policy import load_policy
from pipelines.warehouse import connect, fetch_frame
from tests.helpers import (
    BAD_ORDER_COLUMNS,
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    SERVICE_COLUMNS,
    merchant,
    order,
    write_csv,
)

MONTH = "2026-03"
AS_OF = dt.date(2026, 3, 15)  # the preview's cutoff: 2026-03-16T00:00
MERCHANT = "M-OPEN"
COUNTS = ("assessed_orders", "bad_orders", "seller_dispute_orders")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """March graded: O-DONE ended on the 10th; O-OPEN ended on the 20th, after the
    preview's cutoff, with a late shipment recorded on the 14th, before it."""
    root = tmp_path_factory.mktemp("preview_bad_records")
    landing = root / "landing"
    write_csv(landing, "merchants", MONTH, [merchant(MERCHANT)], MERCHANT_COLUMNS)
    orders = [
        order("O-DONE", MERCHANT, "2026-03-10T12:00:00Z", created_at="2026-03-01T00:00:00Z"),
        order("O-OPEN", MERCHANT, "2026-03-20T00:00:00Z", created_at="2026-03-01T00:00:00Z"),
    ]
    write_csv(landing, "orders", MONTH, orders, ORDER_COLUMNS)
    late = [["O-OPEN", MERCHANT, "late_shipment", "2026-03-14T00:00:00Z", "false"]]
    write_csv(landing, "bad_orders", MONTH, late, BAD_ORDER_COLUMNS)
    write_csv(landing, "feedback", MONTH, [], FEEDBACK_COLUMNS)
    write_csv(landing, "service_metrics", MONTH, [], SERVICE_COLUMNS)
    results = grade_months(landing, root / "w.duckdb", root / "out", MONTH)
    assert [r.month for r in results] == [MONTH]
    return root / "w.duckdb"


def _counts(frame) -> dict:
    row = frame.filter(merchant_id=MERCHANT).row(0, named=True)
    return {c: row[c] for c in COUNTS}


def test_the_month_end_grade_counts_the_order_and_its_record(warehouse) -> None:
    con = connect(warehouse, read_only=True)
    try:
        published = fetch_frame(
            con, "SELECT * FROM main.merchant_grades WHERE month = $m", {"m": MONTH}
        )
    finally:
        con.close()
    assert _counts(published) == {
        "assessed_orders": 2,
        "bad_orders": 1,
        "seller_dispute_orders": 0,
    }


def test_a_preview_leaves_out_the_record_of_an_order_that_ends_after_its_cutoff(
    warehouse,
) -> None:
    """As of 15 March only O-DONE is assessed; O-OPEN's record is before the cutoff but
    its order is not in the window, so no bad order (and no bad_order_rate above 0)."""
    con = connect(warehouse, read_only=True)
    try:
        preview = grading.compute_grades(con, MONTH, load_policy(), as_of=AS_OF)
    finally:
        con.close()
    assert _counts(preview) == {
        "assessed_orders": 1,
        "bad_orders": 0,
        "seller_dispute_orders": 0,
    }
    assert preview.filter(merchant_id=MERCHANT)["bad_order_rate"].to_list() == [0.0]
