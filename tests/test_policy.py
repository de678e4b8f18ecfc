"""Tests of the policy file: the shipped default loads exactly, broken policies are refused
with a message naming the key (missing key, non-increasing level bounds, rate outside [0, 1],
tiers out of order), and unreadable files are refused."""

from __future__ import annotations

import copy
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from pipelines.policy import DEFAULT_POLICY_PATH, Policy, PolicyError, load_policy, parse_policy


@pytest.fixture(scope="module")
def default_raw() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def _modified(
    raw: dict[str, Any], key: str, value: Any = None, *, delete: bool = False
) -> dict[str, Any]:
    """A deep copy of ``raw`` with the dotted ``key`` set to ``value`` (or deleted)."""
    out = copy.deepcopy(raw)
    *parents, last = key.split(".")
    node = out
    for part in parents:
        node = node[part]
    assert last in node, f"test setup: {key} is not in the default policy"
    if delete:
        del node[last]
    else:
        node[last] = value
    return out


def _tier(policy: Policy, name: str):
    return next(t for t in policy.tiers if t.name == name)


# --- the default -------------------------------------------------------------------------


def test_default_policy_loads_with_its_version() -> None:
    policy = load_policy()
    assert policy.version == "2026.1"
    assert policy.source == str(DEFAULT_POLICY_PATH)
    assert load_policy(DEFAULT_POLICY_PATH) == policy


def test_default_tiers_are_exact_fractions() -> None:
    policy = load_policy()
    assert policy.tier_names == ("excellent", "good", "passing", "failing")
    excellent = _tier(policy, "excellent")
    assert excellent.min_assessed_orders == 90
    assert excellent.max_rates == {
        "bad_order_rate": Fraction(3, 100),
        "seller_dispute_rate": Fraction(8, 1000),
    }
    assert excellent.min_rates == {
        "positive_feedback_rate": Fraction(97, 100),
        "dsr_item_avg": Fraction(47, 10),
        "on_time_ship_rate": Fraction(95, 100),
        "response_rate_24h": Fraction(80, 100),
    }
    for value in (*excellent.max_rates.values(), *excellent.min_rates.values()):
        assert type(value) is Fraction
    good = _tier(policy, "good")
    assert good.min_assessed_orders == 30
    assert good.max_rates == {
        "bad_order_rate": Fraction(6, 100),
        "seller_dispute_rate": Fraction(8, 1000),
    }
    assert good.min_rates == {
        "positive_feedback_rate": Fraction(95, 100),
        "dsr_item_avg": Fraction(45, 10),
        "on_time_ship_rate": Fraction(90, 100),
    }
    passing = _tier(policy, "passing")
    assert passing.min_assessed_orders == 30
    assert passing.max_rates == {
        "bad_order_rate": Fraction(12, 100),
        "seller_dispute_rate": Fraction(8, 1000),
    }
    assert passing.min_rates == {"positive_feedback_rate": Fraction(90, 100)}


def test_default_other_numbers() -> None:
    policy = load_policy()
    assert policy.max_quarantine_ratio == Fraction(1, 100)
    assert (policy.positive_min_stars, policy.negative_max_stars) == (4, 2)
    assert policy.min_order_amount_usd == Fraction(5)
    assert policy.period_start_days == (1, 11, 21)
    assert policy.level_lower_bounds == (3, 10, 30, 100, 200, 500, 1000, 2000, 5000, 10000)
    assert policy.window_days == 90
    assert (policy.min_dsr_item_count, policy.min_shipments_due, policy.min_messages_received) == (
        10,
        20,
        10,
    )
    assert (policy.provisional_min_assessed_orders, policy.provisional_tier) == (30, "passing")
    assert policy.fallback_tier == "failing"
    assert (
        policy.min_product_count_exclusive,
        policy.individual_account_limit,
        policy.enterprise_account_limit,
    ) == (10, 1, 6)
    assert policy.level_step == Fraction(2, 100)
    assert policy.tier_multiplier == {
        "excellent": Fraction(3, 2),
        "good": Fraction(6, 5),
        "passing": Fraction(1),
        "failing": Fraction(1, 2),
    }
    assert policy.showcase_slots == {"excellent": 3, "good": 1, "passing": 0, "failing": 0}
    assert policy.promotion_eligible == {
        "excellent": True,
        "good": True,
        "passing": True,
        "failing": False,
    }
    assert policy.email_quota == {"excellent": 2000, "good": 1000, "passing": 500, "failing": 0}


def test_parse_policy_of_the_unmodified_dict_equals_the_default(default_raw) -> None:
    assert parse_policy(copy.deepcopy(default_raw), "copy") == load_policy()


