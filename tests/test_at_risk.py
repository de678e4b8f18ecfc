"""Merchants at risk (issue 19 §4): the pure polars function every caller uses."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import polars as pl
import pytest

from pipelines.at_risk import AT_RISK_COLUMNS, _limits_and_distances, at_risk_merchants
from pipelines.policy import load_policy
from pipelines.reporting.explain import fewer_to_get_below
from pipelines.rules.metrics import with_rates
from pipelines.rules.tiers import assign_tiers
from tests.helpers import EXCELLENT_COUNTS

POLICY = load_policy()


def projected(rows: dict[str, dict]) -> pl.LazyFrame:
    """Window counts per merchant (excellent unless overridden), graded by the real rules."""
    frame = pl.DataFrame(
        [{**EXCELLENT_COUNTS, **counts, "merchant_id": m} for m, counts in rows.items()]
    ).with_columns(
        (pl.col("positive_feedback") + pl.col("negative_feedback")).alias("rated_feedback"),
        pl.lit("2026-04").alias("month"),
        pl.lit("home").alias("main_category"),
    )
    return assign_tiers(with_rates(frame.lazy(), POLICY), POLICY)


def published(tiers: dict[str, str]) -> pl.LazyFrame:
    return pl.DataFrame(
        {"merchant_id": list(tiers), "tier": list(tiers.values()), "month": "2026-03"}
    ).lazy()


def test_only_merchants_projected_below_their_published_tier_are_listed() -> None:
    grades = projected(
        {
            "M1": {"bad_orders": 4},  # 4/100 is not below 3%: good
            "M2": {},  # still excellent
            "M3": {"assessed_orders": 112, "bad_orders": 1, "seller_dispute_orders": 1},
            "M4": {"assessed_orders": 20},  # provisional passing
            "M5": {"bad_orders": 4},  # not published before: new
            "M6": {"bad_orders": 20},  # failing, was failing
            "M7": {"bad_orders": 20},  # a tier this policy does not name
            "M8": {"bad_orders": 4},  # good, was passing: moved up
        }
    )
    before = published(
        {
            "M1": "excellent",
            "M2": "excellent",
            "M3": "good",
            "M4": "excellent",
            "M6": "failing",
            "M7": "gold",
            "M8": "passing",
            "M9": "excellent",  # no longer graded
        }
    )
    risk = at_risk_merchants(grades, before, POLICY).collect()
    assert risk.columns == list(AT_RISK_COLUMNS)
    assert risk["merchant_id"].to_list() == ["M1", "M3", "M4"]
    rows = {r["merchant_id"]: r for r in risk.to_dicts()}

    m1 = rows["M1"]
    assert (m1["published_tier"], m1["projected_tier"]) == ("excellent", "good")
    assert m1["deciding_metrics"] == ["bad_order_rate"]
    assert m1["deciding"] == [
        "bad_order_rate 0.04 (4/100) is not below the 0.03 needed for excellent"
    ]
    # 3/100 is not below 3%, 2/100 is: 2 fewer; no dispute yet, 1 of 100 would cross 0.8%
    assert (m1["bad_order_limit"], m1["bad_orders_to_recover"], m1["bad_orders_to_cross"]) == (
        "0.03",
        2,
        None,
    )
    assert (m1["dispute_limit"], m1["disputes_to_cross"], m1["disputes_to_recover"]) == (
        "0.008",
        1,
        None,
    )

    m3 = rows["M3"]  # the example: one dispute of 112 is 0.89%, not below 0.8%
    assert (m3["published_tier"], m3["projected_tier"]) == ("good", "failing")
    assert m3["deciding_metrics"] == ["seller_dispute_rate"]
    assert m3["disputes_to_recover"] == 1 and m3["disputes_to_cross"] is None
    # good allows bad orders below 6%: 6.72 of 112, so the 7th bad order crosses
    assert m3["bad_orders_to_cross"] == 6 and m3["bad_order_limit"] == "0.06"

    m4 = rows["M4"]
    assert (m4["projected_tier"], m4["provisional"]) == ("passing", True)
    assert m4["deciding_metrics"] == ["assessed_orders"]
    assert m4["deciding"][0].startswith("provisional: 20 assessed orders")
    assert "assessed_orders 20 is below the 90 needed for excellent" in m4["deciding"]


def brute_force_cross(n: int, d: int, bound: Fraction) -> int:
    return next(k for k in range(d + 1) if (n + k) * bound.denominator >= bound.numerator * d)


@pytest.mark.parametrize("tier", ["excellent", "good", "passing"])
def test_distances_are_exact_integers_from_the_policy_fractions(tier) -> None:
    """Every count of up to 60 assessed orders against the tier's limits, checked one by one
    against the explain module's exact helper and a brute-force search."""
    rule = next(r for r in POLICY.tiers if r.name == tier)
    grid = pl.DataFrame(
        [
            {"published_tier": tier, "assessed_orders": d, "bad_orders": n, "disputes": n}
            for d, n in product(range(61), range(61))
            if n <= d
        ]
    ).with_columns(pl.col("disputes").alias("seller_dispute_orders"))
    result = grid.with_columns(_limits_and_distances(POLICY))
    for metric, prefix in (("bad_order_rate", "bad_orders"), ("seller_dispute_rate", "disputes")):
        bound = rule.max_rates[metric]
        expected = grid.select("assessed_orders", "bad_orders").map_rows(
            lambda row, b=bound: (
                None
                if row[0] == 0 or row[1] * b.denominator >= b.numerator * row[0]
                else brute_force_cross(row[1], row[0], b),
                None
                if row[0] == 0 or row[1] * b.denominator < b.numerator * row[0]
                else fewer_to_get_below(row[1], row[0], b),
            )
        )
        assert result[f"{prefix}_to_cross"].to_list() == expected["column_0"].to_list(), metric
        assert result[f"{prefix}_to_recover"].to_list() == expected["column_1"].to_list(), metric


def test_a_zero_limit_has_no_way_back() -> None:
    """With a limit of 0 no count is below it: nothing to cross, no way to recover."""
    strict = POLICY.tiers[0].max_rates | {"seller_dispute_rate": Fraction(0)}
    rules = (
        POLICY.tiers[0].__class__(POLICY.tiers[0].name, 90, strict, POLICY.tiers[0].min_rates),
        *POLICY.tiers[1:],
    )
    policy = POLICY.__class__(**{**POLICY.__dict__, "tiers": rules})
    frame = pl.DataFrame(
        {
            "published_tier": ["excellent"],
            "assessed_orders": [100],
            "bad_orders": [0],
            "seller_dispute_orders": [0],
        }
    )
    row = frame.with_columns(_limits_and_distances(policy)).row(0, named=True)
    assert row["disputes_to_cross"] is None and row["disputes_to_recover"] is None
    assert row["dispute_limit"] == "0"
