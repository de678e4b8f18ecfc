"""The analyst notebooks: stored clean and parametrised, and they run end to end.

Generated data is graded once for the module (a few hundred merchants, three months), then
each notebook is executed with papermill on the venv's ``python3`` kernel against it, as an
analyst would run it, and its key outputs are read back with nbformat. The what-if's claims
are also checked on the grading functions themselves: an unchanged policy moves nobody, and
tightening excellent's bad-order threshold never moves anyone up.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import nbformat
import papermill
import polars as pl
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from assets.runner import grade_months
from pipelines.generate import generate_landing
from pipelines.grading import regrade_month
from pipelines.policy import load_policy
from pipelines.reporting.analysis import (
    export_months,
    migration_matrix,
    move_counts,
    published_months,
    read_export,
    readonly_copy,
    tier_moves,
    what_if_policy,
)
from pipelines.warehouse import connect

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("tier_distribution", "merchant_drilldown", "what_if")
MONTHS = ["2026-01", "2026-02", "2026-03"]
KERNEL = "python3"
SUMMARY = re.compile(
    r"(?P<month>\d{4}-\d{2}): (?P<changed>\d+) of (?P<total>\d+) merchants change tier under "
    r"(?P<version>\S+) \((?P<up>\d+) up, (?P<down>\d+) down\)"
)
TIGHTER = ("0.025", "0.02", "0.015", "0.01", "0.005", "0")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Landing data generated and graded once: the warehouse and its Parquet exports."""
    root = tmp_path_factory.mktemp("notebook-data")
    generate_landing(
        root / "landing", merchants=300, months=MONTHS, orders_per_month=15_000, seed=3
    )
    grade_months(root / "landing", root / "warehouse.duckdb", root / "outputs", MONTHS[-1])
    return {"warehouse": root / "warehouse.duckdb", "outputs": root / "outputs"}


def run_notebook(name: str, out_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    """Execute a stored notebook with papermill from notebooks/ (as Jupyter does); return it."""
    output = out_dir / f"{name}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(output),
        parameters=parameters,
        kernel_name=KERNEL,
        cwd=str(NOTEBOOKS),
        progress_bar=False,
        log_output=False,
    )
    return nbformat.read(output, as_version=4)


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in notebook.cells if c.cell_type == "code"]


def stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(
        o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"
    )


def plotly_figures(notebook: nbformat.NotebookNode) -> int:
    return sum(
        "application/vnd.plotly.v1+json" in o.get("data", {})
        for cell in code_cells(notebook)
        for o in cell.outputs
    )


def assert_ran_clean(notebook: nbformat.NotebookNode) -> None:
    for cell in code_cells(notebook):
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
        assert cell.execution_count is not None, cell.source


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- stored notebooks ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_has_no_outputs_and_a_parameters_cell(name: str):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    for cell in code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None, cell.source
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assert notebook.metadata.kernelspec.name == KERNEL


def test_every_stored_notebook_is_checked():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


def test_python3_kernel_runs_this_interpreter():
    """papermill starts the ``python3`` kernelspec; it must be this venv's python (argv
    'python' is replaced by the launching interpreter), where ``pipelines`` is installed."""
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    assert spec.argv[0] in {"python", "python3", sys.executable}, spec.argv


# --- running them ----------------------------------------------------------------------------


def test_tier_distribution_notebook(graded: dict[str, Path], tmp_path: Path):
    notebook = run_notebook("tier_distribution", tmp_path, OUTPUTS=str(graded["outputs"]))
    assert_ran_clean(notebook)
    assert plotly_figures(notebook) >= 5
    graded_count = read_export(graded["outputs"], "merchant_grades", [MONTHS[-1]]).height
    last = stdout(code_cells(notebook)[-1])
    assert f"{MONTHS[-1]}: {graded_count} merchants graded in" in last
    assert "excellent" in last and "failing" in last


def test_merchant_drilldown_notebook_picks_a_merchant(graded: dict[str, Path], tmp_path: Path):
    notebook = run_notebook("merchant_drilldown", tmp_path, OUTPUTS=str(graded["outputs"]))
    assert_ran_clean(notebook)
    assert plotly_figures(notebook) >= 4
    assert "picked automatically" in stdout(code_cells(notebook)[2])
    last = stdout(code_cells(notebook)[-1])
    match = re.match(r"merchant (\S+): (.+?); eligible in (\d+) of (\d+) month", last)
    assert match, last
    assert match.group(2).count("→") == len(MONTHS) - 1
    assert match.group(4) == str(len(MONTHS))


