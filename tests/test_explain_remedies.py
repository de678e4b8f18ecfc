"""The remedies ``grading explain`` names for a missed condition, exact in words and numbers.

- a minimum rate has two readings: some of the merchant's own failures made good, or new
  units that are all good; both are said when their counts differ;
- every seller dispute is a bad order, so "N fewer bad orders" says when disputes must go;
- "would have made it" only when that one change alone reaches the tier.

The crafted rows marked "conformance" carry the counts of a merchant-month of the
conformance fixture whose line was wrong before.
"""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.policy import load_policy
from pipelines.reporting.explain import (
    COUNT_COLUMNS,
    fewer_to_get_below,
    more_to_get_below,
    more_to_reach,
)
from pipelines.reporting.explain_remedies import remedies
from tests.helpers import EXCELLENT_COUNTS
from tests.test_explain import explain

POLICY = load_policy()


# --- minimum rates: both readings ----------------------------------------------------------


def test_on_time_shipments_say_both_readings():
    """The issue's example: 1758/1896 against 95%."""
    e = explain("good", shipments_due=1896, shipments_on_time=1758)
    assert e.misses == (
        "on_time_ship_rate 92.72% (1758/1896) is below 95%: 44 of your 138 late shipments "
        "on time, or 864 more shipments all on time, would have made it excellent",
    )


def test_messages_answered_say_both_readings():
    e = explain("good", messages_received=122, messages_replied_24h=97)
    assert e.misses == (
        "response_rate_24h 79.50% (97/122) is below 80%: 1 of your 25 messages not answered "
        "within 24h answered in time, or 3 more messages all answered within 24h, "
        "would have made it excellent",
    )


def test_positive_feedback_says_both_readings():
    e = explain("good", positive_feedback=182, negative_feedback=9)
    assert e.misses == (
        "positive_feedback_rate 95.28% (182/191) is below 97%: 4 of your 9 negative feedback "
        "positive instead, or 109 more feedback all positive, would have made it excellent",
    )


def test_dsr_says_stars_on_own_ratings_or_new_five_star_ratings():
    e = explain("good", dsr_item_sum=4650, dsr_item_count=1000)
    assert e.misses == (
        "dsr_item_avg 4.6500 (4650/1000) is below 4.7: 50 more stars across your 1000 item "
        "ratings, or 167 more 5-star item ratings, would have made it excellent",
    )


def test_equal_readings_are_said_once():
    """79/99 against 80%: one more answered message does it, an old one or a new one."""
    e = explain("good", messages_received=99, messages_replied_24h=79)
    assert e.misses == (
        "response_rate_24h 79.79% (79/99) is below 80%: 1 more message answered within 24h "
        "would have made it excellent",
    )


def test_all_of_the_own_failures_are_named_as_all():
    e = explain("good", shipments_due=20, shipments_on_time=18)  # 19 needed of 20
    assert "1 of your 2 late shipments on time, or 20 more shipments all on time" in e.misses[0]
    e = explain("good", positive_feedback=19, negative_feedback=1)  # 0.95 of 20: good, not ex.
    assert "your 1 negative feedback positive instead" in e.misses[0]


# --- exact boundaries of the amounts -------------------------------------------------------


def remedy_table(rows: list[dict], next_tier: str) -> pl.DataFrame:
    counts = pl.DataFrame(
        [{**EXCELLENT_COUNTS, **r} for r in rows], schema={c: pl.Int64 for c in COUNT_COLUMNS}
    )
    return remedies(counts, pl.Series([next_tier] * len(rows), dtype=pl.String), POLICY)


@settings(max_examples=150, deadline=None)
@given(due=st.integers(20, 5000), late=st.integers(1, 5000))
def test_on_time_amounts_are_the_least_that_reach_the_bound(due: int, late: int):
    """fix: the least k with (n+k)/d ≥ 95%; add: the least a with (n+a)/(d+a) ≥ 95%."""
    on_time = max(due - late, 0)
    bound = Fraction(95, 100)
    table = remedy_table([{"shipments_due": due, "shipments_on_time": on_time}], "excellent")
    found = dict(
        table.filter(pl.col("metric") == "on_time_ship_rate").select("remedy", "amount").iter_rows()
    )
    if Fraction(on_time, due) >= bound:
        assert found == {}
        return
    k, a = found["fix"], found["add"]
    assert Fraction(on_time + k, due) >= bound > Fraction(on_time + k - 1, due)
    assert Fraction(on_time + a, due + a) >= bound > Fraction(on_time + a - 1, due + a - 1)


