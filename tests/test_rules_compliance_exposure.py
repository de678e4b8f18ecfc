"""Tests of eligibility (spec §6) and exposure weights (spec §7): each violation kind, the
account limits with their tie rule, and the resource tilt per tier, level and category."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from fractions import Fraction

import polars as pl
import pytest

from pipelines.policy import load_policy
from pipelines.rules.compliance import compliance_violations
from pipelines.rules.exposure import exposure_weights, tier_distribution

POLICY = load_policy()
SNAPSHOT_SCHEMA = {
    "merchant_id": pl.String,
    "account_type": pl.String,
    "auth_entity_id": pl.String,
    "real_name_verified": pl.Boolean,
    "collection_account_set": pl.Boolean,
    "sales_plan": pl.String,
    "store_type": pl.String,
    "main_category": pl.String,
    "product_count": pl.Int64,
    "status": pl.String,
    "registered_at": pl.Datetime("us"),
}


def _merchant(merchant_id: str, **changes: object) -> dict[str, object]:
    """A compliant active individual merchant with its own auth entity, then ``changes``."""
    row: dict[str, object] = {
        "merchant_id": merchant_id,
        "account_type": "individual",
        "auth_entity_id": f"entity-{merchant_id}",
        "real_name_verified": True,
        "collection_account_set": True,
        "sales_plan": "standard",
        "store_type": "other",
        "main_category": "toys",
        "product_count": 50,
        "status": "active",
        "registered_at": datetime(2025, 1, 1),
    }
    row.update(changes)
    return row


def _violations(*merchants: dict[str, object]) -> set[tuple[str, str]]:
    snapshot = pl.DataFrame(list(merchants), schema=SNAPSHOT_SCHEMA).lazy()
    out = compliance_violations(snapshot, POLICY).collect()
    assert out.columns == ["merchant_id", "violation"]
    pairs = set(out.iter_rows())
    assert len(pairs) == out.height, "a breach is listed twice"
    return pairs


# --- each violation kind --------------------------------------------------------------------


def test_compliant_merchant_has_no_violation() -> None:
    assert _violations(_merchant("m1")) == set()


def test_not_authenticated() -> None:
    assert _violations(_merchant("m1", real_name_verified=False)) == {("m1", "not_authenticated")}


def test_no_collection_account() -> None:
    assert _violations(_merchant("m1", collection_account_set=False)) == {
        ("m1", "no_collection_account")
    }


@pytest.mark.parametrize("products, flagged", [(0, True), (10, True), (11, False)])
def test_no_store_needs_more_than_ten_products(products: int, flagged: bool) -> None:
    expected = {("m1", "no_store")} if flagged else set()
    assert _violations(_merchant("m1", product_count=products)) == expected


def test_several_violations_of_one_merchant() -> None:
    assert _violations(
        _merchant("m1", real_name_verified=False, collection_account_set=False, product_count=3)
    ) == {("m1", "not_authenticated"), ("m1", "no_collection_account"), ("m1", "no_store")}


def test_non_active_merchants_are_not_checked() -> None:
    rows = [
        _merchant(f"m{i}", status=s, real_name_verified=False)
        for i, s in enumerate(("suspended", "banned", "terminated"))
    ]
    assert _violations(*rows) == set()


# --- account limits -------------------------------------------------------------------------


def test_individual_limit_flags_the_later_registered() -> None:
    rows = [
        _merchant("m3", auth_entity_id="p", registered_at=datetime(2025, 3, 1)),
        _merchant("m1", auth_entity_id="p", registered_at=datetime(2025, 1, 1)),
        _merchant("m2", auth_entity_id="p", registered_at=datetime(2025, 2, 1)),
    ]
    assert _violations(*rows) == {
        ("m2", "individual_account_limit"),
        ("m3", "individual_account_limit"),
    }


def test_individual_limit_tie_broken_by_smallest_merchant_id() -> None:
    same = datetime(2025, 1, 1)
    rows = [
        _merchant("m-b", auth_entity_id="p", registered_at=same),
        _merchant("m-a", auth_entity_id="p", registered_at=same),
        _merchant("m-c", auth_entity_id="p", registered_at=same),
    ]
    assert _violations(*rows) == {
        ("m-b", "individual_account_limit"),
        ("m-c", "individual_account_limit"),
    }


def test_individual_limit_earlier_registration_beats_smaller_id() -> None:
    rows = [
        _merchant("a", auth_entity_id="p", registered_at=datetime(2025, 6, 1)),
        _merchant("z", auth_entity_id="p", registered_at=datetime(2025, 1, 1)),
    ]
    assert _violations(*rows) == {("a", "individual_account_limit")}


def test_individual_limit_counts_only_active_accounts() -> None:
    rows = [
        _merchant("m1", auth_entity_id="p", status="suspended", registered_at=datetime(2024, 1, 1)),
        _merchant(
            "m2", auth_entity_id="p", status="terminated", registered_at=datetime(2024, 6, 1)
        ),
        _merchant("m3", auth_entity_id="p", registered_at=datetime(2025, 1, 1)),
    ]
    assert _violations(*rows) == set()


def test_individual_limit_is_per_auth_entity() -> None:
    rows = [_merchant("m1", auth_entity_id="p"), _merchant("m2", auth_entity_id="q")]
    assert _violations(*rows) == set()


def test_enterprise_limit_keeps_six_earliest() -> None:
    rows = [
        _merchant(
            f"e{i}",
            account_type="enterprise",
            auth_entity_id="corp",
            registered_at=datetime(2025, 1, 1 + i),
        )
        for i in range(8)
    ]
    assert _violations(*reversed(rows)) == {
        ("e6", "enterprise_account_limit"),
        ("e7", "enterprise_account_limit"),
    }


def test_enterprise_six_accounts_are_fine() -> None:
    rows = [_merchant(f"e{i}", account_type="enterprise", auth_entity_id="corp") for i in range(6)]
    assert _violations(*rows) == set()


def test_enterprise_limit_ties_and_suspended_accounts() -> None:
    same = datetime(2025, 1, 1)
    rows = [
        _merchant(f"e{i}", account_type="enterprise", auth_entity_id="corp", registered_at=same)
        for i in range(7)
    ]
    rows.append(
        _merchant(
            "e00",
            account_type="enterprise",
            auth_entity_id="corp",
            registered_at=datetime(2020, 1, 1),
            status="suspended",
        )
    )
    # 7 active with the same timestamp: the largest merchant_id is the seventh.
    assert _violations(*rows) == {("e6", "enterprise_account_limit")}


def test_individual_and_enterprise_accounts_are_limited_separately() -> None:
    rows = [_merchant("i1", auth_entity_id="x")]
    rows += [_merchant(f"e{i}", account_type="enterprise", auth_entity_id="x") for i in range(6)]
    assert _violations(*rows) == set()


# --- banned entity --------------------------------------------------------------------------


def test_banned_entity_flags_active_accounts_of_the_entity() -> None:
    rows = [
        _merchant("m1", auth_entity_id="p", status="banned"),
        _merchant("m2", auth_entity_id="p", account_type="enterprise"),
        _merchant("m3", auth_entity_id="q"),
    ]
    assert _violations(*rows) == {("m2", "banned_entity")}


def test_suspended_or_terminated_account_is_not_a_ban() -> None:
    rows = [
        _merchant("m1", auth_entity_id="p", status="suspended"),
        _merchant("m2", auth_entity_id="p", status="terminated"),
        _merchant("m3", auth_entity_id="p", registered_at=datetime(2026, 1, 1)),
    ]
    assert _violations(*rows) == set()


def test_banned_entity_together_with_account_limit() -> None:
    rows = [
        _merchant("m0", auth_entity_id="p", status="banned"),
        _merchant("m1", auth_entity_id="p", registered_at=datetime(2025, 1, 1)),
        _merchant("m2", auth_entity_id="p", registered_at=datetime(2025, 2, 1)),
    ]
    assert _violations(*rows) == {
        ("m1", "banned_entity"),
        ("m2", "banned_entity"),
        ("m2", "individual_account_limit"),
    }


def test_an_entity_with_two_banned_accounts_is_one_breach_per_active_account() -> None:
    """§6: each breach is one row. The entity's banned accounts are looked up once per
    entity, not once per banned account: a mutation audit (2026-12-07) found nothing failed
    when two banned accounts listed each active account's breaches twice."""
    rows = [
        _merchant("m0", auth_entity_id="p", status="banned"),
        _merchant("m1", auth_entity_id="p", status="banned", account_type="enterprise"),
        _merchant("m2", auth_entity_id="p", product_count=3),
    ]
    snapshot = pl.DataFrame(rows, schema=SNAPSHOT_SCHEMA).lazy()
    out = compliance_violations(snapshot, POLICY).collect()
    assert sorted(out.iter_rows()) == [("m2", "banned_entity"), ("m2", "no_store")]


