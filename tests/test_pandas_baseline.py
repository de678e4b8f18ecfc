"""The pandas baseline of the benchmark grades exactly like the pipeline.

Generated data is graded once by ``grading run`` (the real pipeline) and once by
``bench.pandas_baseline``; the published Parquet exports of the last month must agree
merchant by merchant. The conformance fixture's expected.json is checked the same way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.agreement import compare, mismatches, published_grades, quarantine_counts
from bench.pandas_baseline import grade_month_pandas, main

ROOT = Path(__file__).resolve().parents[1]

CONFORMANCE = ROOT / "tests" / "conformance"
MONTH = "2026-03"


def grading(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "assets.cli", *args], check=True, capture_output=True)


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
    return published_grades(generated / "outputs", MONTH)


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


def test_the_benchmark_s_comparison_agrees_and_sees_each_kind_of_difference(generated, baseline):
    """``bench.agreement.compare``, which the benchmark runs after timing the baseline,
    agrees on the same grades and fails on a value, a merchant or a quarantine count."""
    outputs, records = generated / "outputs", baseline.attrs["quarantine"]
    same = compare(outputs, MONTH, baseline, records)
    assert same["agrees"], same
    assert same["merchants"] == len(baseline) and same["values_differing"] == 0

    first = baseline["merchant_id"].iloc[0]
    one_level_off = baseline.copy()
    one_level_off.loc[one_level_off.index[0], "level"] += 1
    differs = compare(outputs, MONTH, one_level_off, records)
    assert not differs["agrees"] and differs["values_differing"] == 1
    assert differs["first_differences"][0][:2] == [first, "level"]

    one_merchant_less = compare(outputs, MONTH, baseline.iloc[1:], records)
    assert not one_merchant_less["agrees"]
    assert one_merchant_less["only_published"] == [first]

    one_row_more = [{**records[0], "rows": records[0]["rows"] + 1}, *records[1:]]
    counted_otherwise = compare(outputs, MONTH, baseline, one_row_more)
    assert not counted_otherwise["agrees"]
    assert counted_otherwise["quarantine_counts_differing"] == [
        [records[0]["dataset"], records[0]["month"], records[0]["reason"],
         records[0]["rows"], records[0]["rows"] + 1]
    ]  # fmt: skip


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