@settings(max_examples=150, deadline=None)
@given(assessed=st.integers(30, 3000), bad=st.integers(0, 300), disputes=st.integers(0, 300))
def test_fewer_bad_orders_never_leave_fewer_bad_orders_than_disputes(
    assessed: int, bad: int, disputes: int
):
    bad = min(bad, assessed)
    disputes = min(disputes, bad)
    row = {"assessed_orders": assessed, "bad_orders": bad, "seller_dispute_orders": disputes}
    table = remedy_table([row], "excellent").filter(
        (pl.col("metric") == "bad_order_rate") & (pl.col("remedy") == "fewer")
    )
    if table.is_empty():
        assert Fraction(bad, assessed) < Fraction(3, 100)
        return
    fewer, disputes_too = table.select("amount", "disputes_too").row(0)
    assert Fraction(bad - fewer, assessed) < Fraction(3, 100) <= Fraction(bad - fewer + 1, assessed)
    assert disputes_too == max(disputes - (bad - fewer), 0)


# --- bad orders and disputes ---------------------------------------------------------------


def test_fewer_bad_orders_say_which_disputes_must_go_conformance():
    """Conformance M0500144, 2026-01: 2 bad orders of 11, one a dispute; good needs 0 bad.
    It said "2 fewer bad orders", which leaves the dispute standing: it must go too."""
    e = explain(
        "passing", provisional=True, assessed_orders=11, bad_orders=2, seller_dispute_orders=1
    )
    line = next(m for m in e.misses if m.startswith("bad_order_rate"))
    assert line == (
        "bad_order_rate 18.18% (2/11) is not below 6%: 2 fewer bad orders out of 11, your 1 "
        "seller-responsible dispute among them (every dispute is a bad order too), or 23 more "
        "assessed orders without one, would meet the good threshold"
    )


def test_some_of_several_disputes_must_go():
    """13 bad orders of 100, 12 of them disputes: passing needs fewer than 12 bad orders, so
    2 fewer leaves 11, and at least 1 of the 12 disputes is among them."""
    e = explain("failing", bad_orders=13, seller_dispute_orders=12)
    line = next(m for m in e.misses if m.startswith("bad_order_rate"))
    assert "2 fewer bad orders out of 100, 1 of your 12 seller-responsible disputes among" in line


def test_no_dispute_is_named_when_the_bad_orders_left_cover_them():
    e = explain("good", assessed_orders=1000, bad_orders=31, seller_dispute_orders=7)
    assert "2 fewer bad orders out of 1000, or 34 more assessed orders without one" in e.misses[0]
    assert "dispute" not in e.misses[0]


# --- would have made it --------------------------------------------------------------------


def test_one_change_that_reaches_the_tier_says_would_have_made_it_conformance():
    """Conformance M0500017, 2026-02: provisional on 17 assessed orders, 2 of them bad.
    17 more clean orders alone make it good (2/34 < 6%); one fewer bad order does not."""
    e = explain("passing", provisional=True, assessed_orders=17, bad_orders=2)
    line = next(m for m in e.misses if m.startswith("bad_order_rate"))
    assert line.endswith(
        ": 1 fewer bad order out of 17 would meet the good threshold, or 17 more assessed "
        "orders without one would have made it good"
    )


def test_one_fewer_dispute_fixes_two_conditions_at_once():
    """A dispute avoided is a bad order avoided: from 12 bad of 100 (1 a dispute), 1 fewer
    dispute meets both conditions of passing; 1 fewer other bad order leaves the dispute.
    Two conditions missed, so it said "would meet" for both before."""
    e = explain("failing", bad_orders=12, seller_dispute_orders=1)
    assert e.misses == (
        "bad_order_rate 12.00% (12/100) is not below 12%: 1 fewer bad order out of 100, or 1 "
        "more assessed order without one, would meet the passing threshold",
        "seller_dispute_rate 1.00% (1/100) is not below 0.8%: 1 fewer seller-responsible "
        "dispute out of 100, or 26 more assessed orders without one, would have made it "
        "passing",
    )


