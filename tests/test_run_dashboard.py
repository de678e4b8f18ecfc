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
from tests.helpers import CONFORMANCE, cli_command, published_state, run_args, run_killed_at

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


def test_a_page_a_killed_run_left_behind_is_rebuilt_by_the_next_unchanged_run(
    tmp_path: Path,
) -> None:
    """A run killed after publishing February and before its dashboard step left the page
    on February's earlier grades, and the next run, skipping every month as unchanged,
    kept it (a review, 2026-12-06). The page records what it was built from, and a run
    that grades nothing rebuilds it when that is not the warehouse's; a current page is
    left as it is."""
    from pipelines.reporting.dashboard import dashboard_is_current, write_dashboard

    landing = tmp_path / "landing"
    shutil.copytree(LANDING, landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02")
    page = outputs / "dashboard" / "index.html"
    before = _page_data(page)
    assert dashboard_is_current(warehouse, page.parent)

    next((landing / "bad_orders" / "month=2026-02").iterdir()).unlink()  # a restatement
    command = cli_command(*run_args(landing, warehouse, outputs, "2026-02"))
    run_killed_at("dashboard:before_build", "2026-02", command)
    assert _page_data(page) == before, "the kill came before the page was rebuilt"
    assert not dashboard_is_current(warehouse, page.parent)

    results = grade_months(landing, warehouse, outputs, "2026-02")
    assert [r.unchanged_since is not None for r in results] == [True, True]
    fresh = write_dashboard(warehouse, tmp_path / "fresh")
    assert _page_data(page) == _page_data(fresh.path) != before

    built = page.stat().st_mtime_ns
    grade_months(landing, warehouse, outputs, "2026-02")
    assert page.stat().st_mtime_ns == built


def test_a_run_grading_nothing_rebuilds_a_page_behind_a_preview_or_says_why_not(
    tmp_path: Path, capsys
) -> None:
    """The latest preview is on the page (its at-risk section), so a preview made since
    the page was built puts it behind. When the page cannot be rebuilt the run says so
    once, as a run that published nothing (a review of the change, 2026-12-06: the error
    went through the failed-month path, which rebuilt the page a second time and called
    the month published)."""
    from pipelines.reporting.dashboard import dashboard_is_current

    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(LANDING, warehouse, outputs, "2026-02")
    page = outputs / "dashboard" / "index.html"
    assert 'id="section-at-risk"' not in page.read_text(encoding="utf-8")
    preview = ["preview", "--landing", str(LANDING), "--warehouse", str(warehouse)]
    assert main([*preview, "--as-of", "2026-03-15"]) == 0
    assert not dashboard_is_current(warehouse, page.parent)
    grade_months(LANDING, warehouse, outputs, "2026-02")
    assert 'id="section-at-risk"' in page.read_text(encoding="utf-8")
    assert dashboard_is_current(warehouse, page.parent)

    assert main([*preview, "--as-of", "2026-03-16"]) == 0
    shutil.rmtree(page.parent)
    page.parent.write_text("not a folder", encoding="utf-8")
    capsys.readouterr()
    args = ["run", "--landing", str(LANDING), "--warehouse", str(warehouse)]
    assert main([*args, "--outputs", str(outputs), "--through", "2026-02"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"grading: every month was unchanged, but the dashboard in {page.parent} is behind "
        "the warehouse and could not be rebuilt: "
    )
    assert page.parent.read_text(encoding="utf-8") == "not a folder"
