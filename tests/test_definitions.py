"""Smoke test of the Dagster code location, loaded the way ``dagster dev`` loads it.

``dagster dev`` reads the module named in pyproject's ``[tool.dagster]`` table and finds the
``Definitions`` in it; these tests do the same, so a broken import, a renamed module or a
dropped asset, job or schedule fails here rather than when someone opens the UI.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import repository_def_from_target_def
from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module

from assets.resources import GradingSettings, WarehouseResource

REPO_ROOT = Path(__file__).resolve().parent.parent
DAGSTER_CLI = Path(sys.executable).parent / "dagster"

EXPECTED_ASSET_KEYS = {
    "raw_merchants",
    "raw_orders",
    "raw_feedback",
    "raw_bad_orders",
    "raw_service_metrics",
    "credit_ledger",
    "merchant_grades",
    "merchant_compliance",
    "exposure_weights",
    "tier_distribution",
    "published_month",
    "dashboard",
    "at_risk_merchants",
}


def code_location_module() -> str:
    """The module ``dagster dev`` loads, as configured in pyproject.toml."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["tool"]["dagster"]["module_name"]


def test_code_location_is_the_definitions_module() -> None:
    assert code_location_module() == "assets.definitions"


def test_dagster_cli_validates_the_code_location(tmp_path: Path) -> None:
    """A fresh process, as ``dagster dev`` starts one: any import error fails validation."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(DAGSTER_CLI), "definitions", "validate", "-m", code_location_module()],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Validation successful" in output, output


def test_code_location_has_the_job_schedule_and_assets() -> None:
    """Discovered through dagster's own module loader, not by importing ``defs`` by name."""
    (target,) = loadable_targets_from_python_module(code_location_module(), str(REPO_ROOT))
    repository = repository_def_from_target_def(target.target_definition)
    assert repository is not None

    assert repository.has_job("grade_month")
    schedules = {s.name: s for s in repository.schedule_defs}
    assert set(schedules) == {"grade_month_schedule", "publication_deadline_schedule"}
    assert schedules["grade_month_schedule"].job_name == "grade_month"
    asset_keys = {k.to_user_string() for k in repository.asset_graph.get_all_asset_keys()}
    assert asset_keys == EXPECTED_ASSET_KEYS


def _reloaded_code_location() -> dg.Definitions:
    """``assets.definitions`` imported afresh under the current environment."""
    import assets.definitions

    return importlib.reload(assets.definitions).defs


def test_settings_reach_the_resources_as_env_vars_resolved_when_a_run_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A set variable is a Dagster EnvVar in the resource (the UI shows where it comes
    from), and a run reads its value when it starts, not the value at import."""
    monkeypatch.setenv("GRADING_LANDING", str(tmp_path / "landing-at-load"))
    monkeypatch.setenv("GRADING_LAKE", str(tmp_path / "lake"))
    monkeypatch.delenv("GRADING_OUTPUTS", raising=False)
    try:
        resources = _reloaded_code_location().resources
        settings = resources["settings"]
        assert isinstance(settings.landing_dir, dg.EnvVar)
        assert settings.landing_dir.env_var_name == "GRADING_LANDING"
        assert isinstance(settings.lake_dir, dg.EnvVar)
        # An unset variable takes its default rather than failing every launch.
        assert settings.outputs_dir == "data/outputs"
        assert not isinstance(settings.outputs_dir, dg.EnvVar)

        @dg.asset
        def where_the_run_reads(settings: GradingSettings) -> str:
            return f"{settings.landing_dir}|{settings.lake(str(tmp_path / 'w.duckdb'))}"

        monkeypatch.setenv("GRADING_LANDING", str(tmp_path / "landing-at-run"))
        result = dg.materialize([where_the_run_reads], resources={"settings": settings})
        assert result.output_for_node("where_the_run_reads") == (
            f"{tmp_path / 'landing-at-run'}|{tmp_path / 'lake'}"
        )
    finally:
        monkeypatch.undo()
        _reloaded_code_location()


def test_outputs_default_to_beside_the_warehouse_as_the_cli_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only GRADING_WAREHOUSE set, the code location exported to data/outputs under
    its working folder while ``grading run`` exported beside the warehouse: one warehouse,
    two export folders (found by an audit)."""
    from assets.cli import build_parser

    warehouse = tmp_path / "prod" / "warehouse.duckdb"
    monkeypatch.setenv("GRADING_WAREHOUSE", str(warehouse))
    monkeypatch.delenv("GRADING_OUTPUTS", raising=False)
    try:
        settings = _reloaded_code_location().resources["settings"]
        assert Path(settings.outputs_dir) == warehouse.parent / "outputs"
        args = build_parser().parse_args(["run", "--through", "2026-01", "--landing", "l"])
        assert args.outputs is None  # grading run: outputs beside the warehouse
    finally:
        monkeypatch.undo()
        _reloaded_code_location()


def test_a_run_launched_by_the_code_location_waits_for_a_cli_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule's run of a month is not retried: at its tick a CLI run or a preview
    holding the warehouse failed it outright (found by an audit). It now waits for the
    lock, as ``grading run --wait`` does."""
    import subprocess

    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("GRADING_WAREHOUSE", str(warehouse))
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            # The lock goes with the process (os._exit), so the run cannot take it while
            # the holder is still alive.
            "import os, sys, time; from pipelines.locking import exclusive_run\n"
            "with exclusive_run(sys.argv[1]):\n"
            "    print('held', flush=True); time.sleep(3); os._exit(0)",
            str(warehouse),
        ],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        resource = _reloaded_code_location().resources["warehouse"]

        @dg.asset
        def waited(warehouse: WarehouseResource) -> None:
            assert holder.poll() is not None, "ran while the other run held the warehouse"

        assert dg.materialize([waited], resources={"warehouse": resource}).success
    finally:
        holder.kill()
        holder.wait()
        monkeypatch.undo()
        _reloaded_code_location()


def test_the_engine_shapes_the_graph_when_the_location_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GRADING_ENGINE picks the assets' kinds, so it is read at load, and checked there:
    a Spark engine without a master fails loading with the variable's name."""
    monkeypatch.setenv("GRADING_ENGINE", "spark")
    monkeypatch.setenv("GRADING_SPARK_MASTER", "spark://127.0.0.1:7077")
    try:
        defs = _reloaded_code_location()
        kinds = defs.resolve_asset_graph().get(dg.AssetKey("raw_orders")).kinds
        assert "spark" in kinds
        monkeypatch.delenv("GRADING_SPARK_MASTER")
        with pytest.raises(ValueError, match="GRADING_SPARK_MASTER"):
            _reloaded_code_location()
    finally:
        monkeypatch.undo()
        _reloaded_code_location()
