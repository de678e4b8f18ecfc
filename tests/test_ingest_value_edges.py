"""Rows exactly on the valid side of each ``bad_value`` rule are accepted (spec §1).

tests/test_ingest.py puts a row just past each rule (an amount of -0.01, an order that
ends a second before it was created, stars 0 and 6, a dsr sum one below its count) and
checks it is quarantined. A mutation audit (2026-12-07) found that a rule moved onto its
own edge (``amount_usd <= 0``, ``ended_at <= created_at``, ``dsr_item_sum <=
dsr_item_count``, ``stars <= 1``) was caught only by one seed of the spec oracle's random
data or by a fixture's setup, and a ``wrong_month`` rule that left out the month's first
instant only by tests/test_window_boundaries.py's landing: these rows sit on each edge,
and every one of them is valid.
"""

from __future__ import annotations

from pipelines.datasets import FEEDBACK, ORDERS, SERVICE_METRICS
from pipelines.ingest import ingest_month
from tests.helpers import (
    FEEDBACK_COLUMNS,
    ORDER_COLUMNS,
    SERVICE_COLUMNS,
    order,
    write_csv,
)
from tests.test_ingest import accepted, quarantined, with_merchants

JAN = "2026-01"


def test_an_order_of_zero_dollars_is_accepted(con, landing):
    """``amount_usd`` is a decimal ≥ 0: zero is a valid amount, not a negative one."""
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1", amount_usd="0.00")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    assert quarantined(con, "orders") == []
    assert accepted(con, "orders", "order_id") == ["O1"]


def test_an_order_that_ends_the_instant_it_was_created_is_accepted(con, landing):
    """Only ``ended_at`` *before* ``created_at`` is a bad value; the same instant is not."""
    with_merchants(con, landing, "M1")
    at = "2026-01-10T12:00:00Z"
    write_csv(landing, "orders", JAN, [order("O1", ended_at=at, created_at=at)], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    assert quarantined(con, "orders") == []
    assert accepted(con, "orders", "order_id") == ["O1"]


def test_feedback_of_one_and_of_five_stars_is_accepted(con, landing):
    """Stars outside 1-5 are bad values; 1 and 5 themselves are the scale's ends."""
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1"), order("O2")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    feedback = [
        ["O1", "M1", "B1", 1, "2026-01-15T00:00:00Z"],
        ["O2", "M1", "B1", 5, "2026-01-15T00:00:00Z"],
    ]
    write_csv(landing, "feedback", JAN, feedback, FEEDBACK_COLUMNS)
    ingest_month(con, landing, FEEDBACK, JAN)
    assert quarantined(con, "feedback") == []
    assert accepted(con, "feedback", "stars") == [1, 5]


def test_service_metrics_on_each_edge_of_their_rules_are_accepted(con, landing):
    """``dsr_item_sum`` in [count, 5 × count] includes both ends (every item rated 1, every
    item rated 5), replied = received and on time = due are allowed, and a day of all
    zeros is a day without activity."""
    with_merchants(con, landing, "M1")
    rows = [
        ["M1", "2026-01-03", 7, 7, 4, 4, 9, 9],  # dsr sum = count: every item rated 1
        ["M1", "2026-01-04", 7, 7, 20, 4, 9, 9],  # dsr sum = 5 x count: every item rated 5
        ["M1", "2026-01-05", 0, 0, 0, 0, 0, 0],  # nothing happened
    ]
    write_csv(landing, "service_metrics", JAN, rows, SERVICE_COLUMNS)
    ingest_month(con, landing, SERVICE_METRICS, JAN)
    assert quarantined(con, "service_metrics") == []
    assert len(accepted(con, "service_metrics", "metric_date")) == 3


def test_rows_at_the_first_instant_of_their_month_are_in_it(con, landing):
    """A month holds [its first instant, the next month's first instant): a row stamped
    at 00:00:00 on the 1st is in its folder's month, not ``wrong_month`` (the rule's other
    end, the next month's first instant, is test_ingest's test_wrong_month_is_quarantined).
    """
    with_merchants(con, landing, "M1")
    first = "2026-01-01T00:00:00Z"
    write_csv(
        landing,
        "orders",
        JAN,
        [order("O1", ended_at=first, created_at="2025-12-31T23:00:00Z")],
        ORDER_COLUMNS,
    )
    ingest_month(con, landing, ORDERS, JAN)
    write_csv(landing, "feedback", JAN, [["O1", "M1", "B1", 5, first]], FEEDBACK_COLUMNS)
    ingest_month(con, landing, FEEDBACK, JAN)
    write_csv(
        landing, "service_metrics", JAN, [["M1", "2026-01-01", 1, 1, 5, 1, 1, 1]], SERVICE_COLUMNS
    )
    ingest_month(con, landing, SERVICE_METRICS, JAN)
    for dataset in ("orders", "feedback", "service_metrics"):
        assert quarantined(con, dataset) == [], dataset
    assert accepted(con, "feedback", "order_id") == ["O1"]
    assert accepted(con, "service_metrics", "merchant_id") == ["M1"]