def test_a_float_rate_in_toml_is_read_as_its_exact_decimal(default_raw) -> None:
    raw = _modified(default_raw, "tiers.excellent.bad_order_rate_max", 0.03)
    assert _tier(parse_policy(raw), "excellent").max_rates["bad_order_rate"] == Fraction(3, 100)


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "policy_version",
        "ingest.max_quarantine_ratio",
        "credit.min_order_amount_usd",
        "credit.level_lower_bounds",
        "window.min_dsr_item_count",
        "tiers.fallback",
        "tiers.good.min_assessed_orders",
        "provisional.tier",
        "compliance.enterprise_account_limit",
        "exposure.level_step",
        "exposure.tier_multiplier.good",
        "exposure.email_quota.failing",
    ],
)
def test_missing_key_is_refused_naming_the_key(default_raw, key: str) -> None:
    raw = _modified(default_raw, key, delete=True)
    with pytest.raises(PolicyError, match="missing key") as info:
        parse_policy(raw, "broken.toml")
    assert key in str(info.value)
    assert "broken.toml" in str(info.value)


@pytest.mark.parametrize(
    "bounds",
    [
        [3, 10, 10, 100, 200, 500, 1000, 2000, 5000, 10000],  # equal neighbours
        [3, 10, 30, 100, 90, 500, 1000, 2000, 5000, 10000],  # a decrease
        [10000, 5000, 2000, 1000, 500, 200, 100, 30, 10, 3],  # reversed
    ],
)
def test_level_bounds_that_do_not_strictly_increase_are_refused(default_raw, bounds) -> None:
    raw = _modified(default_raw, "credit.level_lower_bounds", bounds)
    with pytest.raises(PolicyError, match=r"credit\.level_lower_bounds.*strictly increase"):
        parse_policy(raw)


@pytest.mark.parametrize(
    "key, value, message",
    [
        # Negative credit points are L0 (spec §3): a first bound below 0 would make them L1.
        (
            "credit.level_lower_bounds",
            [-2, 10, 30, 100, 200, 500, 1000, 2000, 5000, 10000],
            r"credit\.level_lower_bounds\[0\] must not be negative, got -2",
        ),
        (
            "tiers.excellent.dsr_item_avg_min",
            "-4.7",
            r"tiers\.excellent\.dsr_item_avg_min.*\[1, 5\]",
        ),
        ("tiers.good.dsr_item_avg_min", "5.01", r"tiers\.good\.dsr_item_avg_min.*\[1, 5\]"),
        ("tiers.good.dsr_item_avg_min", "0.5", r"tiers\.good\.dsr_item_avg_min.*\[1, 5\]"),
        (  # a period starting on the 29th would not exist in February
            "credit.period_start_days",
            [1, 11, 29],
            r"credit\.period_start_days must start at 1.*stay within day 28: \[1, 11, 29\]",
        ),
        (
            "exposure.showcase_slots.good",
            -1,
            r"exposure\.showcase_slots\.good must not be negative",
        ),
        ("exposure.email_quota.passing", -500, r"exposure\.email_quota\.passing must not be"),
        (
            "exposure.tier_multiplier.failing",
            "-0.5",
            r"exposure\.tier_multiplier\.failing must not",
        ),
        ("tiers.passing.min_assessed_orders", -90, r"tiers\.passing\.min_assessed_orders.*-90"),
        ("compliance.individual_account_limit", 0, r"individual_account_limit must be at least 1"),
        ("compliance.enterprise_account_limit", -1, r"enterprise_account_limit must be at least 1"),
        # A rate over a denominator of 0 has no value: 0 would make 0/0 "defined".
        ("window.min_dsr_item_count", 0, r"window\.min_dsr_item_count must be at least 1.*got 0"),
        ("window.min_shipments_due", 0, r"window\.min_shipments_due must be at least 1.*got 0"),
        (
            "window.min_messages_received",
            -3,
            r"window\.min_messages_received must be at least 1.*got -3",
        ),
        ("window.days", 0, r"window\.days must be from 1 to 36,525 \(a century\), got 0"),
        # Found in review (2026-12-06): accepted, then every month stopped on an error
        # naming no key ("date value out of range", a 32-bit Series of 3000000000).
        ("window.days", 36_526, r"window\.days must be from 1 to 36,525.*got 36526"),
        (  # TOML integers have no size limit (found in review, 2026-12-06)
            "tiers.excellent.min_assessed_orders",
            2**64,
            r"tiers\.excellent\.min_assessed_orders' must fit a 64-bit integer.*"
            r"got 18,446,744,073,709,551,616",
        ),
        ("credit.level_lower_bounds", [3, 10, 2**63], r"level_lower_bounds\[2\]' must fit"),
        (
            "exposure.email_quota.excellent",
            2**31,
            r"exposure\.email_quota\.excellent must be at most 2,147,483,647.*got 2,147,483,648",
        ),
        (
            "exposure.showcase_slots.good",
            3_000_000_000,
            r"exposure\.showcase_slots\.good must be at most 2,147,483,647",
        ),
        (
            "provisional.min_assessed_orders",
            -1,
            r"provisional\.min_assessed_orders must not be negative, got -1",
        ),
    ],
)
def test_numbers_outside_what_they_measure_are_refused(default_raw, key, value, message) -> None:
    """Found by an audit (2026-12-05): these were accepted, and a level bound of -2 graded
    a merchant with -2 points as L1."""
    with pytest.raises(PolicyError, match=message):
        parse_policy(_modified(default_raw, key, value), "broken.toml")