def test_a_missing_condition_with_others_says_would_meet():
    e = explain("good", bad_orders=5, positive_feedback=96, negative_feedback=4)
    assert all("would have made it" not in m for m in e.misses)


@settings(max_examples=100, deadline=None)
@given(
    assessed=st.integers(1, 4000),
    bad=st.integers(0, 400),
    due=st.integers(20, 4000),
    late=st.integers(0, 400),
)
def test_frame_amounts_equal_the_scalar_distances(assessed: int, bad: int, due: int, late: int):
    """The set-based amounts are the tested scalar ones of pipelines.reporting.explain."""
    bad, late = min(bad, assessed), min(late, due)
    row = {
        "assessed_orders": assessed,
        "bad_orders": bad,
        "shipments_due": due,
        "shipments_on_time": due - late,
    }
    found = {
        (metric, remedy): amount
        for metric, remedy, amount in remedy_table([row], "excellent")
        .select("metric", "remedy", "amount")
        .iter_rows()
    }
    excellent = next(t for t in POLICY.tiers if t.name == "excellent")
    bad_bound = excellent.max_rates["bad_order_rate"]
    if Fraction(bad, assessed) >= bad_bound:
        assert found["bad_order_rate", "fewer"] == fewer_to_get_below(bad, assessed, bad_bound)
        assert found["bad_order_rate", "more_clean"] == more_to_get_below(bad, assessed, bad_bound)
    on_time_bound = excellent.min_rates["on_time_ship_rate"]
    if Fraction(due - late, due) < on_time_bound:
        assert found["on_time_ship_rate", "add"] == more_to_reach(due - late, due, on_time_bound)


@settings(max_examples=60, deadline=None)
@given(
    assessed=st.integers(1, 10**9),
    bad=st.integers(0, 10**9),
    due=st.integers(20, 10**9),
    late=st.integers(0, 10**9),
)
def test_amounts_are_exact_for_thresholds_of_many_decimals(assessed, bad, due, late):
    """Thresholds of 19 decimals and counts of a billion: the products pass 2**63, and the
    amounts still equal the scalar distances (a review, 2026-12-06, found the grades' own
    comparison wrapping in 64 bits)."""
    bad, late = min(bad, assessed), min(late, due)
    bad_bound, on_time_bound = Fraction("0.0300000000000000001"), Fraction("0.9500000000000000001")
    excellent = next(t for t in POLICY.tiers if t.name == "excellent")
    wide = replace(
        excellent,
        max_rates={**excellent.max_rates, "bad_order_rate": bad_bound},
        min_rates={**excellent.min_rates, "on_time_ship_rate": on_time_bound},
    )
    policy = replace(POLICY, tiers=tuple(wide if t is excellent else t for t in POLICY.tiers))
    row = {"assessed_orders": assessed, "bad_orders": bad, "shipments_due": due}
    row["shipments_on_time"] = due - late
    counts = pl.DataFrame(
        [{**EXCELLENT_COUNTS, **row}], schema={c: pl.Int64 for c in COUNT_COLUMNS}
    )
    found = {
        (metric, remedy): amount
        for metric, remedy, amount in remedies(counts, pl.Series(["excellent"]), policy)
        .select("metric", "remedy", "amount")
        .iter_rows()
    }
    if Fraction(bad, assessed) >= bad_bound:
        assert found["bad_order_rate", "fewer"] == fewer_to_get_below(bad, assessed, bad_bound)
        assert found["bad_order_rate", "more_clean"] == more_to_get_below(bad, assessed, bad_bound)
    if Fraction(due - late, due) < on_time_bound:
        assert found["on_time_ship_rate", "add"] == more_to_reach(due - late, due, on_time_bound)