def test_merchant_drilldown_notebook_for_a_given_merchant_and_months(
    graded: dict[str, Path], tmp_path: Path
):
    merchant = read_export(graded["outputs"], "merchant_grades", [MONTHS[0]])["merchant_id"][0]
    notebook = run_notebook(
        "merchant_drilldown",
        tmp_path,
        OUTPUTS=str(graded["outputs"]),
        MERCHANT_ID=merchant,
        MONTHS=MONTHS[1:],
    )
    assert_ran_clean(notebook)
    last = stdout(code_cells(notebook)[-1])
    assert last.startswith(f"merchant {merchant}: {MONTHS[1]} ")
    assert MONTHS[0] not in last


def what_if_summary(notebook: nbformat.NotebookNode) -> dict[str, str]:
    last = stdout(code_cells(notebook)[-1])
    match = SUMMARY.search(last)
    assert match, last
    return match.groupdict()


def test_what_if_notebook_never_touches_the_live_warehouse(graded: dict[str, Path], tmp_path: Path):
    before = digest(graded["warehouse"])
    notebook = run_notebook("what_if", tmp_path, WAREHOUSE=str(graded["warehouse"]))
    assert_ran_clean(notebook)
    assert plotly_figures(notebook) >= 4
    summary = what_if_summary(notebook)
    graded_count = read_export(graded["outputs"], "merchant_grades", [MONTHS[-1]]).height
    assert summary["month"] == MONTHS[-1]  # empty MONTH: the latest published one
    assert summary["total"] == str(graded_count)
    assert summary["version"] == "2026.1-what-if"
    assert summary["up"] == "0"
    copy_line = stdout(code_cells(notebook)[2])
    copied = Path(copy_line.rsplit(": ", 1)[1].strip())
    assert copied != graded["warehouse"] and not copied.exists()  # copied, then discarded
    assert digest(graded["warehouse"]) == before


def test_what_if_notebook_with_an_unchanged_policy_moves_nobody(
    graded: dict[str, Path], tmp_path: Path
):
    notebook = run_notebook(
        "what_if", tmp_path, WAREHOUSE=str(graded["warehouse"]), MONTH=MONTHS[1], POLICY_CHANGES={}
    )
    assert_ran_clean(notebook)
    summary = what_if_summary(notebook)
    assert (summary["month"], summary["version"]) == (MONTHS[1], "2026.1")
    assert (summary["changed"], summary["up"], summary["down"]) == ("0", "0", "0")
    assert int(summary["total"]) > 0


def test_what_if_notebook_tightened_threshold_moves_nobody_up(
    graded: dict[str, Path], tmp_path: Path
):
    notebook = run_notebook(
        "what_if",
        tmp_path,
        WAREHOUSE=str(graded["warehouse"]),
        POLICY_CHANGES={"tiers.excellent.bad_order_rate_max": "0.01"},
    )
    assert_ran_clean(notebook)
    summary = what_if_summary(notebook)
    assert summary["up"] == "0"
    assert int(summary["down"]) > 0  # the sample data has excellent merchants at 1-3%
    assert summary["changed"] == summary["down"]


# --- the same claims on the grading functions, every month ----------------------------------


@pytest.fixture(scope="module")
def regrade(graded: dict[str, Path]):
    copied = readonly_copy(graded["warehouse"], into=graded["warehouse"].parent / "copy")
    con = connect(copied, read_only=True)
    yield con
    con.close()


def test_exports_and_warehouse_hold_the_graded_months(graded: dict[str, Path], regrade):
    assert published_months(regrade) == MONTHS
    assert export_months(graded["outputs"], "tier_distribution") == MONTHS


@pytest.mark.parametrize("month", MONTHS)
def test_unchanged_policy_regrades_every_table_identically(regrade, month: str):
    baseline = regrade_month(regrade, month, load_policy())
    same = regrade_month(regrade, month, what_if_policy({}))
    for table, frame in baseline.items():
        assert same[table].equals(frame), table
    assert (
        move_counts(tier_moves(baseline["merchant_grades"], same["merchant_grades"]))["changed"]
        == 0
    )


@pytest.mark.parametrize("month", MONTHS)
def test_tightening_excellent_bad_order_rate_only_moves_excellent_to_good(regrade, month: str):
    baseline = regrade_month(regrade, month, load_policy())["merchant_grades"]
    moved_down = 0
    for threshold in TIGHTER:
        policy = what_if_policy({"tiers.excellent.bad_order_rate_max": threshold})
        after = regrade_month(regrade, month, policy)["merchant_grades"]
        moves = tier_moves(baseline, after)
        counts = move_counts(moves)
        assert counts["up"] == 0, threshold
        changed = moves.filter(pl.col("move") != "same")
        # excellent's conditions are stricter than good's, so whoever loses excellent is good
        assert changed.select("baseline_tier", "what_if_tier").unique().rows() in (
            [],
            [("excellent", "good")],
        )
        matrix = migration_matrix(baseline, after)
        assert (
            matrix.filter(pl.col("baseline_tier") == "excellent")["good"].item() == counts["down"]
        )
        moved_down = max(moved_down, counts["down"])
    assert moved_down > 0  # the sweep did tighten something