# --- exposure weights -----------------------------------------------------------------------


def _grades(*rows: tuple[str, str, str, int]) -> pl.LazyFrame:
    return pl.DataFrame(
        list(rows),
        schema={
            "merchant_id": pl.String,
            "main_category": pl.String,
            "tier": pl.String,
            "level": pl.Int32,
        },
        orient="row",
    ).lazy()


def _violation_frame(*rows: tuple[str, str]) -> pl.LazyFrame:
    return pl.DataFrame(
        list(rows), schema={"merchant_id": pl.String, "violation": pl.String}, orient="row"
    ).lazy()


def _weights(
    grades: pl.LazyFrame, violations: pl.LazyFrame | None = None
) -> dict[str, dict[str, object]]:
    out = exposure_weights(
        grades, violations if violations is not None else _violation_frame(), POLICY
    ).collect()
    assert out.height == grades.collect().height
    return {r["merchant_id"]: r for r in out.iter_rows(named=True)}


@pytest.mark.parametrize(
    "tier, level, weight",
    [
        ("excellent", 10, 1.8),
        ("excellent", 0, 1.5),
        ("good", 5, 1.32),
        ("passing", 0, 1.0),
        ("passing", 10, 1.2),
        ("failing", 0, 0.5),
        ("failing", 10, 0.6),
        ("good", 3, 1.272),
    ],
)
def test_raw_weight_is_tier_times_level_multiplier(tier: str, level: int, weight: float) -> None:
    row = _weights(_grades(("m1", "toys", tier, level)))["m1"]
    assert row["eligible"] is True
    assert row["raw_weight"] == pytest.approx(weight, abs=1e-12)
    assert row["exposure_share"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "tier, slots, promotion, quota",
    [
        ("excellent", 3, True, 2000),
        ("good", 1, True, 1000),
        ("passing", 0, True, 500),
        ("failing", 0, False, 0),
    ],
)
def test_resources_by_tier(tier: str, slots: int, promotion: bool, quota: int) -> None:
    row = _weights(_grades(("m1", "toys", tier, 4)))["m1"]
    assert (row["showcase_slots"], row["promotion_eligible"], row["email_quota"]) == (
        slots,
        promotion,
        quota,
    )


