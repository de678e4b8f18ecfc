"""``grading explain`` explains a month only under the policy that graded it.

A review (2026-12-06) explained a "passing" merchant of a warehouse graded under its own
calendar with the default policy: every condition of good was ticked as met, with the
remedies of the wrong tier, and only a note at the end said the thresholds were another
policy's. The policy given is now checked against the month's publication (version and
the digest of its rules) and refused, naming both; the month before is compared only
under the policy that graded it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.cli import main as cli_main
from assets.runner import grade_months
from tests.test_policy_calendar import policy_text, query, write_policy
from tests.test_policy_refusals import calendar, landing  # noqa: F401  (fixture)


@pytest.fixture
def graded(tmp_path: Path, landing: Path) -> tuple[Path, Path, str]:  # noqa: F811
    """The conformance months graded under a calendar whose 2026.2 (from March) lets no
    merchant reach excellent; the warehouse, the calendar and a merchant of February and
    March."""
    folder = calendar(tmp_path / "policies", ("2026.2", "2026-03"))
    warehouse = tmp_path / "w.duckdb"
    grade_months(landing, warehouse, tmp_path / "out", "2026-03", folder, dashboard=False)
    (merchant,) = query(
        warehouse,
        "SELECT min(merchant_id) FROM main.merchant_grades WHERE month = '2026-03' "
        "AND merchant_id IN (SELECT merchant_id FROM main.merchant_grades "
        "WHERE month = '2026-02')",
    )[0]
    return warehouse, folder, merchant


def explain(capsys, warehouse: Path, merchant: str, *args: str) -> tuple[int, str, str]:
    code = cli_main(["explain", "--warehouse", str(warehouse), "--merchant", merchant, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_month_is_not_explained_under_a_policy_that_did_not_grade_it(
    graded, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse, folder, merchant = graded
    monkeypatch.delenv("GRADING_POLICY", raising=False)
    code, out, err = explain(capsys, warehouse, merchant, "--month", "2026-03")
    assert code == 1 and out == ""
    assert "2026-03 was graded under policy 2026.2, not policy 2026.1 (" in err
    assert "Give the policy it was graded under with --policy" in err

    code, out, _ = explain(
        capsys, warehouse, merchant, "--month", "2026-03", "--policy", str(folder)
    )
    assert code == 0 and "graded under policy 2026.2)" in out.splitlines()[0]
    assert "not compared" not in out and "Changed:" in out
    # February, graded under 2026.1 by both calendars, is explained either way.
    assert explain(capsys, warehouse, merchant, "--month", "2026-02")[0] == 0


def test_one_policy_file_explains_its_month_and_does_not_compare_the_month_before(
    graded, capsys
) -> None:
    """February was graded under 2026.1: under 2026.2's file its tier and level are said
    as published, and its conditions are not compared."""
    warehouse, folder, merchant = graded
    code, out, _ = explain(
        capsys,
        warehouse,
        merchant,
        "--month",
        "2026-03",
        "--policy",
        str(folder / "policy-2026.2.toml"),
    )
    assert code == 0
    assert (
        "  - its conditions are not compared: 2026-02 was graded under policy 2026.1, not "
        "policy 2026.2 (" in out
    )
    assert "Previous month 2026-02: " in out and "Changed: " in out


def test_a_policy_of_the_same_version_with_other_numbers_is_refused(
    graded, capsys, tmp_path: Path
) -> None:
    warehouse, _, merchant = graded
    other = write_policy(tmp_path / "other", "p.toml", policy_text("2026.2", "2026-03"))
    code, out, err = explain(
        capsys, warehouse, merchant, "--month", "2026-03", "--policy", str(other)
    )
    assert code == 1 and out == ""
    assert "2026-03 was graded under policy 2026.2 with other rules or numbers than policy " in err


def test_a_restated_month_is_explained_under_its_override_only(
    tmp_path: Path,
    landing: Path,  # noqa: F811
    capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GRADING_POLICY", raising=False)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03", dashboard=False)
    override = write_policy(tmp_path / "o", "p.toml", policy_text("2026.9", None, True))
    grade_months(
        landing,
        warehouse,
        outputs,
        "2026-03",
        first="2026-03",
        policy_override=override,
        dashboard=False,
    )
    (merchant,) = query(warehouse, "SELECT min(merchant_id) FROM main.merchant_grades")[0]
    code, _, err = explain(capsys, warehouse, merchant, "--month", "2026-03")
    assert code == 1 and "2026-03 was graded under policy 2026.9, not policy 2026.1" in err
    code, out, _ = explain(
        capsys, warehouse, merchant, "--month", "2026-03", "--policy", str(override)
    )
    assert code == 0 and "graded under policy 2026.9)" in out.splitlines()[0]
