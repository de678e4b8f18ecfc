"""The pipeline against an independent reading of the contract, on boundary-heavy data.

``tests/spec_oracle.py`` was written from the spec alone, without the pipeline's code;
``tests/boundary_landing.py`` writes valid landing folders that sit on the contract's
boundaries. Each seed is graded by ``grading run`` (the real CLI, Dagster and DuckDB) and
by the oracle, and every value of the four published tables must agree (the twenty-first
review ran 125 seeds; these are a sample of its starting months and lengths).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from fractions import Fraction as F
from pathlib import Path

import pytest

from assets.cli import main as grading
from pipelines.warehouse import connect, fetch_frame, fetch_rows
from tests.boundary_landing import write_landing
from tests.helpers import run_args
from tests.spec_oracle import Policy, grade_landing

CONFORMANCE = Path(__file__).resolve().parent / "conformance"
KEYS = {
    "merchant_grades": ["month", "merchant_id"],
    "exposure_weights": ["month", "merchant_id"],
    "merchant_compliance": ["month", "merchant_id", "violation"],
    "tier_distribution": ["month", "main_category", "tier"],
    "quarantine_counts": ["dataset", "month", "reason"],
}
NOT_COMPARED = {"reasons"}  # their wording is the project's


def differences(expected: dict[str, list[dict]], got: dict[str, list[dict]]) -> list[tuple]:
    """Every row one side lacks and every value that differs (floats to 1e-12 relative),
    for the columns the oracle computes."""
    found = []
    for table, key in KEYS.items():
        want = {tuple(row[k] for k in key): row for row in expected.get(table, [])}
        have = {tuple(row[k] for k in key): row for row in got.get(table, [])}
        for row_key in sorted(set(want) | set(have), key=repr):
            if row_key not in have or row_key not in want:
                found.append(
                    (table, row_key, "missing from", "pipeline" if row_key in want else "oracle")
                )
                continue
            for column, value in want[row_key].items():
                other = have[row_key].get(column, "<no column>")
                if column in NOT_COMPARED or value == other:
                    continue
                floats = isinstance(value, float) and isinstance(other, float)
                if floats and math.isclose(value, other, rel_tol=1e-12, abs_tol=1e-15):
                    continue
                found.append((table, row_key, column, value, other))
    return found


def published_tables(warehouse: Path, schema: str = "main") -> dict[str, list[dict]]:
    """The four tables and the quarantine counts as the warehouse holds them (``preview``:
    a projection's)."""
    con = connect(warehouse, read_only=True)
    try:
        tables = {
            table: fetch_frame(con, f"SELECT * FROM {schema}.{table}").to_dicts()
            for table in list(KEYS)[:4]
        }
        if schema == "main":
            counts = fetch_rows(
                con, "SELECT dataset, month, reason, count(*) FROM main.quarantine GROUP BY ALL"
            )
            tables["quarantine_counts"] = [
                {"dataset": d, "month": m, "reason": r, "rows": n} for d, m, r, n in counts
            ]
    finally:
        con.close()
    return tables


def month_of(tables: dict[str, list[dict]], month: str) -> dict[str, list[dict]]:
    return {
        name: [row for row in rows if row.get("month") == month] for name, rows in tables.items()
    }


def test_the_oracle_reproduces_the_conformance_fixture():
    expected = json.loads((CONFORMANCE / "expected.json").read_text())
    oracle = grade_landing(CONFORMANCE / "landing", "2026-03")
    assert differences(expected, oracle) == []
    assert sum(len(rows) for rows in oracle.values()) == sum(
        len(rows) for rows in expected.values()
    )


# Seeds of the review: 2, 3 and 4 months, starting in a leap February, in December
# (a window across the year) and in spring.
@pytest.mark.parametrize("seed", [3, 11, 57, 102])
def test_the_pipeline_grades_as_the_oracle_does(seed, tmp_path):
    landing = tmp_path / "landing"
    months = write_landing(seed, str(landing))
    warehouse = tmp_path / "warehouse.duckdb"
    args = run_args(
        landing, warehouse, tmp_path / "outputs", months[-1], "--create", "--no-dashboard"
    )
    assert grading(args) == 0
    published = published_tables(warehouse)
    oracle = grade_landing(landing, months[-1])
    assert {row["month"] for row in published["merchant_grades"]} == set(months)
    assert published["quarantine_counts"] == []  # valid rows only: the rules are compared
    assert differences(oracle, published) == []


def test_a_changed_value_or_a_missing_row_is_a_difference():
    """The comparison can fail: one level, one share and one violation changed."""
    oracle = grade_landing(CONFORMANCE / "landing", "2026-01")
    changed = json.loads(json.dumps(oracle))
    changed["merchant_grades"][0]["level"] += 1
    changed["exposure_weights"][0]["exposure_share"] += 1e-9
    changed["merchant_compliance"].pop()
    found = differences(oracle, changed)
    assert [entry[2] for entry in found] == ["level", "exposure_share", "missing from"]


def test_a_preview_grades_as_the_oracle_does(tmp_path):
    """Spec §11 as of 2024-04-20 (a period's last day): the window, credit points and
    records end at the next day's first instant."""
    landing = tmp_path / "landing"
    months = write_landing(3, str(landing))  # 2024-02 .. 2024-04
    warehouse = tmp_path / "warehouse.duckdb"
    args = run_args(
        landing, warehouse, tmp_path / "outputs", months[-2], "--create", "--no-dashboard"
    )
    assert grading(args) == 0
    preview = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert grading([*preview, "--as-of", "2024-04-20"]) == 0
    projected = published_tables(warehouse, schema="preview")
    oracle = month_of(grade_landing(landing, "2024-04", as_of=dt.date(2024, 4, 20)), "2024-04")
    assert len(projected["merchant_grades"]) == len(oracle["merchant_grades"]) > 0
    assert differences(oracle, projected) == []
    final = month_of(grade_landing(landing, "2024-04"), "2024-04")
    assert differences(final, projected) != []  # the projection is not the month's grades


# Every number other than 2026.1's: a minimum amount between cents, four periods, a
# 60-day window, only five stars positive, thresholds of several decimals.
OTHER_POLICY = Policy(
    version="test.2",
    min_amount=Decimal("4.995"),
    positive_min_stars=5,
    negative_max_stars=2,
    period_start_days=(1, 8, 16, 24),
    level_bounds=(2, 5, 12, 25, 40, 60, 90, 150, 300, 1000),
    window_days=60,
    min_dsr_count=11,
    min_shipments_due=19,
    min_messages_received=9,
    tiers=(
        (
            "excellent",
            100,
            F("0.0301"),
            F("0.00833"),
            F("0.9667"),
            F("4.65"),
            F("0.9525"),
            F("0.7777"),
        ),
        ("good", 35, F("0.0625"), F("0.0125"), F("0.9333"), F("4.333"), F("0.875"), None),
        ("passing", 34, F("0.1234567"), F("0.0125"), F("0.8889"), None, None, None),
    ),
    provisional_below=25,
    max_products_without_store=11,
    individual_accounts=2,
    enterprise_accounts=5,
    level_step=F("0.035"),
    tier_multiplier={
        "excellent": F("1.75"),
        "good": F("1.125"),
        "passing": F("0.95"),
        "failing": F("0.333"),
    },
    resources={
        "excellent": (5, True, 3000),
        "good": (2, False, 1500),
        "passing": (1, True, 250),
        "failing": (0, False, 7),
    },
)
TIER_KEYS = [
    "bad_order_rate_max",
    "seller_dispute_rate_max",
    "positive_feedback_rate_min",
    "dsr_item_avg_min",
    "on_time_ship_rate_min",
    "response_rate_24h_min",
]


def decimal(number: F | Decimal) -> str:
    """A terminating fraction as the decimal it is, quoted for the policy file."""
    exact = (
        Decimal(number.numerator) / Decimal(number.denominator) if isinstance(number, F) else number
    )
    return f'"{exact:f}"'


def policy_file(policy: Policy) -> str:
    """``policy`` in the project's policy file format (pipelines/policies/)."""
    lines = [
        f'policy_version = "{policy.version}"',
        'effective_from = "2024-01"',
        "[ingest]",
        'max_quarantine_ratio = "0.01"',
        "[credit]",
        f"positive_min_stars = {policy.positive_min_stars}",
        f"negative_max_stars = {policy.negative_max_stars}",
        f"min_order_amount_usd = {decimal(policy.min_amount)}",
        f"period_start_days = {list(policy.period_start_days)}",
        f"level_lower_bounds = {list(policy.level_bounds)}",
        "[window]",
        f"days = {policy.window_days}",
        f"min_dsr_item_count = {policy.min_dsr_count}",
        f"min_shipments_due = {policy.min_shipments_due}",
        f"min_messages_received = {policy.min_messages_received}",
        "[tiers]",
        f'fallback = "{policy.fallback_tier}"',
    ]
    for name, least, *bounds in policy.tiers:
        lines += [f"[tiers.{name}]", f"min_assessed_orders = {least}"]
        lines += [
            f"{k} = {decimal(b)}" for k, b in zip(TIER_KEYS, bounds, strict=True) if b is not None
        ]
    lines += [
        "[provisional]",
        f"min_assessed_orders = {policy.provisional_below}",
        f'tier = "{policy.provisional_tier}"',
        "[compliance]",
        f"min_product_count_exclusive = {policy.max_products_without_store}",
        f"individual_account_limit = {policy.individual_accounts}",
        f"enterprise_account_limit = {policy.enterprise_accounts}",
        "[exposure]",
        f"level_step = {decimal(policy.level_step)}",
        "[exposure.tier_multiplier]",
        *(f"{tier} = {decimal(m)}" for tier, m in policy.tier_multiplier.items()),
    ]
    for i, resource in enumerate(["showcase_slots", "promotion_eligible", "email_quota"]):
        lines.append(f"[exposure.{resource}]")
        lines += [f"{tier} = {str(r[i]).lower()}" for tier, r in policy.resources.items()]
    return "\n".join(lines) + "\n"


def test_another_policy_grades_as_the_oracle_does(tmp_path):
    """Spec §10: every number comes from the policy file, none from the code."""
    landing = tmp_path / "landing"
    months = write_landing(57, str(landing))  # 2026-04, 2026-05
    policy = tmp_path / "policy-test.2.toml"
    policy.write_text(policy_file(OTHER_POLICY))
    warehouse = tmp_path / "warehouse.duckdb"
    args = run_args(
        landing, warehouse, tmp_path / "outputs", months[-1], "--create", "--no-dashboard"
    )
    assert grading([*args, "--policy", str(policy)]) == 0
    published = published_tables(warehouse)
    assert {row["policy_version"] for row in published["merchant_grades"]} == {"test.2"}
    assert differences(grade_landing(landing, months[-1], OTHER_POLICY), published) == []
    assert differences(grade_landing(landing, months[-1]), published) != []  # not 2026.1's