@pytest.mark.parametrize(
    "key, value, parsed",
    [
        (
            "credit.level_lower_bounds",
            [0, 10, 30, 100, 200, 500, 1000, 2000, 5000, 10000],
            lambda p: p.level_lower_bounds[0],
        ),
        (
            "tiers.excellent.dsr_item_avg_min",
            "5",
            lambda p: _tier(p, "excellent").min_rates["dsr_item_avg"],
        ),
        ("tiers.good.dsr_item_avg_min", 1, lambda p: _tier(p, "good").min_rates["dsr_item_avg"]),
        (
            "tiers.passing.min_assessed_orders",
            0,
            lambda p: _tier(p, "passing").min_assessed_orders,
        ),
        ("compliance.enterprise_account_limit", 1, lambda p: p.enterprise_account_limit),
        ("window.min_dsr_item_count", 1, lambda p: p.min_dsr_item_count),
        ("window.min_shipments_due", 1, lambda p: p.min_shipments_due),
        ("window.min_messages_received", 1, lambda p: p.min_messages_received),
        ("provisional.min_assessed_orders", 0, lambda p: p.provisional_min_assessed_orders),
        ("exposure.showcase_slots.good", 0, lambda p: p.showcase_slots["good"]),
        ("exposure.tier_multiplier.failing", "0", lambda p: p.tier_multiplier["failing"]),
        ("exposure.email_quota.excellent", 2**31 - 1, lambda p: p.email_quota["excellent"]),
        ("window.days", 36_525, lambda p: p.window_days),
        (
            "tiers.excellent.min_assessed_orders",
            2**63 - 1,
            lambda p: _tier(p, "excellent").min_assessed_orders,
        ),
    ],
)
def test_numbers_at_the_edge_of_what_they_measure_are_accepted(
    default_raw, key, value, parsed
) -> None:
    """Accepted, and graded with exactly the number written (not clamped or defaulted)."""
    policy = parse_policy(_modified(default_raw, key, value))
    expected = Fraction(value[0] if isinstance(value, list) else value)
    assert parsed(policy) == expected


@pytest.mark.parametrize(
    "key, value",
    [
        ("ingest.max_quarantine_ratio", "1.01"),
        ("ingest.max_quarantine_ratio", "-0.01"),
        ("tiers.excellent.bad_order_rate_max", "1.5"),
        ("tiers.passing.bad_order_rate_max", "-0.12"),
        ("tiers.good.positive_feedback_rate_min", "95"),
        ("tiers.excellent.response_rate_24h_min", 2),
        ("tiers.passing.seller_dispute_rate_max", "-0.008"),
    ],
)
def test_rate_outside_zero_one_is_refused_naming_the_key(default_raw, key, value) -> None:
    raw = _modified(default_raw, key, value)
    with pytest.raises(PolicyError, match=r"must lie in \[0, 1\]") as info:
        parse_policy(raw)
    assert key in str(info.value)


@pytest.mark.parametrize(
    "key, value",
    [
        ("ingest.max_quarantine_ratio", "0"),
        ("ingest.max_quarantine_ratio", "1"),
        ("tiers.excellent.bad_order_rate_max", "0"),
        ("tiers.passing.bad_order_rate_max", "1"),
        ("tiers.excellent.response_rate_24h_min", "1"),
    ],
)
def test_rates_at_zero_and_one_are_accepted(default_raw, key, value) -> None:
    policy = parse_policy(_modified(default_raw, key, value))
    if key.startswith("ingest"):
        assert policy.max_quarantine_ratio == Fraction(value)
    else:
        tier = _tier(policy, key.split(".")[1])
        metric = key.split(".")[2].removesuffix("_max").removesuffix("_min")
        assert {**tier.max_rates, **tier.min_rates}[metric] == Fraction(value)


