"""Smoke test of the Dagster code location, loaded the way ``dagster dev`` loads it.

``dagster dev`` reads the module named in pyproject's ``[tool.dagster]`` table and finds the
``Definitions`` in it; these tests do the same, so a broken import, a renamed module or a
dropped asset, job or schedule fails here rather than when someone opens the UI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from dagster._core.definitions.reconstruct import repository_def_from_target_def
from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module

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