def test_ineligible_merchant_gets_nothing() -> None:
    rows = _weights(
        _grades(("bad", "toys", "excellent", 10), ("ok", "toys", "good", 0)),
        _violation_frame(("bad", "no_store"), ("bad", "not_authenticated")),
    )
    bad = rows["bad"]
    assert bad["eligible"] is False
    assert bad["raw_weight"] == 0.0
    assert bad["exposure_share"] == 0.0
    assert (bad["showcase_slots"], bad["promotion_eligible"], bad["email_quota"]) == (0, False, 0)
    assert bad["tier"] == "excellent" and bad["level"] == 10  # the grade itself is kept
    assert rows["ok"]["eligible"] is True
    assert rows["ok"]["exposure_share"] == pytest.approx(1.0)


def test_shares_sum_to_one_per_category() -> None:
    grades = _grades(
        ("a1", "toys", "excellent", 10),
        ("a2", "toys", "failing", 0),
        ("a3", "toys", "passing", 2),
        ("b1", "garden", "good", 4),
        ("b2", "garden", "excellent", 7),
        ("c1", "books", "good", 1),
        ("c2", "books", "passing", 0),  # c1 ineligible
        ("d1", "shoes", "excellent", 3),
        ("d2", "shoes", "failing", 1),  # all ineligible
    )
    violations = _violation_frame(
        ("c1", "no_store"), ("d1", "banned_entity"), ("d2", "no_collection_account")
    )
    rows = _weights(grades, violations)
    shares: dict[str, float] = {}
    for r in rows.values():
        shares[r["main_category"]] = shares.get(r["main_category"], 0.0) + r["exposure_share"]
    assert shares["toys"] == pytest.approx(1.0)
    assert shares["garden"] == pytest.approx(1.0)
    assert shares["books"] == pytest.approx(1.0)
    assert shares["shoes"] == 0.0
    assert rows["d1"]["exposure_share"] == 0.0 and rows["d2"]["exposure_share"] == 0.0
    # within toys: 1.8, 0.5, 1.04 -> total 3.34
    assert rows["a1"]["exposure_share"] == pytest.approx(1.8 / 3.34)
    assert rows["a2"]["exposure_share"] == pytest.approx(0.5 / 3.34)
    assert rows["c2"]["exposure_share"] == pytest.approx(1.0)
    assert rows["c1"]["exposure_share"] == 0.0