def _policy_with_dispute_bound(bound: str):
    """The shipped policy with every tier's seller dispute bound set to ``bound``."""
    tiers = tuple(
        replace(t, max_rates={**t.max_rates, "seller_dispute_rate": Fraction(bound)})
        for t in POLICY.tiers
    )
    return replace(POLICY, tiers=tiers)


def test_a_remedy_past_64_bits_is_said_exactly_and_not_graded():
    """A dispute bound of 1e-19 (19 decimals, which the parser accepts): 3 disputes of 341
    orders need 29,999,999,999,999,999,660 more clean orders. The amount was cast to 64
    bits and the dashboard, and so `grading run`, failed (found in review, 2026-12-06).
    It is said exactly, and said only to meet the threshold: counts past 64 bits are
    not graded."""
    policy = _policy_with_dispute_bound("0.0000000000000000001")
    counts = pl.DataFrame(
        [{**EXCELLENT_COUNTS, "assessed_orders": 341, "seller_dispute_orders": 3, "bad_orders": 3}],
        schema={c: pl.Int64 for c in COUNT_COLUMNS},
    )
    table = remedies(counts, pl.Series(["excellent"]), policy)
    more = table.filter(pl.col("metric") == "seller_dispute_rate", pl.col("remedy") == "more_clean")
    assert more.select("amount", "reaches", "reached").rows() == [
        (29_999_999_999_999_999_660, False, None)
    ]
    fewer = table.filter(pl.col("metric") == "seller_dispute_rate", pl.col("remedy") == "fewer")
    assert fewer.select("amount", "reaches", "reached").rows() == [(3, True, "excellent")]


def test_many_rows_with_remedies_past_64_bits_explain_without_error():
    """Forty merchants missing several conditions of three tiers, some remedies past 64
    bits: polars 2.1 panicked ("i < self.len()") grading the filtered scenarios until
    they were rechunked (found on the dashboard's explanations, 2026-12-06)."""
    policy = _policy_with_dispute_bound("0.0000000000000000001")
    draw = random.Random(0)
    rows = []
    for _ in range(40):
        assessed, due, received = (
            draw.randint(30, 400),
            draw.randint(20, 300),
            draw.randint(10, 300),
        )
        bad = draw.randint(0, assessed // 5)
        rows.append(
            {**EXCELLENT_COUNTS, "assessed_orders": assessed, "bad_orders": bad,
             "seller_dispute_orders": draw.randint(0, bad), "shipments_due": due,
             "shipments_on_time": draw.randint(0, due), "messages_received": received,
             "messages_replied_24h": draw.randint(0, received),
             "positive_feedback": draw.randint(0, 100), "negative_feedback": draw.randint(0, 20)}
        )  # fmt: skip
    counts = pl.DataFrame(rows, schema={c: pl.Int64 for c in COUNT_COLUMNS})
    tiers = pl.Series([draw.choice(["excellent", "good", "passing"]) for _ in rows])
    table = remedies(counts, tiers, policy)
    past = table.filter(pl.col("amount") > 2**63 - 1)
    assert past.height > 0 and not past["reaches"].any()
    assert table.filter(pl.col("amount") <= 2**63 - 1)["reached"].null_count() == 0


def test_thresholds_are_shown_with_every_decimal_they_have():
    """A threshold is quoted exactly: 1e-19 read "0.00000000%" (8 places), a bound of
    0.1200000000000000001 read "0.12" in the at-risk list (a review, 2026-12-06)."""
    from pipelines.policy import decimal_text
    from pipelines.reporting.explain import _show

    assert _show(Fraction("0.0000000000000000001"), "seller_dispute_rate") == (
        "0.00000000000000001%"
    )
    assert _show(Fraction("0.9999999999999999999"), "on_time_ship_rate") == (
        "99.99999999999999999%"
    )
    assert _show(Fraction("4.7000000000000000001"), "dsr_item_avg") == "4.7000000000000000001"
    assert [_show(Fraction(v), "bad_order_rate") for v in ("0.008", "0.95", "0")] == [
        "0.8%",
        "95%",
        "0%",
    ]
    assert decimal_text(Fraction("0.1200000000000000001")) == "0.1200000000000000001"