@pytest.mark.parametrize(
    "key, value, named",
    [
        # a higher tier with a looser max (bad rate allowed up to 7% > good's 6%)
        ("tiers.excellent.bad_order_rate_max", "0.07", "bad_order_rate_max"),
        ("tiers.good.seller_dispute_rate_max", "0.009", "seller_dispute_rate_max"),
        # a higher tier with a looser min
        ("tiers.excellent.positive_feedback_rate_min", "0.94", "positive_feedback_rate_min"),
        ("tiers.excellent.dsr_item_avg_min", "4.4", "dsr_item_avg_min"),
        ("tiers.good.positive_feedback_rate_min", "0.89", "positive_feedback_rate_min"),
        # a higher tier needing fewer assessed orders
        ("tiers.excellent.min_assessed_orders", 29, "min_assessed_orders"),
        ("tiers.passing.min_assessed_orders", 31, "min_assessed_orders"),
    ],
)
def test_tiers_out_of_order_are_refused(default_raw, key, value, named) -> None:
    raw = _modified(default_raw, key, value)
    with pytest.raises(PolicyError, match="at least as strict") as info:
        parse_policy(raw)
    assert named in str(info.value)


def test_higher_tier_dropping_a_threshold_of_the_tier_below_is_refused(default_raw) -> None:
    # Without a bad-order maximum the top tier would be looser than "good".
    raw = _modified(default_raw, "tiers.excellent.bad_order_rate_max", delete=True)
    with pytest.raises(PolicyError, match="at least as strict") as info:
        parse_policy(raw)
    assert "bad_order_rate_max" in str(info.value)
    assert "tiers.excellent" in str(info.value)


def test_equal_thresholds_in_neighbouring_tiers_are_accepted(default_raw) -> None:
    # "at least as strict" allows equality: good's bad-rate max equal to excellent's.
    raw = _modified(default_raw, "tiers.good.bad_order_rate_max", "0.03")
    assert _tier(parse_policy(raw), "good").max_rates["bad_order_rate"] == Fraction(3, 100)


def test_non_existent_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError, match="does not exist") as info:
        load_policy(missing)
    assert str(missing) in str(info.value)


def test_a_folder_given_as_a_policy_file_is_refused_not_a_traceback(tmp_path: Path) -> None:
    """``--policy-override DIR`` raised IsADirectoryError (found by an audit)."""
    with pytest.raises(PolicyError, match=r"is a folder, not a policy file") as info:
        load_policy(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_invalid_toml_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('policy_version = "2026.1"\n[credit\npositive_min_stars = 4\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML") as info:
        load_policy(bad)
    assert str(bad) in str(info.value)


def test_a_valid_modified_file_loads(tmp_path: Path) -> None:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        'policy_version = "2026.1"', 'policy_version = "2026.2"'
    )
    path = tmp_path / "policy-2026.2.toml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)
    assert policy.version == "2026.2"
    assert policy.source == str(path)


# --- many decimals (a review, 2026-12-06) --------------------------------------------------


def test_an_unquoted_decimal_in_the_file_is_read_as_written_not_as_a_float(
    tmp_path: Path,
) -> None:
    """TOML would make 0.9300000000000000001 the float 0.93; the file means the decimal."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        'positive_feedback_rate_min = "0.95"', "positive_feedback_rate_min = 0.9500000000000000001"
    )
    assert "0.9500000000000000001" in text
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    rate = _tier(load_policy(path), "good").min_rates["positive_feedback_rate"]
    assert rate == Fraction("0.9500000000000000001") > Fraction(95, 100)


@pytest.mark.parametrize(
    "value", ["0.00000000000000000001", "0.12345678901234567891", "12345678901234567890.5"]
)
def test_a_threshold_with_more_digits_than_exact_comparisons_take_is_refused(
    default_raw, value: str
) -> None:
    raw = _modified(default_raw, "tiers.passing.bad_order_rate_max", value)
    if Fraction(value) > 1:
        raw = _modified(default_raw, "exposure.tier_multiplier.good", value)
    with pytest.raises(PolicyError, match="more digits than exact comparisons take") as refused:
        parse_policy(raw, "p.toml")
    assert "p.toml" in str(refused.value)


def test_nineteen_decimal_places_are_accepted(default_raw) -> None:
    raw = _modified(default_raw, "tiers.good.bad_order_rate_max", "0.0700000000000000001")
    rate = _tier(parse_policy(raw), "good").max_rates["bad_order_rate"]
    assert rate == Fraction(700000000000000001, 10**19)
