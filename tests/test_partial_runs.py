"""A month is published only from what its own run built, and only after the month before.

Dagster lets a user run part of a month (the UI's "materialize selected", a partial
backfill) or a later month alone. Both published wrong grades before: the publish step
moved whatever an earlier run had staged (grades of data since corrected, credit points
rolled on a ledger since regraded), and a month whose predecessor was never published
(never run, or failed and rolled back) was graded without its history. The run key then
called such a month unchanged, so no later run regraded it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from assets.definitions import ALL_ASSETS
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE, published_state, step_failures

MONTHS = ("2026-01", "2026-02", "2026-03")


def resources(root: Path, landing: Path, policy_file: str = "") -> dict:
    from assets.resources import GradingSettings, WarehouseResource

    return {
        "warehouse": WarehouseResource(path=str(root / "warehouse.duckdb")),
        "settings": GradingSettings(
            landing_dir=str(landing), outputs_dir=str(root / "outputs"), policy_file=policy_file
        ),
    }


def run_month(root: Path, landing: Path, month: str, selection=None, policy: str = ""):
    return dg.materialize(
        ALL_ASSETS,
        selection=selection,
        partition_key=month,
        resources=resources(root, landing, policy),
        raise_on_error=False,
    )


def grades(root: Path, month: str) -> list[tuple]:
    con = connect(root / "warehouse.duckdb", read_only=True)
    try:
        return fetch_rows(
            con,
            "SELECT merchant_id, credit_points, level, positive_feedback, negative_feedback, "
            "tier FROM main.merchant_grades WHERE month = $month ORDER BY merchant_id",
            {"month": month},
        )
    finally:
        con.close()


def correct_february(landing: Path) -> None:
    """A correction of February's feedback: every 4- and 5-star rating becomes 1 star."""
    path = landing / "feedback" / "month=2026-02" / "part-a.csv"
    header, *rows = path.read_text().splitlines()
    fixed = []
    for row in rows:
        cells = row.split(",")
        if cells[3] in ("4", "5"):
            cells[3] = "1"
        fixed.append(",".join(cells))
    path.write_text("\n".join([header, *fixed]) + "\n")


def test_a_partial_run_never_publishes_results_another_run_left(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    graded = tmp_path / "graded"
    for month in MONTHS:
        assert run_month(graded, landing, month).success
    correct_february(landing)
    assert run_month(graded, landing, "2026-02").success  # February regraded whole
    before = published_state(graded / "warehouse.duckdb", graded / "outputs")
    stale = grades(graded, "2026-03")

    # March's publish step alone, and March without its credit ledger: both would move
    # March's results as the run before the correction left them.
    alone = run_month(graded, landing, "2026-03", selection=["published_month"])
    assert not alone.success
    assert "2026-03 is published only from results its own run built" in step_failures(alone)
    partial = run_month(
        graded,
        landing,
        "2026-03",
        selection=[
            "merchant_grades",
            "merchant_compliance",
            "exposure_weights",
            "tier_distribution",
            "published_month",
        ],
    )
    assert not partial.success
    assert "did not build raw_merchants" in step_failures(partial)
    assert "credit_ledger" in step_failures(partial)
    assert published_state(graded / "warehouse.duckdb", graded / "outputs") == before

    # The whole month is published, and gives what an in-order grading of the corrected
    # landing gives.
    assert run_month(graded, landing, "2026-03").success
    fresh = tmp_path / "fresh"
    for month in MONTHS:
        assert run_month(fresh, landing, month).success
    assert grades(graded, "2026-03") == grades(fresh, "2026-03")
    assert grades(graded, "2026-03") != stale


def test_a_month_is_not_published_before_the_month_before_it(tmp_path):
    # A quarantine limit February's rows that point at January's orders stay under, so
    # only the rule on the month before can stop it.
    lenient = tmp_path / "lenient.toml"
    default = Path("pipelines/policies/policy-2026.1.toml").read_text()
    lenient.write_text(
        default.replace('max_quarantine_ratio = "0.01"', 'max_quarantine_ratio = "0.9"')
    )
    landing = CONFORMANCE / "landing"
    root = tmp_path / "run"

    early = run_month(root, landing, "2026-02", policy=str(lenient))
    assert not early.success
    assert "2026-01 is not published, and 2026-02 builds on it" in step_failures(early)
    assert grades(root, "2026-02") == []

    # January's run fails (an unreadable amount): rolled back, it leaves nothing, and
    # February is still refused.
    broken = tmp_path / "broken"
    shutil.copytree(landing, broken)
    orders = broken / "orders" / "month=2026-01" / "part-a.csv"
    header, first, *rest = orders.read_text().splitlines()
    cells = first.split(",")
    cells[header.split(",").index("amount_usd")] = "not-a-number"
    orders.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
    assert not run_month(root, broken, "2026-01", policy=str(lenient)).success
    refused = run_month(root, broken, "2026-02", policy=str(lenient))
    assert "2026-01 is not published" in step_failures(refused)
    assert grades(root, "2026-02") == []

    # In order, both publish.
    for month in ("2026-01", "2026-02"):
        assert run_month(root, landing, month, policy=str(lenient)).success
    assert grades(root, "2026-02")


def test_a_run_from_a_month_whose_month_before_is_missing_says_so_first(tmp_path):
    """`grading run --from M` with M-1 not published stops before M's job, with the
    reason, not with the data check M's feedback on M-1's orders fails first
    (``unknown_order`` over the quarantine limit, as the conformance February's does)."""
    import pytest

    from assets.runner import RunFailed, grade_months

    landing, warehouse, outputs = CONFORMANCE / "landing", tmp_path / "w.duckdb", tmp_path / "o"
    with pytest.raises(RunFailed, match=r"2026-01 is not published, and 2026-02 builds on it"):
        grade_months(landing, warehouse, outputs, "2026-02", first="2026-02")
    grade_months(landing, warehouse, outputs, "2026-01")
    before = published_state(warehouse, outputs)
    with pytest.raises(RunFailed, match=r"2026-02 is not published, and 2026-03 builds on it"):
        grade_months(landing, warehouse, outputs, "2026-03", first="2026-03")
    assert published_state(warehouse, outputs) == before
    con = connect(warehouse, read_only=True)
    try:
        ingested = fetch_rows(con, "SELECT DISTINCT month FROM raw.ingest_log ORDER BY 1")
    finally:
        con.close()
    assert ingested == [("2026-01",)]  # nothing of March was read


def test_a_first_run_from_a_later_month_stops_before_its_job_on_a_new_warehouse(tmp_path):
    """No warehouse yet and `grading run --from 2026-02`: the landing's first month,
    2026-01, comes before it, so the run stops before February's job with the reason and
    the way out (grade January first), and creates no warehouse: nothing of February is
    read into one."""
    import pytest

    from assets.runner import RunFailed, grade_months

    landing, warehouse, outputs = CONFORMANCE / "landing", tmp_path / "w.duckdb", tmp_path / "o"
    with pytest.raises(
        RunFailed,
        match=r"2026-01 is not published, and 2026-02 builds on it .*: grade 2026-01 first "
        r"\(--from 2026-01, or without --from\)",
    ) as failed:
        grade_months(landing, warehouse, outputs, "2026-02", first="2026-02")
    assert failed.value.month == "2026-02"
    assert not failed.value.published
    assert not warehouse.exists()
