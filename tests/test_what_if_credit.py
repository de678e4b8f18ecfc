"""A what-if that changes the credit rules equals a full run under the changed policy.

Credit points are cumulative over all feedback history, and the stored ledger was counted
under the policy in force when each month was graded. A what-if with other credit rules
(stars, minimum order amount) must count the history again, or its points and levels are
the old policy's. The reference is ``grading run --policy <changed file>`` on a fresh
warehouse over the conformance fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines.grading import credit_under, regrade_month
from pipelines.policy import load_policy, parse_policy
from pipelines.reporting.analysis import policy_dict, readonly_copy
from pipelines.warehouse import connect, fetch_frame
from tests.helpers import CONFORMANCE, run_args

MONTHS = ("2026-01", "2026-02", "2026-03")
# The example: a 10.00 minimum order amount instead of 5.00, positive from 5 stars.
CREDIT_CHANGES = {"min_order_amount_usd": "10.00", "positive_min_stars": 5}
TABLES = ("merchant_grades", "merchant_compliance", "exposure_weights", "tier_distribution")
SORT_KEYS = {
    "merchant_grades": ["merchant_id"],
    "merchant_compliance": ["merchant_id", "violation"],
    "exposure_weights": ["merchant_id"],
    "tier_distribution": ["main_category", "tier"],
}


def write_credit_policy(path: Path) -> Path:
    """The shipped policy file with the credit rules changed, as an analyst would edit it."""
    text = (
        (Path(__file__).resolve().parents[1] / "pipelines/policies/policy-2026.1.toml")
        .read_text(encoding="utf-8")
        .replace('policy_version = "2026.1"', 'policy_version = "2026.1-credit"')
        .replace('min_order_amount_usd = "5.00"', 'min_order_amount_usd = "10.00"')
        .replace("positive_min_stars = 4", "positive_min_stars = 5")
    )
    path.write_text(text, encoding="utf-8")
    return path


def grade(warehouse: Path, *extra: str) -> None:
    """``grading run`` over the conformance fixture through March, as a user runs it."""
    command = [
        sys.executable,
        "-m",
        "assets.cli",
        *run_args(CONFORMANCE / "landing", warehouse, warehouse.parent / "outputs", MONTHS[-1]),
        *extra,
    ]
    done = subprocess.run(command, env=os.environ, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> dict[str, Path]:
    """The fixture graded twice on fresh warehouses: shipped policy, changed credit rules."""
    root = tmp_path_factory.mktemp("what_if_credit")
    policy = write_credit_policy(root / "credit.toml")
    (root / "base").mkdir()
    (root / "credit").mkdir()
    grade(root / "base" / "w.duckdb")
    grade(root / "credit" / "w.duckdb", "--policy", str(policy))
    return {
        "base": root / "base" / "w.duckdb",
        "credit": root / "credit" / "w.duckdb",
        "policy": policy,
    }


@pytest.fixture(scope="module")
def base_copy(warehouses):
    copied = readonly_copy(warehouses["base"], into=warehouses["base"].parent / "copy")
    con = connect(copied, read_only=True)
    yield con
    con.close()


def published(warehouse: Path, table: str, month: str) -> pl.DataFrame:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_frame(con, f"SELECT * FROM main.{table} WHERE month = $m", {"m": month})
    finally:
        con.close()


def test_the_changed_policy_file_is_the_what_if_policy(warehouses):
    raw = policy_dict(warehouses["policy"])
    assert {k: raw["credit"][k] for k in CREDIT_CHANGES} == CREDIT_CHANGES


@pytest.mark.parametrize("month", MONTHS)
def test_credit_what_if_gives_every_merchant_the_full_runs_points_and_level(
    warehouses, base_copy, month: str
):
    what_if = regrade_month(base_copy, month, load_policy(warehouses["policy"]))
    full = published(warehouses["credit"], "merchant_grades", month)
    columns = ["merchant_id", "credit_points", "level"]
    joined = (
        what_if["merchant_grades"]
        .select(columns)
        .join(full.select(columns), on="merchant_id", how="full", suffix="_full")
    )
    wrong = joined.filter(
        (pl.col("credit_points") != pl.col("credit_points_full"))
        | (pl.col("level") != pl.col("level_full"))
        | pl.col("merchant_id").is_null()
        | pl.col("merchant_id_full").is_null()
    )
    assert wrong.is_empty(), f"{wrong.height} of {joined.height} merchants differ:\n{wrong}"


@pytest.mark.parametrize("month", MONTHS)
def test_credit_what_if_equals_the_full_run_in_every_table(warehouses, base_copy, month: str):
    what_if = regrade_month(base_copy, month, load_policy(warehouses["policy"]))
    for table in TABLES:
        want = published(warehouses["credit"], table, month)
        got = what_if[table].select(want.columns)
        assert got.sort(SORT_KEYS[table]).equals(want.sort(SORT_KEYS[table])), table


def test_the_changed_rules_really_move_points(warehouses, base_copy):
    """The comparison above is not vacuous: the stored ledger's points are different."""
    month = MONTHS[-1]
    stored = published(warehouses["base"], "merchant_grades", month)
    changed = published(warehouses["credit"], "merchant_grades", month)
    moved = stored.join(changed, on="merchant_id", suffix="_changed").filter(
        pl.col("credit_points") != pl.col("credit_points_changed")
    )
    assert moved.height > 100


def test_unchanged_credit_rules_keep_the_stored_ledger(base_copy):
    """Only a change of what counts recounts the history; level bounds do not."""
    shipped = load_policy()
    assert credit_under(base_copy, MONTHS[-1], shipped) is None
    bounds = policy_dict()
    bounds["credit"]["level_lower_bounds"] = [1, 5, 30, 100, 200, 500, 1000, 2000, 5000, 9999]
    assert credit_under(base_copy, MONTHS[-1], parse_policy(bounds)) is None


@pytest.mark.parametrize("month", MONTHS)
def test_recounted_history_equals_the_ledger_a_run_stores(warehouses, month: str):
    """Counting the whole history at once gives the monthly ledger's points: read the
    warehouse graded under the changed rules with the shipped ones, and get the shipped
    run's ledger (merchants without points may be absent from either side)."""
    con = connect(warehouses["credit"], read_only=True)
    try:
        recounted = credit_under(con, month, load_policy())
    finally:
        con.close()
    assert recounted is not None
    stored = published(warehouses["base"], "merchant_grades", month)
    joined = stored.select("merchant_id", "credit_points").join(
        recounted, on="merchant_id", how="left", suffix="_recounted"
    )
    differ = joined.filter(
        pl.col("credit_points") != pl.col("credit_points_recounted").fill_null(0)
    )
    assert differ.is_empty(), differ
