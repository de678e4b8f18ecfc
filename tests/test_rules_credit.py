"""Tests of credit points and levels (spec §3): star polarity, the $5 rule, at most one of
each polarity per (merchant, buyer, ten-day period), the level bounds, and the ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import polars as pl
import pytest

from pipelines.policy import load_policy
from pipelines.rules.credit import (
    assign_levels,
    count_feedback,
    credit_points_earned,
    level_expr,
    roll_credit_ledger,
)

POLICY = load_policy()
FEEDBACK_SCHEMA = {
    "merchant_id": pl.String,
    "buyer_id": pl.String,
    "stars": pl.Int64,
    "feedback_at": pl.Datetime("us"),
    "order_amount_usd": pl.Decimal(38, 10),
}


def _feedback(*rows: tuple) -> pl.LazyFrame:
    """Rows of (merchant_id, buyer_id, stars, feedback_at[, amount]); amount defaults to 20."""
    full = [(*r, Decimal("20")) if len(r) == 4 else (*r[:4], Decimal(r[4])) for r in rows]
    return pl.DataFrame(full, schema=FEEDBACK_SCHEMA, orient="row").lazy()


def _counts(feedback: pl.LazyFrame) -> dict[str, tuple[int, int, int]]:
    frame = count_feedback(feedback, POLICY).collect()
    return {
        r["merchant_id"]: (r["positive_feedback"], r["neutral_feedback"], r["negative_feedback"])
        for r in frame.iter_rows(named=True)
    }


def _points(feedback: pl.LazyFrame) -> dict[str, int]:
    frame = credit_points_earned(feedback, POLICY).collect()
    return dict(zip(frame["merchant_id"], frame["points"], strict=True))


def _day(y: int, m: int, d: int, hour: int = 12) -> datetime:
    return datetime(y, m, d, hour)


# --- polarity and the $5 rule --------------------------------------------------------------


@pytest.mark.parametrize(
    "stars, expected",
    [
        (5, (1, 0, 0)),
        (4, (1, 0, 0)),
        (3, (0, 1, 0)),
        (2, (0, 0, 1)),
        (1, (0, 0, 1)),
    ],
)
def test_star_polarity(stars: int, expected: tuple[int, int, int]) -> None:
    counts = _counts(_feedback(("m1", "b1", stars, _day(2026, 3, 5))))
    assert counts == {"m1": expected}
    assert _points(_feedback(("m1", "b1", stars, _day(2026, 3, 5)))) == {
        "m1": expected[0] - expected[2]
    }


def test_each_star_from_different_buyers_sums_to_points() -> None:
    fb = _feedback(*[("m1", f"b{s}", s, _day(2026, 3, 5)) for s in (5, 4, 3, 2, 1)])
    assert _counts(fb) == {"m1": (2, 1, 2)}
    assert _points(fb) == {"m1": 0}


@pytest.mark.parametrize(
    "amount, counts",
    [
        ("4.99", False),
        ("4.9999999999", False),
        ("5.00", True),
        ("5.0000000001", True),
        ("5.01", True),
        ("0", False),
    ],
)
def test_five_dollar_rule(amount: str, counts: bool) -> None:
    fb = _feedback(
        ("m1", "b1", 5, _day(2026, 3, 5), amount), ("m1", "b2", 1, _day(2026, 3, 5), amount)
    )
    result = _counts(fb)
    if counts:
        assert result == {"m1": (1, 0, 1)}
    else:
        assert result.get("m1", (0, 0, 0)) == (0, 0, 0)


def test_small_order_does_not_use_up_the_period_allowance() -> None:
    # The $4.99 positive earns nothing; the $5 positive of the same buyer and period counts.
    fb = _feedback(
        ("m1", "b1", 5, _day(2026, 3, 2), "4.99"), ("m1", "b1", 5, _day(2026, 3, 3), "5.00")
    )
    assert _points(fb) == {"m1": 1}


# --- one of each polarity per (merchant, buyer, ten-day period) ---------------------------


def test_same_buyer_same_period_counts_once_per_polarity() -> None:
    fb = _feedback(
        ("m1", "b1", 5, _day(2026, 3, 1)),
        ("m1", "b1", 4, _day(2026, 3, 10)),
        ("m1", "b1", 3, _day(2026, 3, 2)),
        ("m1", "b1", 3, _day(2026, 3, 9)),
        ("m1", "b1", 1, _day(2026, 3, 3)),
        ("m1", "b1", 2, _day(2026, 3, 8)),
    )
    assert _counts(fb) == {"m1": (1, 1, 1)}
    assert _points(fb) == {"m1": 0}


@pytest.mark.parametrize(
    "first, second, same_period",
    [
        (_day(2026, 3, 1, 0), _day(2026, 3, 10, 23), True),
        (_day(2026, 3, 10, 23), _day(2026, 3, 11, 0), False),
        (_day(2026, 3, 11), _day(2026, 3, 20), True),
        (_day(2026, 3, 20, 23), _day(2026, 3, 21, 0), False),
        (_day(2026, 3, 21), _day(2026, 3, 31, 23), True),  # day 31 of a 31-day month
        (_day(2026, 2, 21), _day(2026, 2, 28, 23), True),  # 28 Feb, common year
        (_day(2028, 2, 21), _day(2028, 2, 29, 23), True),  # 29 Feb, leap year 2028
        (_day(2028, 2, 28), _day(2028, 2, 29), True),
        (_day(2028, 2, 29, 23), _day(2028, 3, 1, 0), False),  # next month starts a new period
        (_day(2026, 3, 31, 23), _day(2026, 4, 1, 0), False),
        (_day(2026, 1, 5), _day(2026, 2, 5), False),  # same day number, different month
        (_day(2025, 3, 5), _day(2026, 3, 5), False),  # same month number, different year
    ],
)
def test_ten_day_periods(first: datetime, second: datetime, same_period: bool) -> None:
    fb = _feedback(("m1", "b1", 5, first), ("m1", "b1", 5, second))
    assert _points(fb) == {"m1": 1 if same_period else 2}


def test_different_buyers_in_the_same_period_count_separately() -> None:
    fb = _feedback(
        ("m1", "b1", 5, _day(2026, 3, 3)),
        ("m1", "b2", 5, _day(2026, 3, 3)),
        ("m1", "b1", 1, _day(2026, 3, 4)),
        ("m1", "b2", 1, _day(2026, 3, 4)),
    )
    assert _counts(fb) == {"m1": (2, 0, 2)}


def test_same_buyer_different_merchants_count_separately() -> None:
    fb = _feedback(
        ("m1", "b1", 5, _day(2026, 3, 3)),
        ("m2", "b1", 5, _day(2026, 3, 3)),
        ("m2", "b1", 4, _day(2026, 3, 4)),
    )
    assert _points(fb) == {"m1": 1, "m2": 1}


def test_negative_points_are_kept() -> None:
    fb = _feedback(
        ("m1", "b1", 1, _day(2026, 3, 3)),
        ("m1", "b1", 1, _day(2026, 3, 13)),
        ("m1", "b2", 2, _day(2026, 3, 13)),
    )
    assert _points(fb) == {"m1": -3}


def test_empty_feedback_gives_no_rows() -> None:
    assert count_feedback(_feedback(), POLICY).collect().height == 0


# --- levels --------------------------------------------------------------------------------


LEVEL_CASES = [
    (-50, 0),
    (-1, 0),
    (0, 0),
    (2, 0),
    (3, 1),
    (9, 1),
    (10, 2),
    (29, 2),
    (30, 3),
    (99, 3),
    (100, 4),
    (199, 4),
    (200, 5),
    (499, 5),
    (500, 6),
    (999, 6),
    (1000, 7),
    (1999, 7),
    (2000, 8),
    (4999, 8),
    (5000, 9),
    (9999, 9),
    (10000, 10),
    (1_000_000, 10),
]


def test_every_level_bound() -> None:
    frame = pl.DataFrame(
        {
            "merchant_id": [f"m{i}" for i in range(len(LEVEL_CASES))],
            "credit_points": [p for p, _ in LEVEL_CASES],
        },
        schema={"merchant_id": pl.String, "credit_points": pl.Int64},
    )
    levels = assign_levels(frame.lazy(), POLICY).collect()
    assert levels["level"].to_list() == [lvl for _, lvl in LEVEL_CASES]
    assert levels["credit_points"].to_list() == [p for p, _ in LEVEL_CASES]


def test_level_expr_on_another_column() -> None:
    frame = pl.DataFrame({"pts": [2, 3, 10000]}, schema={"pts": pl.Int64})
    assert frame.select(level_expr(POLICY, "pts"))["pts"].to_list() == [0, 1, 10]


# --- the ledger ----------------------------------------------------------------------------


def test_roll_credit_ledger_adds_previous_totals() -> None:
    previous = pl.DataFrame(
        {"merchant_id": ["a", "b", "c"], "credit_points": [10, 5, -2]},
        schema={"merchant_id": pl.String, "credit_points": pl.Int64},
    )
    earned = pl.DataFrame(
        {"merchant_id": ["a", "c", "d"], "points": [3, -4, 7]},
        schema={"merchant_id": pl.String, "points": pl.Int64},
    )
    ledger = roll_credit_ledger(previous.lazy(), earned.lazy()).collect().sort("merchant_id")
    assert ledger.columns == ["merchant_id", "points_delta", "credit_points"]
    assert ledger.rows() == [
        ("a", 3, 13),
        ("b", 0, 5),  # no new points: kept, with its previous total
        ("c", -4, -6),
        ("d", 7, 7),  # new merchant: starts from 0
    ]
    assert ledger.schema["credit_points"] == pl.Int64
    assert ledger.schema["points_delta"] == pl.Int64


def test_roll_credit_ledger_from_empty_history() -> None:
    previous = pl.DataFrame(schema={"merchant_id": pl.String, "credit_points": pl.Int64})
    earned = credit_points_earned(_feedback(("m1", "b1", 5, _day(2026, 3, 3))), POLICY)
    ledger = roll_credit_ledger(previous.lazy(), earned).collect()
    assert ledger.rows() == [("m1", 1, 1)]


def test_ledger_over_two_months_counts_the_same_buyer_twice() -> None:
    # Same buyer, same period index (days 1-10), two months: one point each month.
    jan = credit_points_earned(_feedback(("m1", "b1", 5, _day(2026, 1, 5))), POLICY)
    feb = credit_points_earned(_feedback(("m1", "b1", 5, _day(2026, 2, 5))), POLICY)
    empty = pl.DataFrame(schema={"merchant_id": pl.String, "credit_points": pl.Int64}).lazy()
    after_jan = roll_credit_ledger(empty, jan).collect()
    after_feb = roll_credit_ledger(after_jan.lazy(), feb).collect()
    assert after_feb.rows() == [("m1", 1, 2)]