def test_shares_are_exact_under_multipliers_of_many_decimals() -> None:
    """Multipliers of 16 and 9 decimals: the shares were summed as integer units of the
    weights' common denominator (5e17 here), whose category total wrapped past 64 bits,
    so every month failed its exposure check (found in review, 2026-12-06). Each share is
    the nearest float to its exact fraction, and a category's shares sum to 1."""
    policy = dataclasses.replace(
        POLICY,
        level_step=Fraction("0.020000001"),
        tier_multiplier={
            "excellent": Fraction("1.3333333333333333"),
            "good": Fraction("1.2000000000000001"),
            "passing": Fraction("1.000000001"),
            "failing": Fraction("0.5000000000000001"),
        },
    )
    tiers = ("excellent", "good", "passing", "failing")
    rows = [(f"m{i}", f"c{i % 3}", tiers[i % 4], i % 11) for i in range(600)]
    out = exposure_weights(_grades(*rows), _violation_frame(("m0", "no_store")), policy).collect()
    weight = {
        (t, level): policy.tier_multiplier[t] * (1 + policy.level_step * level)
        for t in tiers
        for level in range(11)
    }
    totals: dict[str, Fraction] = {}
    for _merchant, category, tier, level in rows[1:]:  # m0 is not eligible
        totals[category] = totals.get(category, Fraction(0)) + weight[tier, level]
    expected = {"m0": 0.0} | {m: float(weight[t, level] / totals[c]) for m, c, t, level in rows[1:]}
    assert dict(out.select("merchant_id", "exposure_share").iter_rows()) == expected
    sums = out.group_by("main_category").agg(pl.col("exposure_share").sum())
    assert sums["exposure_share"].to_list() == pytest.approx([1.0, 1.0, 1.0], abs=1e-12)


def test_exposure_output_columns() -> None:
    out = exposure_weights(_grades(("m1", "toys", "good", 1)), _violation_frame(), POLICY).collect()
    assert out.columns == [
        "merchant_id",
        "main_category",
        "tier",
        "level",
        "eligible",
        "raw_weight",
        "exposure_share",
        "showcase_slots",
        "promotion_eligible",
        "email_quota",
    ]


# --- tier distribution ----------------------------------------------------------------------


def test_tier_distribution_counts() -> None:
    grades = _grades(
        ("a1", "toys", "excellent", 1),
        ("a2", "toys", "excellent", 2),
        ("a3", "toys", "failing", 0),
        ("b1", "garden", "good", 4),
        ("b2", "garden", "good", 0),
        ("b3", "garden", "good", 9),
        ("b4", "garden", "passing", 3),
    )
    out = tier_distribution(grades).collect()
    counts = {(r["main_category"], r["tier"]): r["merchants"] for r in out.iter_rows(named=True)}
    assert counts == {
        ("toys", "excellent"): 2,
        ("toys", "failing"): 1,
        ("garden", "good"): 3,
        ("garden", "passing"): 1,
    }
    assert out["merchants"].sum() == 7
    assert out.schema["merchants"] == pl.Int64


def test_each_share_is_the_nearest_float_to_its_exact_fraction() -> None:
    """Spec §7: raw_weight / Σ raw_weight of the category. With three passing merchants at
    level 0 and one at level 1 the share is 1 / 4.02 = 50/201; polars' division by a
    broadcast total gave 0.24875621890547261, one ulp off float(50/201). Swept over many
    categories of mixed tiers and levels, every share is the float nearest the fraction."""
    from fractions import Fraction

    rows = _weights(
        _grades(*(("m" + c, "toys", "passing", 0) for c in "abc"), ("md", "toys", "passing", 1))
    )
    assert rows["ma"]["exposure_share"] == float(Fraction(50, 201)) == 0.24875621890547264

    tiers = ("excellent", "good", "passing", "failing")
    multiplier, step = POLICY.tier_multiplier, POLICY.level_step  # Fractions
    merchants = [(f"m{i}", f"cat{i % 37}", tiers[(i * 7) % 4], (i * 5) % 11) for i in range(1, 700)]
    rows = _weights(_grades(*merchants))
    exact = {m: multiplier[t] * (1 + step * level) for m, _, t, level in merchants}
    totals: dict[str, Fraction] = {}
    for m, category, _, _ in merchants:
        totals[category] = totals.get(category, Fraction(0)) + exact[m]
    wrong = [
        m
        for m, category, _, _ in merchants
        if rows[m]["exposure_share"] != float(exact[m] / totals[category])
    ]
    assert wrong == []
