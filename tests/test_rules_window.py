"""Tests of the graded month's calendar (spec §2) and the window metrics (spec §4):
cutoff and window bounds, rates defined only from their minimum denominators, and bad-order
counting by distinct order."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest

from pipelines.months import add_months, grading_window, month_range, parse_month
from pipelines.policy import LOWER_BOUNDED, UPPER_BOUNDED, load_policy
from pipelines.rules.credit import count_feedback
from pipelines.rules.metrics import bad_order_counts, window_metrics, with_rates
from tests.helpers import COUNT_COLUMNS

POLICY = load_policy()
RATES = (*UPPER_BOUNDED, *LOWER_BOUNDED)  # the six rates of spec §5


# --- months and the grading window ---------------------------------------------------------


def test_window_of_march_2026() -> None:
    w = grading_window("2026-03", 90)
    assert w.month == "2026-03"
    assert w.month_start == datetime(2026, 3, 1)
    assert w.cutoff == datetime(2026, 4, 1)
    assert w.last_day == date(2026, 3, 31)
    assert w.window_start == datetime(2026, 1, 1)  # 31 + 28 + 31 = 90 days
    assert w.window_months == ["2026-01", "2026-02", "2026-03"]
    assert (w.cutoff - w.window_start).days == 90


def test_window_across_the_year_end() -> None:
    w = grading_window("2026-01", 90)
    assert w.window_start == datetime(2025, 11, 3)
    assert w.cutoff == datetime(2026, 2, 1)
    assert w.last_day == date(2026, 1, 31)
    assert w.window_months == ["2025-11", "2025-12", "2026-01"]
    assert (w.cutoff - w.window_start).days == 90


def test_december_cutoff_is_next_january() -> None:
    w = grading_window("2025-12", 90)
    assert w.cutoff == datetime(2026, 1, 1)
    assert w.last_day == date(2025, 12, 31)
    assert w.window_start == datetime(2025, 10, 3)


def test_window_of_leap_february() -> None:
    w = grading_window("2028-02", 90)
    assert w.last_day == date(2028, 2, 29)
    assert w.cutoff == datetime(2028, 3, 1)
    assert w.window_start == datetime(2027, 12, 2)  # 30 (Dec 2-31) + 31 + 29 = 90
    assert w.window_months == ["2027-12", "2028-01", "2028-02"]
    assert (w.cutoff - w.window_start).days == 90


def test_window_of_common_february() -> None:
    w = grading_window("2026-02", 90)
    assert w.last_day == date(2026, 2, 28)
    assert w.window_start == datetime(2025, 12, 1)
    assert w.window_months == ["2025-12", "2026-01", "2026-02"]


@pytest.mark.parametrize("days", [1, 28, 31, 90, 365])
def test_window_length_is_the_policy_days(days: int) -> None:
    w = grading_window("2026-05", days)
    assert (w.cutoff - w.window_start).days == days
    assert w.window_start.time() == datetime.min.time()


def test_add_months_and_month_range() -> None:
    assert add_months("2025-12", 1) == "2026-01"
    assert add_months("2026-01", -1) == "2025-12"
    assert add_months("2026-03", -14) == "2025-01"
    assert month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert month_range("2026-03", "2026-03") == ["2026-03"]


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-1", "26-01", "", "2026/01", "2026-01-01"]
)
def test_parse_month_refuses_non_months(text: str) -> None:
    with pytest.raises(ValueError, match="not a month"):
        parse_month(text)


def test_months_and_windows_outside_the_calendar_are_refused_in_words() -> None:
    """Year 0 and year 10000 are not months; a window reaching before 0001-01-01 says so
    (it stopped the month with "date value out of range", a review, 2026-12-06)."""
    with pytest.raises(
        ValueError, match=r"not a month: '0000-12' \(expected YYYY-MM, from 0001-01\)"
    ):
        parse_month("0000-12")
    with pytest.raises(ValueError, match="-1 months from 0001-01 leaves the calendar"):
        add_months("0001-01", -1)
    with pytest.raises(ValueError, match=r"\+1 months from 9999-12 leaves the calendar"):
        add_months("9999-12", 1)
    with pytest.raises(
        ValueError, match="0001-02: its 90-day window would start before 0001-01-01"
    ):
        grading_window("0001-02", 90)
    assert grading_window("0001-03", 90).window_start == datetime(1, 1, 1)


def test_parse_month_gives_first_day() -> None:
    assert parse_month("2028-02") == date(2028, 2, 1)


# --- rates defined only from their minimum denominator -------------------------------------


def _counts(**changes: int) -> pl.LazyFrame:
    row = {c: 100 for c in COUNT_COLUMNS}
    row.update(
        bad_orders=3,
        seller_dispute_orders=1,
        positive_feedback=97,
        negative_feedback=3,
        messages_replied_24h=80,
        dsr_item_sum=470,
        shipments_on_time=95,
    )
    row.update(changes)
    if "rated_feedback" not in changes:
        row["rated_feedback"] = row["positive_feedback"] + row["negative_feedback"]
    schema = {"merchant_id": pl.String, **{c: pl.Int64 for c in COUNT_COLUMNS}}
    return pl.DataFrame([{"merchant_id": "m1", **row}], schema=schema).lazy()


def _rates(**changes: int) -> dict[str, float | None]:
    out = with_rates(_counts(**changes), POLICY).collect()
    for name in RATES:
        assert out.schema[name] == pl.Float64
    return {name: out[name][0] for name in RATES}


def test_all_rates_defined() -> None:
    assert _rates() == pytest.approx(
        {
            "bad_order_rate": 0.03,
            "seller_dispute_rate": 0.01,
            "positive_feedback_rate": 0.97,
            "dsr_item_avg": 4.7,
            "on_time_ship_rate": 0.95,
            "response_rate_24h": 0.8,
        }
    )


def test_zero_assessed_orders_leaves_order_rates_null() -> None:
    rates = _rates(assessed_orders=0, bad_orders=0, seller_dispute_orders=0)
    assert rates["bad_order_rate"] is None
    assert rates["seller_dispute_rate"] is None
    assert rates["positive_feedback_rate"] is not None


def test_one_assessed_order_defines_order_rates() -> None:
    rates = _rates(assessed_orders=1, bad_orders=1, seller_dispute_orders=0)
    assert rates["bad_order_rate"] == 1.0
    assert rates["seller_dispute_rate"] == 0.0


def test_no_rated_feedback_leaves_positive_rate_null() -> None:
    assert _rates(positive_feedback=0, negative_feedback=0)["positive_feedback_rate"] is None
    assert _rates(positive_feedback=0, negative_feedback=1)["positive_feedback_rate"] == 0.0
    assert _rates(positive_feedback=1, negative_feedback=0)["positive_feedback_rate"] == 1.0


@pytest.mark.parametrize(
    "rate, num, den, minimum",
    [
        ("dsr_item_avg", "dsr_item_sum", "dsr_item_count", 10),
        ("on_time_ship_rate", "shipments_on_time", "shipments_due", 20),
        ("response_rate_24h", "messages_replied_24h", "messages_received", 10),
    ],
)
def test_rate_defined_from_its_minimum_denominator(rate, num, den, minimum) -> None:
    below = _rates(**{den: minimum - 1, num: minimum - 1})
    at = _rates(**{den: minimum, num: minimum})
    assert below[rate] is None
    assert at[rate] == 1.0
    # the other rates are untouched
    assert below["bad_order_rate"] == pytest.approx(0.03)


def test_dsr_average_value() -> None:
    assert _rates(dsr_item_sum=45, dsr_item_count=10)["dsr_item_avg"] == pytest.approx(4.5)


@pytest.mark.parametrize("items", [2**53 + 1, 2**60 + 7, 1_844_674_407_370_955_161])
def test_a_whole_average_of_huge_counts_is_that_whole_number(items: int) -> None:
    """Past 2**53 each count was rounded before the division: 5 stars on each of 2**53+1
    items averaged 5.000000000000001, over the 5 the output check allows, and the month
    was refused (found in review, 2026-12-06). A whole fraction is that whole number, and
    one just under it never rounds over."""
    rates = _rates(
        dsr_item_sum=5 * items,
        dsr_item_count=items,
        messages_replied_24h=items,
        messages_received=items,
        shipments_on_time=items - 1,
        shipments_due=items,
    )
    assert rates["dsr_item_avg"] == 5.0
    assert rates["response_rate_24h"] == 1.0
    assert rates["on_time_ship_rate"] <= 1.0
    under = _rates(dsr_item_sum=5 * items - 1, dsr_item_count=items)["dsr_item_avg"]
    assert 4.999999 < under <= 5.0


def test_with_rates_keeps_counts() -> None:
    out = with_rates(_counts(), POLICY).collect()
    assert out.select(COUNT_COLUMNS).row(0) == _counts().collect().select(COUNT_COLUMNS).row(0)


# --- bad order counting --------------------------------------------------------------------


def _records(*rows: tuple[str, str, str, bool]) -> pl.LazyFrame:
    return pl.DataFrame(
        list(rows),
        schema={
            "merchant_id": pl.String,
            "order_id": pl.String,
            "reason": pl.String,
            "exempt": pl.Boolean,
        },
        orient="row",
    ).lazy()


def _bad(*rows: tuple[str, str, str, bool]) -> dict[str, tuple[int, int]]:
    out = bad_order_counts(_records(*rows)).collect()
    return {
        r["merchant_id"]: (r["bad_orders"], r["seller_dispute_orders"])
        for r in out.iter_rows(named=True)
    }


def test_exempt_records_are_ignored() -> None:
    counts = _bad(("m1", "o1", "late_shipment", True), ("m1", "o2", "low_dsr", False))
    assert counts == {"m1": (1, 0)}


def test_only_exempt_records_count_nothing() -> None:
    counts = _bad(
        ("m1", "o1", "late_shipment", True), ("m1", "o2", "seller_responsible_dispute", True)
    )
    assert counts.get("m1", (0, 0)) == (0, 0)


def test_order_with_two_records_counts_once() -> None:
    counts = _bad(
        ("m1", "o1", "late_shipment", False),
        ("m1", "o1", "low_dsr", False),
        ("m1", "o1", "negative_feedback", False),
    )
    assert counts == {"m1": (1, 0)}


def test_seller_responsible_dispute_counted_separately() -> None:
    counts = _bad(
        ("m1", "o1", "seller_responsible_dispute", False),
        ("m1", "o1", "late_shipment", False),
        ("m1", "o2", "seller_cancelled", False),
        ("m1", "o3", "seller_responsible_dispute", True),  # exempt dispute
        ("m1", "o3", "dispute_no_response", False),  # not a seller-responsible dispute
        ("m2", "o9", "seller_responsible_dispute", False),
    )
    assert counts == {"m1": (3, 1), "m2": (1, 1)}


def test_exempt_dispute_with_non_exempt_other_record_is_bad_but_not_dispute() -> None:
    counts = _bad(
        ("m1", "o1", "seller_responsible_dispute", True), ("m1", "o1", "late_shipment", False)
    )
    assert counts == {"m1": (1, 0)}


# --- window_metrics: zero-filled counts per graded merchant --------------------------------


def test_window_metrics_zero_fills_and_applies_feedback_rules() -> None:
    merchants = pl.DataFrame({"merchant_id": ["m1", "m2"]}).lazy()
    assessed = pl.DataFrame(
        {"merchant_id": ["m1", "x"], "assessed_orders": [40, 5]},
        schema={"merchant_id": pl.String, "assessed_orders": pl.Int64},
    ).lazy()
    bad = _records(
        ("m1", "o1", "late_shipment", False),
        ("m1", "o1", "low_dsr", False),
        ("m1", "o2", "seller_responsible_dispute", False),
    )
    feedback = pl.DataFrame(
        [
            ("m1", "b1", 5, datetime(2026, 3, 2), Decimal("10")),
            ("m1", "b1", 5, datetime(2026, 3, 3), Decimal("10")),  # same period: once
            ("m1", "b2", 1, datetime(2026, 3, 3), Decimal("10")),
            ("m1", "b3", 1, datetime(2026, 3, 3), Decimal("4.99")),
        ],  # under $5
        schema={
            "merchant_id": pl.String,
            "buyer_id": pl.String,
            "stars": pl.Int64,
            "feedback_at": pl.Datetime("us"),
            "order_amount_usd": pl.Decimal(38, 10),
        },
        orient="row",
    ).lazy()
    sums = pl.DataFrame(
        {
            "merchant_id": ["m1"],
            "messages_received": [12],
            "messages_replied_24h": [11],
            "dsr_item_sum": [50],
            "dsr_item_count": [11],
            "shipments_due": [21],
            "shipments_on_time": [20],
        }
    ).lazy()
    counts = count_feedback(feedback, POLICY)
    out = window_metrics(merchants, assessed, bad, counts, sums).collect()
    rows = {r["merchant_id"]: r for r in out.iter_rows(named=True)}
    assert set(rows) == {"m1", "m2"}  # only graded merchants, "x" left out
    m1, m2 = rows["m1"], rows["m2"]
    assert (m1["assessed_orders"], m1["bad_orders"], m1["seller_dispute_orders"]) == (40, 2, 1)
    assert (m1["positive_feedback"], m1["negative_feedback"], m1["rated_feedback"]) == (1, 1, 2)
    assert (m1["messages_received"], m1["shipments_on_time"]) == (12, 20)
    for column in COUNT_COLUMNS:
        assert m2[column] == 0, column
        assert out.schema[column] == pl.Int64, column
    rates = with_rates(out.lazy(), POLICY).collect()
    m2_rates = rates.filter(pl.col("merchant_id") == "m2").row(0, named=True)
    assert all(m2_rates[name] is None for name in RATES)
