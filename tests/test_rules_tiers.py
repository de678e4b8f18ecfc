"""Tests of the four service tiers (spec §5): exact boundaries compared as fractions,
undefined metrics, provisional merchants, and the reasons a merchant missed the tier above."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import polars as pl
import pytest

from pipelines.policy import load_policy
from pipelines.rules.tiers import assign_tiers
from tests.helpers import COUNT_COLUMNS, EXCELLENT_COUNTS

POLICY = load_policy()
EXCELLENT = EXCELLENT_COUNTS


def _row(merchant_id: str = "m1", **changes: int) -> dict[str, object]:
    """Counts of a merchant meeting every excellent condition, with ``changes`` applied."""
    row: dict[str, object] = {"merchant_id": merchant_id, **EXCELLENT, **changes}
    row.setdefault("rated_feedback", row["positive_feedback"] + row["negative_feedback"])
    return row


def _frame(*rows: dict[str, object]) -> pl.LazyFrame:
    schema = {"merchant_id": pl.String, **{c: pl.Int64 for c in COUNT_COLUMNS}}
    return pl.DataFrame(list(rows), schema=schema).lazy()


def _grade(**changes: int) -> dict[str, object]:
    out = assign_tiers(_frame(_row(**changes)), POLICY).collect()
    assert out.height == 1
    return out.row(0, named=True)


def _tier(**changes: int) -> str:
    return _grade(**changes)["tier"]


# --- the baseline ----------------------------------------------------------------------


def test_baseline_is_excellent_without_reasons() -> None:
    grade = _grade()
    assert grade["tier"] == "excellent"
    assert grade["provisional"] is False
    assert grade["reasons"] == []


def test_output_keeps_input_columns_and_adds_tier_provisional_reasons() -> None:
    out = assign_tiers(_frame(_row("a"), _row("b", bad_orders=50)), POLICY).collect()
    assert out.columns == ["merchant_id", *COUNT_COLUMNS, "tier", "provisional", "reasons"]
    assert out.schema["reasons"] == pl.List(pl.String)
    assert dict(zip(out["merchant_id"], out["tier"], strict=True)) == {
        "a": "excellent",
        "b": "failing",
    }


# --- bad order rate: strict "<" ------------------------------------------------------------


def test_three_bad_of_hundred_is_not_below_three_percent() -> None:
    grade = _grade(bad_orders=3)
    assert grade["tier"] == "good"
    assert len(grade["reasons"]) == 1
    assert "bad_order_rate" in grade["reasons"][0]
    assert "excellent" in grade["reasons"][0]


def test_two_bad_of_hundred_is_excellent() -> None:
    assert _tier(bad_orders=2) == "excellent"


@pytest.mark.parametrize(
    "bad, tier",
    [
        (5, "good"),
        (6, "passing"),
        (11, "passing"),
        (12, "failing"),
        (100, "failing"),
    ],
)
def test_bad_order_rate_walks_down_the_tiers(bad: int, tier: str) -> None:
    assert _tier(bad_orders=bad) == tier


def test_failing_merchant_names_the_passing_condition_it_missed() -> None:
    grade = _grade(bad_orders=12)
    assert grade["tier"] == "failing"
    assert grade["provisional"] is False
    assert len(grade["reasons"]) == 1
    reason = grade["reasons"][0]
    assert "bad_order_rate" in reason
    assert "passing" in reason
    assert "12/100" in reason
    assert "0.12" in reason


# --- assessed orders and provisional -------------------------------------------------------


def test_29_assessed_is_provisional_passing() -> None:
    grade = _grade(assessed_orders=29)
    assert grade["tier"] == "passing"
    assert grade["provisional"] is True
    assert any("provisional" in r for r in grade["reasons"])


def test_30_assessed_is_not_provisional() -> None:
    grade = _grade(assessed_orders=30)
    assert grade["provisional"] is False
    assert grade["tier"] == "good"  # every rate is fine, but 30 < 90 for excellent


def test_provisional_wins_over_a_failing_rate() -> None:
    grade = _grade(assessed_orders=20, bad_orders=10)
    assert (grade["tier"], grade["provisional"]) == ("passing", True)


def test_zero_assessed_orders_is_provisional() -> None:
    grade = _grade(assessed_orders=0, bad_orders=0)
    assert (grade["tier"], grade["provisional"]) == ("passing", True)


def test_89_assessed_misses_excellent_on_assessed_orders() -> None:
    grade = _grade(assessed_orders=89)
    assert grade["tier"] == "good"
    assert len(grade["reasons"]) == 1
    assert "assessed_orders" in grade["reasons"][0]
    assert "89" in grade["reasons"][0]


def test_90_assessed_is_excellent() -> None:
    assert _tier(assessed_orders=90) == "excellent"


# --- seller dispute rate: 0.008 in every tier ----------------------------------------------


def test_one_dispute_of_125_is_not_below_0_008() -> None:
    # 1/125 = 0.008 exactly: not below in any tier, so the merchant fails.
    grade = _grade(assessed_orders=125, seller_dispute_orders=1, bad_orders=1)
    assert grade["tier"] == "failing"
    assert any("seller_dispute_rate" in r for r in grade["reasons"])


def test_one_dispute_of_126_is_excellent() -> None:
    assert _tier(assessed_orders=126, seller_dispute_orders=1, bad_orders=1) == "excellent"


# --- positive feedback rate: inclusive ">=" ------------------------------------------------


def test_positive_feedback_rate_exactly_0_97_is_excellent() -> None:
    assert _tier(positive_feedback=97, negative_feedback=3) == "excellent"


def test_positive_feedback_rate_0_96_is_good_with_reason() -> None:
    grade = _grade(positive_feedback=96, negative_feedback=4)
    assert grade["tier"] == "good"
    assert len(grade["reasons"]) == 1
    assert "positive_feedback_rate" in grade["reasons"][0]


def test_positive_feedback_rate_undefined_without_rated_feedback() -> None:
    assert _tier(positive_feedback=0, negative_feedback=0) == "excellent"


def test_one_negative_only_is_rate_zero_and_fails() -> None:
    assert _tier(positive_feedback=0, negative_feedback=1) == "failing"


# --- dsr average: defined from 10 items ----------------------------------------------------


def test_dsr_average_exactly_4_7_is_excellent() -> None:
    assert _tier(dsr_item_sum=47, dsr_item_count=10) == "excellent"


def test_dsr_average_just_below_4_7_is_good() -> None:
    grade = _grade(dsr_item_sum=469, dsr_item_count=100)
    assert grade["tier"] == "good"
    assert "dsr_item_avg" in grade["reasons"][0]


def test_dsr_undefined_below_ten_items() -> None:
    # 9 items, average 1.0: not defined, so the condition holds.
    assert _tier(dsr_item_sum=9, dsr_item_count=9) == "excellent"
    # 10 items, average 1.0: defined, misses excellent and good.
    assert _tier(dsr_item_sum=10, dsr_item_count=10) == "passing"


# --- on-time shipping: defined from 20 due --------------------------------------------------


def test_on_time_undefined_below_twenty_due() -> None:
    assert _tier(shipments_due=19, shipments_on_time=0) == "excellent"
    assert _tier(shipments_due=20, shipments_on_time=0) == "passing"


def test_on_time_exactly_0_95_is_excellent() -> None:
    assert _tier(shipments_due=20, shipments_on_time=19) == "excellent"
    assert _tier(shipments_due=100, shipments_on_time=94) == "good"


# --- response rate: defined from 10 received, excellent only -------------------------------


def test_response_undefined_below_ten_received() -> None:
    assert _tier(messages_received=9, messages_replied_24h=0) == "excellent"
    grade = _grade(messages_received=10, messages_replied_24h=0)
    assert grade["tier"] == "good"
    assert len(grade["reasons"]) == 1
    assert "response_rate_24h" in grade["reasons"][0]


def test_response_exactly_0_80_is_excellent() -> None:
    assert _tier(messages_received=10, messages_replied_24h=8) == "excellent"
    assert _tier(messages_received=10, messages_replied_24h=7) == "good"


# --- reasons -------------------------------------------------------------------------------


def test_reasons_list_every_missed_condition_of_the_tier_above() -> None:
    # Misses excellent on bad rate (4%), response (0.5) and dsr (4.6); meets good.
    grade = _grade(
        bad_orders=4,
        messages_received=10,
        messages_replied_24h=5,
        dsr_item_sum=46,
        dsr_item_count=10,
    )
    assert grade["tier"] == "good"
    text = " | ".join(grade["reasons"])
    assert len(grade["reasons"]) == 3
    for metric in ("bad_order_rate", "response_rate_24h", "dsr_item_avg"):
        assert metric in text


def test_every_non_excellent_merchant_has_reasons() -> None:
    rows = [
        _row("ok"),
        _row("good", bad_orders=3),
        _row("pass", bad_orders=6),
        _row("fail", bad_orders=12),
        _row("prov", assessed_orders=29),
    ]
    out = assign_tiers(_frame(*rows), POLICY).collect()
    reasons = dict(zip(out["merchant_id"], out["reasons"].to_list(), strict=True))
    tiers = dict(zip(out["merchant_id"], out["tier"], strict=True))
    assert tiers == {
        "ok": "excellent",
        "good": "good",
        "pass": "passing",
        "fail": "failing",
        "prov": "passing",
    }
    assert reasons["ok"] == []
    for merchant in ("good", "pass", "fail", "prov"):
        assert reasons[merchant], merchant
    assert any("bad_order_rate" in r for r in reasons["pass"])
    assert any("good" in r for r in reasons["pass"])


# --- float traps: exact integer comparison --------------------------------------------------


def _float_trap(threshold: Fraction, max_den: int = 2000) -> tuple[int, int]:
    """Integers n/d exactly equal to ``threshold`` whose float rate, computed the way a
    naive implementation might (n * (1/d)), lands below float(threshold)."""
    for d in range(threshold.denominator, max_den, threshold.denominator):
        n = threshold.numerator * (d // threshold.denominator)
        assert Fraction(n, d) == threshold
        if n * (1 / d) < float(threshold):
            return n, d
    raise AssertionError(f"no float trap found for {threshold}")


@pytest.mark.parametrize(
    "metric, num, den",
    [
        ("response_rate_24h", "messages_replied_24h", "messages_received"),
        ("dsr_item_avg", "dsr_item_sum", "dsr_item_count"),
        ("positive_feedback_rate", "positive_feedback", "negative_feedback"),
    ],
)
def test_float_trap_at_the_excellent_threshold(metric: str, num: str, den: str) -> None:
    excellent = next(t for t in POLICY.tiers if t.name == "excellent")
    threshold = excellent.min_rates[metric]
    n, d = _float_trap(threshold)
    # Exactly at the inclusive minimum: the condition holds, as integers say.
    assert n * threshold.denominator >= d * threshold.numerator
    assert n * (1 / d) < float(threshold)  # while a float computation says "below"
    if den == "negative_feedback":  # pass positive and negative, rated = d
        grade = _grade(positive_feedback=n, negative_feedback=d - n)
    else:
        grade = _grade(**{num: n, den: d})
    assert grade["tier"] == "excellent", (metric, n, d, grade["reasons"])
    assert grade["reasons"] == []


# --- thresholds of many decimals (a review, 2026-12-06) -------------------------------------


def _with_bound(tier: str, kind: str, metric: str, bound: Fraction):
    """POLICY with one threshold of ``tier`` replaced (kind: 'max_rates' or 'min_rates')."""
    rules = [
        replace(rule, **{kind: {**getattr(rule, kind), metric: bound}})
        if rule.name == tier
        else rule
        for rule in POLICY.tiers
    ]
    return replace(POLICY, tiers=tuple(rules))


@pytest.mark.parametrize(
    ("tier", "kind", "metric", "bound", "changes"),
    [
        # n * q passes 2**63 here: in 64 bits the products wrapped and graded wrongly.
        ("good", "max_rates", "bad_order_rate", "0.0700000000000000001",
         {"assessed_orders": 100, "bad_orders": 6}),
        ("good", "max_rates", "bad_order_rate", "0.060000000000000001",
         {"assessed_orders": 2000, "bad_orders": 100, "seller_dispute_orders": 0}),
        ("excellent", "min_rates", "dsr_item_avg", "4.60000000000001",
         {"dsr_item_sum": 470000, "dsr_item_count": 100000}),
    ],
)  # fmt: skip
def test_thresholds_of_many_decimals_compare_exactly(tier, kind, metric, bound, changes) -> None:
    policy = _with_bound(tier, kind, metric, Fraction(bound))
    row = _row(**changes)
    numerator, denominator = {
        "bad_order_rate": ("bad_orders", "assessed_orders"),
        "dsr_item_avg": ("dsr_item_sum", "dsr_item_count"),
    }[metric]
    value = Fraction(row[numerator], row[denominator])
    holds = value < Fraction(bound) if kind == "max_rates" else value >= Fraction(bound)
    assert holds  # each case meets its bound, by Python's exact fractions
    out = assign_tiers(_frame(row), policy).collect().row(0, named=True)
    condition = f"{metric} {float(value):.4g}"
    assert not any(r.startswith(metric) and tier in r for r in out["reasons"]), condition
    assert policy.tier_names.index(out["tier"]) <= policy.tier_names.index(tier)


def test_a_reason_quotes_a_long_threshold_whole_and_a_short_one_as_written() -> None:
    bound = Fraction("0.9300000000000000001")
    policy = _with_bound("good", "min_rates", "positive_feedback_rate", bound)
    row = _row(positive_feedback=93, negative_feedback=7, bad_orders=4)  # misses excellent
    out = assign_tiers(_frame(row), policy).collect().row(0, named=True)
    assert out["tier"] == "passing"
    assert (
        "positive_feedback_rate 0.93 (93/100) is below the 0.9300000000000000001 needed for good"
        in out["reasons"]
    )
    shipped = _grade(bad_orders=4)["reasons"]
    assert shipped == ["bad_order_rate 0.04 (4/100) is not below the 0.03 needed for excellent"]
