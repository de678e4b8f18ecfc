"""`grading run` builds the dashboard once, with the run's last month, or not at all when
told: it shows every published month, so rebuilding it for each month graded was waste."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.cli import main
from assets.definitions import build_definitions
from assets.runner import DASHBOARD, RunFailed, grade_months, job_without
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


def _page_data(page: Path) -> str:
    """The dashboard page without the time it was generated."""
    return re.sub(r"generated: <b>[^<]*</b>", "", page.read_text(encoding="utf-8"))


def test_a_run_that_fails_after_publishing_months_rebuilds_the_dashboard(
    tmp_path: Path,
) -> None:
    """The dashboard is built with the run's last month: when that month failed, the page
    went on showing what the run had just restated, or was not written at all on a new
    warehouse (found by an audit). It now shows every month the run published."""
    from pipelines.reporting.dashboard import write_dashboard

    landing = tmp_path / "landing"
    shutil.copytree(LANDING, landing)
    broken = landing / "merchants" / "month=2026-03" / "zz-broken.csv"
    broken.write_text("merchant_id\nM1\n", encoding="utf-8")  # lacks required columns
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"

    with pytest.raises(RunFailed, match=r"^2026-03: ") as failed:
        grade_months(landing, warehouse, outputs, "2026-03")
    assert not failed.value.published
    page = outputs / "dashboard" / "index.html"
    assert "months: <b>2026-01..2026-02</b>" in page.read_text(encoding="utf-8")
    before = _page_data(page)

    # February restated (a bad-orders file removed), then March fails again.
    next((landing / "bad_orders" / "month=2026-02").iterdir()).unlink()
    with pytest.raises(RunFailed, match=r"^2026-03: "):
        grade_months(landing, warehouse, outputs, "2026-03")
    fresh = write_dashboard(warehouse, tmp_path / "fresh")
    assert _page_data(page) == _page_data(fresh.path) != before
