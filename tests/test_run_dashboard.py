"""`grading run` builds the dashboard once, with the run's last month, or not at all when
told: it shows every published month, so rebuilding it for each month graded was waste."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.cli import main
from assets.definitions import build_definitions
from assets.runner import DASHBOARD, grade_months, job_without
from tests.helpers import CONFORMANCE, published_state

LANDING = CONFORMANCE / "landing"


def test_a_run_of_three_months_builds_the_dashboard_once_with_the_last(tmp_path: Path) -> None:
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    results = grade_months(LANDING, warehouse, outputs, "2026-03")

    steps = {r.month: list(r.step_seconds) for r in results}
    assert "dashboard" not in steps["2026-01"] and "dashboard" not in steps["2026-02"]
    assert steps["2026-03"][-1] == "dashboard"
    # every other step ran in every month, the data checks' assets included
    assert steps["2026-01"] == steps["2026-03"][:-1] == steps["2026-02"]
    assert results[-1].value("dashboard", "months_shown") == "2026-01..2026-03"
    assert (outputs / "dashboard" / "index.html").is_file()


def test_no_dashboard_publishes_the_same_months_without_one(tmp_path: Path) -> None:
    with_board = tmp_path / "a"
    grade_months(LANDING, with_board / "w.duckdb", with_board / "out", "2026-02")
    without = tmp_path / "b"
    code = main(
        [
            "run", "--landing", str(LANDING), "--warehouse", str(without / "w.duckdb"),
            "--create", "--through", "2026-02", "--no-dashboard",
        ]
    )  # fmt: skip
    assert code == 0
    assert not (without / "outputs" / "dashboard").exists()
    assert published_state(without / "w.duckdb", without / "outputs") == published_state(
        with_board / "w.duckdb", with_board / "out"
    )


def test_the_job_without_the_dashboard_keeps_every_data_check(tmp_path: Path) -> None:
    defs = build_definitions(str(LANDING), str(tmp_path / "w.duckdb"), str(tmp_path / "out"))
    job = defs.resolve_job_def("grade_month")
    subset = job_without(job, DASHBOARD)
    result = subset.execute_in_process(
        partition_key="2026-01", instance=dg.DagsterInstance.ephemeral()
    )

    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == set(job.asset_layer.asset_graph.executable_asset_keys) - {DASHBOARD}
    checked = {e.asset_key for e in result.get_asset_check_evaluations() if e.passed}
    assert checked == {key.asset_key for key in job.asset_layer.asset_graph.asset_check_keys}
    assert len(checked) == 9
