"""The built wheel works on its own: SQL, expectation suites and policies ship inside it.

A checkout or an editable install finds ``sql/`` and ``expectations/`` at the repository's
top level; an installed wheel has no repository around it. The end-to-end test builds the
wheel, installs it into a fresh virtual environment outside the checkout and grades the
conformance fixture there with the ``grading`` entry point.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pipelines.package_data import shipped_dir
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE

REPO = Path(__file__).resolve().parents[1]
CONFORMANCE_MONTHS = [("2026-01",), ("2026-02",), ("2026-03",)]
# Printed by the fresh venv's interpreter: where it imports the package and its files from.
WHERE_IMPORTED = """
import json, pipelines, pipelines.sql_files as s
import pipelines.reporting.analysis as a, pipelines.checks.validation as v
files = lambda root: sorted(p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file())
print(json.dumps({
    "package": pipelines.__file__,
    "sql": str(s.SQL_DIR),
    "expectations": str(v.EXPECTATIONS_DIR),
    "sql_files": files(s.SQL_DIR),
    "suite_files": files(v.EXPECTATIONS_DIR),
    "notebook_outputs": str(a.resolve_path("data/outputs")),
}))
"""


def repo_files(name: str) -> list[str]:
    root = REPO / name
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --- the lookup -------------------------------------------------------------------------


def test_checkout_uses_the_top_level_folders():
    assert shipped_dir("sql") == REPO / "sql"
    assert shipped_dir("expectations") == REPO / "expectations"


def test_packaged_copy_wins_over_a_folder_beside_the_package(tmp_path):
    """In site-packages a top-level ``sql`` folder may belong to another distribution."""
    package = tmp_path / "site-packages" / "pipelines"
    (package / "_sql").mkdir(parents=True)
    (package.parent / "sql").mkdir()
    assert shipped_dir("sql", package) == package / "_sql"


def test_missing_folder_names_both_places(tmp_path):
    package = tmp_path / "pipelines"
    package.mkdir()
    with pytest.raises(FileNotFoundError) as error:
        shipped_dir("expectations", package)
    assert str(package / "_expectations") in str(error.value)
    assert str(tmp_path / "expectations") in str(error.value)


# --- the wheel, installed outside the checkout ------------------------------------------


def build_wheel(out: Path) -> Path:
    """Build the project's wheel into ``out``.

    With the backend in this environment (the dev extra pins it) no network is needed;
    otherwise pip fetches the pinned backend from the package index.
    """
    offline = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), *offline]
    subprocess.run([*command, str(REPO)], check=True, cwd=out)
    (wheel,) = out.glob("merchant_grading-*.whl")
    return wheel


def fresh_venv(root: Path) -> Path:
    """A venv without pip that sees this environment's dependencies, but not the project.

    Its .pth file is a plain path line: Python adds the directory to sys.path without
    running the .pth files in it, so the project's editable finder (or path entry) there
    stays inactive and only the installed wheel can provide ``pipelines``.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dependencies = sysconfig.get_paths()["purelib"]
    (Path(site) / "project_dependencies.pth").write_text(dependencies + "\n")
    return python


def clean_env() -> dict[str, str]:
    """This environment without PYTHONPATH, which would put the checkout first."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DAGSTER_HOME")}
    return env | {"PYTHONNOUSERSITE": "1"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The fresh venv's python, with the wheel installed (never uninstalling anything)."""
    root = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(root)
    python = fresh_venv(root / "venv")
    install = ["-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed"]
    subprocess.run([str(python), *install, str(wheel)], check=True, cwd=root, env=clean_env())
    return python


@pytest.mark.slow
def test_wheel_imports_its_own_copy_of_sql_and_suites(installed, tmp_path):
    result = subprocess.run(
        [str(installed), "-c", WHERE_IMPORTED],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    where = json.loads(result.stdout)
    venv = installed.parent.parent
    package = Path(where["package"]).parent
    assert package.is_relative_to(venv) and not package.is_relative_to(REPO), where["package"]
    assert Path(where["sql"]) == package / "_sql"
    assert Path(where["expectations"]) == package / "_expectations"
    assert where["sql_files"] == repo_files("sql")
    assert where["suite_files"] == repo_files("expectations")
    # No repository around the package: the notebooks' relative paths start at the cwd.
    assert Path(where["notebook_outputs"]) == tmp_path / "data" / "outputs"


@pytest.mark.slow
def test_installed_cli_grades_the_conformance_fixture(installed, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    command = [
        str(installed.parent / "grading"),
        "run",
        "--landing",
        str(CONFORMANCE / "landing"),
        "--warehouse",
        str(warehouse),
        "--through",
        "2026-03",
    ]
    result = subprocess.run(command, cwd=tmp_path, env=clean_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    con = connect(warehouse, read_only=True)
    try:
        months = fetch_rows(con, "SELECT DISTINCT month FROM main.merchant_grades ORDER BY 1")
    finally:
        con.close()
    assert months == CONFORMANCE_MONTHS
    exported = sorted(p.name for p in (tmp_path / "outputs" / "merchant_grades").iterdir())
    assert exported == [f"month={m}" for (m,) in CONFORMANCE_MONTHS]
