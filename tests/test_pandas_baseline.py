"""The pandas baseline of the benchmark grades exactly like the pipeline.

Generated data is graded once by ``grading run`` (the real pipeline) and once by
``bench.pandas_baseline``; the published Parquet exports of the last month must agree
merchant by merchant. The conformance fixture's expected.json is checked the same way.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.pandas_baseline import grade_month_pandas, main

ROOT = Path(__file__).resolve().parents[1]

CONFORMANCE = ROOT / "tests" / "conformance"
MONTH = "2026-03"
# Columns compared exactly; the rates and the exposure share as floats (see same_float).
EXACT = (
    "credit_points",
    "level",
    "tier",
    "provisional",
    "assessed_orders",
    "bad_orders",
    "seller_dispute_orders",
    "positive_feedback",
    "negative_feedback",
    "main_category",
    "eligible",
    "showcase_slots",
    "promotion_eligible",
    "email_quota",
)
FLOATS = (
    "bad_order_rate",
    "seller_dispute_rate",
    "positive_feedback_rate",
    "dsr_item_avg",
    "on_time_ship_rate",
    "response_rate_24h",
    "raw_weight",
    "exposure_share",
)
# Not compared: ``reasons`` (free text whose wording is the pipeline's own; the baseline
# does not produce it) and ``policy_version`` (a stamp, equal by construction).


def grading(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "assets.cli", *args], check=True, capture_output=True)


def same_float(expected: object, got: object) -> bool:
    """Rates are n/d as floats in both; the exposure share is a float division of
    integer weight units in the pipeline and of float weights here, so allow 1e-9."""
    if expected is None or pd.isna(expected):
        return got is None or pd.isna(got)
    return math.isclose(float(expected), float(got), rel_tol=1e-9, abs_tol=1e-15)


def quarantine_counts(records: list[dict]) -> dict[tuple[str, str, str], int]:
    return {(r["dataset"], r["month"], r["reason"]): r["rows"] for r in records}


def mismatches(want: pd.DataFrame, got: pd.DataFrame) -> list[tuple]:
    """(merchant, column, expected, got) for every differing value; indexed by merchant."""
    out = []
    for column in EXACT:
        differ = want[column].ne(got.loc[want.index, column])
        out += [(m, column, want.at[m, column], got.at[m, column]) for m in want.index[differ]]
    for column in FLOATS:
        out += [
            (m, column, want.at[m, column], got.at[m, column])
            for m in want.index
            if not same_float(want.at[m, column], got.at[m, column])
        ]
    return out


# ------------------------------------------------------------------------------------------
# Generated data, graded by the pipeline
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pandas_baseline")
    grading(
        "generate",
        "--out",
        str(root / "landing"),
        "--merchants",
        "2000",
        "--months",
        f"2026-01..{MONTH}",
        "--orders-per-month",
        "40000",
    )
    grading(
        "run",
        "--landing",
        str(root / "landing"),
        "--warehouse",
        str(root / "warehouse.duckdb"),
        "--through",
        MONTH,
    )
    return root


@pytest.fixture(scope="module")
def published(generated) -> pd.DataFrame:
    """The pipeline's merchant_grades of the month joined with its exposure_weights."""
    outputs = generated / "outputs"
    grades = pd.read_parquet(outputs / "merchant_grades" / f"month={MONTH}")
    weights = pd.read_parquet(outputs / "exposure_weights" / f"month={MONTH}")
    extra = ["merchant_id", "main_category", "eligible", "raw_weight", "exposure_share"]
    extra += ["showcase_slots", "promotion_eligible", "email_quota"]
    return grades.merge(weights[extra], on="merchant_id", validate="1:1").set_index("merchant_id")


@pytest.fixture(scope="module")
def baseline(generated) -> pd.DataFrame:
    return grade_month_pandas(generated / "landing", MONTH)


def test_same_merchants_are_graded(published, baseline):
    assert baseline["merchant_id"].is_unique
    assert sorted(baseline["merchant_id"]) == sorted(published.index)


def test_level_and_tier_match_per_merchant(published, baseline):
    got = baseline.set_index("merchant_id").loc[published.index]
    assert (got["level"] == published["level"]).all()
    assert (got["tier"] == published["tier"]).all()
    # The generated data spreads over every tier, so the comparison means something.
    assert set(published["tier"]) == {"excellent", "good", "passing", "failing"}


def test_every_published_value_matches(published, baseline):
    assert mismatches(published, baseline.set_index("merchant_id")) == []


def test_quarantine_counts_match(generated, baseline):
    files = sorted((generated / "outputs" / "quarantine").glob("month=*/*.parquet"))
    quarantine = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    want = quarantine.groupby(["dataset", "month", "reason"]).size()
    assert quarantine_counts(baseline.attrs["quarantine"]) == {k: int(n) for k, n in want.items()}


def test_cli_prints_counts_and_writes_parquet(generated, baseline, tmp_path, capsys):
    out = tmp_path / "grades.parquet"
    args = ["--landing", str(generated / "landing"), "--month", MONTH, "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"{len(baseline):,} merchants graded" in printed
    assert "wall time:" in printed
    for tier, n in baseline["tier"].value_counts().items():
        assert f"{tier:<10} {n:,}" in printed
    written = pd.read_parquet(out)
    assert written[["merchant_id", "level", "tier"]].equals(
        baseline[["merchant_id", "level", "tier"]]
    )


# ------------------------------------------------------------------------------------------
# The conformance fixture
# ------------------------------------------------------------------------------------------

EXPECTED = json.loads((CONFORMANCE / "expected.json").read_text())


@pytest.fixture(scope="module")
def conformance() -> pd.DataFrame:
    return grade_month_pandas(CONFORMANCE / "landing", MONTH)


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    grades = pd.DataFrame([r for r in EXPECTED["merchant_grades"] if r["month"] == MONTH])
    weights = pd.DataFrame([r for r in EXPECTED["exposure_weights"] if r["month"] == MONTH])
    weights = weights.drop(columns=["month", "tier", "level"])
    return grades.merge(weights, on="merchant_id", validate="1:1").set_index("merchant_id")


def test_conformance_level_and_tier(conformance, expected):
    got = conformance.set_index("merchant_id")
    assert sorted(got.index) == sorted(expected.index)
    got = got.loc[expected.index]
    assert (got["level"] == expected["level"]).all()
    assert (got["tier"] == expected["tier"]).all()


def test_conformance_every_value(conformance, expected):
    assert mismatches(expected, conformance.set_index("merchant_id")) == []


def test_conformance_quarantine_counts(conformance):
    got = quarantine_counts(conformance.attrs["quarantine"])
    assert got == quarantine_counts(EXPECTED["quarantine_counts"])
