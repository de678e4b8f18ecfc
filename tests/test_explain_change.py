"""``grading explain`` shows the previous month's grade and what changed since (issue 19, §8):
the tier and level before and after, and the metrics that decided a tier move."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.policy import load_policy
from pipelines.reporting.explain import explain_merchant, explain_text
from pipelines.reporting.explain_change import change_lines
from pipelines.warehouse import connect, fetch_rows
from tests.test_explain import MONTHS, explain, published_warehouse

POLICY = load_policy()
TIERS = POLICY.tier_names


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_warehouse(tmp_path_factory)


def test_a_drop_names_the_metric_that_decided_it():
    """The issue's example: excellent to failing on one dispute, 1/112 against 0.8%."""
    before = explain("excellent", points=50, level=3)
    after = explain(
        "failing", points=52, level=3, assessed_orders=112, bad_orders=1, seller_dispute_orders=1
    )
    assert change_lines(before, after, "2026-02", TIERS) == (
        "Previous month 2026-02: excellent, L3 (50 credit points)",
        "Changed: tier excellent → failing (down); level unchanged, L3 (50 → 52 credit points)",
        "  - seller_dispute_rate 0.00% (0/100) → 0.89% (1/112): now misses < 0.8% of excellent",
    )


def test_a_rise_names_the_conditions_now_met_and_the_new_level():
    before = explain("good", points=99, level=4, bad_orders=3)
    after = explain("excellent", points=100, level=5, bad_orders=2)
    assert change_lines(before, after, "2026-02", TIERS) == (
        "Previous month 2026-02: good, L4 (99 credit points)",
        "Changed: tier good → excellent (up); level L4 → L5 (99 → 100 credit points)",
        "  - bad_order_rate 3.00% (3/100) → 2.00% (2/100): now meets < 3% of excellent",
    )


def test_an_unchanged_tier_lists_no_deciding_metric():
    before = explain("good", points=1, level=0, bad_orders=3)
    after = explain("good", points=1, level=0, bad_orders=4)
    assert change_lines(before, after, "2026-02", TIERS) == (
        "Previous month 2026-02: good, L0 (1 credit point)",
        "Changed: tier unchanged, good; level unchanged, L0 (1 → 1 credit points)",
    )


def test_leaving_the_provisional_state_is_said_with_the_failed_conditions():
    before = explain("passing", provisional=True, assessed_orders=20)
    after = explain("failing", assessed_orders=40, bad_orders=5)
    lines = change_lines(before, after, "2026-02", TIERS)
    assert lines[1].startswith("Changed: tier passing (provisional) → failing (down); ")
    assert lines[2:] == (
        "  - no longer provisional: 40 assessed orders",
        "  - bad_order_rate 0.00% (0/20) → 12.50% (5/40): now misses < 12% of passing",
    )


def test_leaving_the_provisional_state_in_the_same_tier_is_a_change():
    """Provisional in passing, then assessed and passing on its metrics: the tier name is
    the same, the grade is not (spec §5: a provisional grade is not an assessed one), so
    the change says so rather than "tier unchanged"."""
    before = explain("passing", provisional=True, assessed_orders=20)
    after = explain("passing", assessed_orders=40, bad_orders=4)
    assert change_lines(before, after, "2026-02", TIERS) == (
        "Previous month 2026-02: passing (provisional), L3 (50 credit points)",
        "Changed: tier passing (provisional) → passing; level unchanged, L3 (50 → 50 credit "
        "points)",
        "  - no longer provisional: 40 assessed orders",
    )


def test_no_previous_grade_is_said():
    assert change_lines(None, explain("good", bad_orders=3), "2026-02", TIERS) == (
        "Previous month 2026-02: no published grade for this merchant",
    )


def test_explain_text_shows_the_previous_month_from_the_warehouse(warehouse):
    """Every merchant that moved between the last two months: its text names both tiers."""
    con = connect(warehouse, read_only=True)
    try:
        moved = fetch_rows(
            con,
            "SELECT b.merchant_id, a.tier, b.tier FROM main.merchant_grades a "
            "JOIN main.merchant_grades b USING (merchant_id) "
            "WHERE a.month = $before AND b.month = $after AND a.tier <> b.tier "
            "ORDER BY 1",
            {"before": MONTHS[-2], "after": MONTHS[-1]},
        )
        explained = {m: explain_merchant(con, m, MONTHS[-1]) for m, _, _ in moved}
    finally:
        con.close()
    assert moved
    for merchant, before, after in moved:
        lines = explained[merchant].since_previous
        assert lines[0].startswith(f"Previous month {MONTHS[-2]}: {before}"), lines
        assert f"→ {after}" in lines[1], lines
        assert len(lines) > 2, f"{merchant}: no deciding metric for {before} → {after}"
    merchant = moved[0][0]
    text = explain_text(warehouse, merchant)
    assert f"Previous month {MONTHS[-2]}: " in text
    first = explain_text(warehouse, merchant, MONTHS[0])
    assert "Previous month 2025-12: not published" in first
