"""The pipeline against an independent reading of the contract, on boundary-heavy data.

``tests/spec_oracle.py`` was written from the spec alone, without the pipeline's code;
``tests/boundary_landing.py`` writes valid landing folders that sit on the contract's
boundaries. Each seed is graded by ``grading run`` (the real CLI, Dagster and DuckDB) and
by the oracle, and every value of the four published tables must agree (the twenty-first
review ran 125 seeds; these are a sample of its starting months and lengths).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest

from assets.cli import main as grading
from tests.boundary_landing import write_landing
from tests.helpers import run_args
from tests.spec_oracle import grade_landing

CONFORMANCE = Path(__file__).resolve().parent / "conformance"
KEYS = {
    "merchant_grades": ["month", "merchant_id"],
    "exposure_weights": ["month", "merchant_id"],
    "merchant_compliance": ["month", "merchant_id", "violation"],
    "tier_distribution": ["month", "main_category", "tier"],
    "quarantine_counts": ["dataset", "month", "reason"],
}
NOT_COMPARED = {"reasons", "policy_version"}  # the reasons' wording is the project's


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


def published_tables(warehouse: Path) -> dict[str, list[dict]]:
    """The four tables and the quarantine counts as the warehouse holds them."""
    tables = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in list(KEYS)[:4]:
            cursor = con.execute(
                f"SELECT * EXCLUDE (reasons, policy_version) FROM main.{table}"
                if table == "merchant_grades"
                else f"SELECT * EXCLUDE (policy_version) FROM main.{table}"
            )
            columns = [d[0] for d in cursor.description]
            tables[table] = [
                {
                    c: float(v) if type(v).__name__ == "Decimal" else v
                    for c, v in zip(columns, row, strict=True)
                }
                for row in cursor.fetchall()
            ]
        counts = con.execute(
            "SELECT dataset, month, reason, count(*) FROM main.quarantine GROUP BY ALL"
        ).fetchall()
    tables["quarantine_counts"] = [
        {"dataset": d, "month": m, "reason": r, "rows": n} for d, m, r, n in counts
    ]
    return tables


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
