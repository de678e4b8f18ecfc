"""A category whose raw weights sum to 0 gets exposure shares of 0 (spec §7).

``exposure_share = raw_weight / Σ raw_weight of the category (0 where that sum is 0)``.
Under the shipped policy an eligible merchant always weighs more than 0, so the sum is
0 only in a category with no eligible merchant, where every share is 0 anyway. But a
policy may set a tier's multiplier to 0 (pipelines/policy.py refuses only negative
ones): a category whose eligible merchants all have that tier then sums to 0 too. A
mutation audit (2026-12-07) found that no test failed when such a category's shares
came out 1.0 each instead of 0.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

from assets.cli import main as grading
from pipelines.policy import load_policy
from pipelines.rules.exposure import exposure_weights
from pipelines.warehouse import connect, fetch_frame
from tests.helpers import (
    BAD_ORDER_COLUMNS,
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    REPO_ROOT,
    SERVICE_COLUMNS,
    merchant,
    order,
    run_args,
    write_csv,
)
from tests.test_rules_compliance_exposure import _grades, _violation_frame

POLICY = load_policy()
ZERO_FAILING = dataclasses.replace(
    POLICY, tier_multiplier={**POLICY.tier_multiplier, "failing": Fraction(0)}
)


def _weights(grades: list[tuple[str, str, str, int]], policy) -> dict[str, dict]:
    out = exposure_weights(_grades(*grades), _violation_frame(), policy).collect()
    return {row["merchant_id"]: row for row in out.iter_rows(named=True)}


def test_a_category_whose_eligible_merchants_all_weigh_zero_has_shares_of_zero() -> None:
    """Two eligible failing merchants, failing weighing 0: their category's sum is 0, so
    each share is 0 (not 1, not a division by zero); another category is untouched."""
    weights = _weights(
        [("f1", "toys", "failing", 0), ("f2", "toys", "failing", 4), ("g1", "home", "good", 2)],
        ZERO_FAILING,
    )
    for merchant_id in ("f1", "f2"):
        assert weights[merchant_id]["eligible"] is True
        assert weights[merchant_id]["raw_weight"] == 0.0
        assert weights[merchant_id]["exposure_share"] == 0.0
    assert weights["g1"]["exposure_share"] == 1.0


def test_a_zero_weight_merchant_beside_a_weighted_one_has_share_zero() -> None:
    """In a category that sums to more than 0, a merchant of weight 0 gets share 0 and
    the other merchant the whole category."""
    weights = _weights([("f1", "toys", "failing", 3), ("p1", "toys", "passing", 0)], ZERO_FAILING)
    assert weights["f1"]["exposure_share"] == 0.0
    assert weights["p1"]["exposure_share"] == 1.0


# --- through the CLI ---------------------------------------------------------------------

MONTH = "2026-03"


def _zero_failing_policy_file(tmp_path: Path) -> Path:
    text = (REPO_ROOT / "pipelines" / "policies" / "policy-2026.1.toml").read_text()
    assert text.count('failing = "0.5"') == 1
    text = text.replace('failing = "0.5"', 'failing = "0"').replace(
        'policy_version = "2026.1"', 'policy_version = "test.zero-failing"'
    )
    path = tmp_path / "policy-test.zero-failing.toml"
    path.write_text(text)
    return path


def _write_landing(landing: Path) -> None:
    """M-FAIL, alone in "toys", eligible and failing: 30 assessed orders, one of them
    with a seller-responsible dispute (1/30 is not below the 0.008 every tier needs).
    M-OK, in "home", is a provisional passing merchant."""
    merchants = [merchant("M-FAIL", main_category="toys"), merchant("M-OK")]
    write_csv(landing, "merchants", MONTH, merchants, MERCHANT_COLUMNS)
    orders = [
        order(f"O-{i:02d}", "M-FAIL", f"{MONTH}-10T12:00:00Z", created_at=f"{MONTH}-01T00:00:00Z")
        for i in range(30)
    ]
    orders.append(
        order("O-OK", "M-OK", f"{MONTH}-10T12:00:00Z", created_at=f"{MONTH}-01T00:00:00Z")
    )
    write_csv(landing, "orders", MONTH, orders, ORDER_COLUMNS)
    dispute = [["O-00", "M-FAIL", "seller_responsible_dispute", f"{MONTH}-12T00:00:00Z", "false"]]
    write_csv(landing, "bad_orders", MONTH, dispute, BAD_ORDER_COLUMNS)
    write_csv(landing, "feedback", MONTH, [], FEEDBACK_COLUMNS)  # a complete landing
    write_csv(landing, "service_metrics", MONTH, [], SERVICE_COLUMNS)


def test_a_month_whose_category_weighs_zero_is_published_with_shares_of_zero(tmp_path) -> None:
    """Spec §7 on valid data under a valid policy: the month is published, M-FAIL eligible
    with raw weight 0 and share 0. The blocking check "shares sum to 1 in every category
    with an eligible merchant" refused it (found by the mutation audit, 2026-12-07); it
    now asks that of categories with a merchant of some weight only."""
    landing = tmp_path / "landing"
    _write_landing(landing)
    warehouse = tmp_path / "warehouse.duckdb"
    args = run_args(landing, warehouse, tmp_path / "outputs", MONTH, "--create", "--no-dashboard")
    assert grading([*args, "--policy", str(_zero_failing_policy_file(tmp_path))]) == 0
    con = connect(warehouse, read_only=True)
    try:
        rows = fetch_frame(
            con,
            "SELECT merchant_id, tier, eligible, raw_weight, exposure_share "
            "FROM main.exposure_weights WHERE month = $month ORDER BY merchant_id",
            {"month": MONTH},
        ).rows()
    finally:
        con.close()
    assert rows == [("M-FAIL", "failing", True, 0.0, 0.0), ("M-OK", "passing", True, 1.0, 1.0)]
