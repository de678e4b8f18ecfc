"""The analyst notebooks: stored clean and parametrised, and they run end to end.

Generated data is graded once for the module (a few hundred merchants, three months), then
each notebook is executed with papermill on the venv's ``python3`` kernel against it, as an
analyst would run it, and its key outputs are read back with nbformat. The what-if's claims
are also checked on the grading functions themselves: an unchanged policy moves nobody, and
tightening excellent's bad-order threshold never moves anyone up.

Each notebook run with its default parameters is also exported with ``jupyter nbconvert
--to html``, as an analyst would share it, and that page is opened in headless chromium
with the network blocked: every plot must draw from the page alone.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
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
    COPY_PREFIX,
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
PLOTLY_MIME = "application/vnd.plotly.v1+json"
# What a polars frame left as a cell's result shows: its dtype row and its shape.
POLARS_DUMP = re.compile(r"<td>(str|f64|i64|i32|bool|list\[str\])</td>|shape: \(\d+, \d+\)")
# nbconvert's own page template asks for these two scripts; the plots need neither.
TEMPLATE_REQUESTS = ("/require.js/", "/mathjax/")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Landing data generated and graded once: the warehouse and its Parquet exports."""
    root = tmp_path_factory.mktemp("notebook-data")
    generate_landing(
        root / "landing", merchants=300, months=MONTHS, orders_per_month=15_000, seed=3
    )
    grade_months(root / "landing", root / "warehouse.duckdb", root / "outputs", MONTHS[-1])
    return {"warehouse": root / "warehouse.duckdb", "outputs": root / "outputs"}


@pytest.fixture(scope="module")
def executed(graded: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each notebook run once with its default parameters and exported to HTML with
    ``jupyter nbconvert --to html``; the warehouse's digest from before the runs."""
    out_dir = tmp_path_factory.mktemp("executed")
    before = digest(graded["warehouse"])
    parameters = {
        "tier_distribution": {"OUTPUTS": str(graded["outputs"])},
        "merchant_drilldown": {"OUTPUTS": str(graded["outputs"])},
        "what_if": {"WAREHOUSE": str(graded["warehouse"])},
    }
    notebooks = {name: run_notebook(name, out_dir, **parameters[name]) for name in NAMES}
    jupyter = Path(sys.executable).parent / "jupyter"
    subprocess.run(
        [str(jupyter), "nbconvert", "--to", "html", *(str(out_dir / f"{n}.ipynb") for n in NAMES)],
        check=True,
        capture_output=True,
    )
    return {
        "notebooks": notebooks,
        "html": {name: out_dir / f"{name}.html" for name in NAMES},
        "warehouse_digest_before": before,
    }


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
        PLOTLY_MIME in o.get("data", {}) for cell in code_cells(notebook) for o in cell.outputs
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


def test_tier_distribution_notebook(graded: dict[str, Path], executed: dict):
    notebook = executed["notebooks"]["tier_distribution"]
    assert_ran_clean(notebook)
    assert plotly_figures(notebook) >= 5
    graded_count = read_export(graded["outputs"], "merchant_grades", [MONTHS[-1]]).height
    last = stdout(code_cells(notebook)[-1])
    assert f"{MONTHS[-1]}: {graded_count} merchants graded in" in last
    assert "excellent" in last and "failing" in last


def test_merchant_drilldown_notebook_picks_a_merchant(executed: dict):
    notebook = executed["notebooks"]["merchant_drilldown"]
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


def copy_made(notebook: nbformat.NotebookNode) -> Path:
    """The private copy the what-if says it re-grades on."""
    line = next(
        line
        for cell in code_cells(notebook)
        for line in stdout(cell).splitlines()
        if "on a read-only copy of" in line
    )
    return Path(line.rsplit(": ", 1)[1].strip())


def test_what_if_notebook_never_touches_the_live_warehouse(graded: dict[str, Path], executed):
    notebook = executed["notebooks"]["what_if"]
    assert_ran_clean(notebook)
    assert plotly_figures(notebook) >= 4
    summary = what_if_summary(notebook)
    graded_count = read_export(graded["outputs"], "merchant_grades", [MONTHS[-1]]).height
    assert summary["month"] == MONTHS[-1]  # empty MONTH: the latest published one
    assert summary["total"] == str(graded_count)
    assert summary["version"] == "2026.1-what-if"
    assert summary["up"] == "0"
    copied = copy_made(notebook)
    assert copied != graded["warehouse"] and not copied.exists()  # copied, then discarded
    assert digest(graded["warehouse"]) == executed["warehouse_digest_before"]


def test_what_if_default_change_moves_a_visible_number_of_merchants(executed: dict):
    """The default POLICY_CHANGES must show what a what-if does: merchants that move."""
    summary = what_if_summary(executed["notebooks"]["what_if"])
    assert int(summary["changed"]) >= 10 and summary["changed"] == summary["down"]


def test_what_if_says_the_exposure_shift_in_words(executed: dict):
    last = stdout(code_cells(executed["notebooks"]["what_if"])[-1])
    assert "categories' worth" not in last
    assert re.search(
        r"Exposure: \d+\.\d\d% of all exposure \(each category counted equally\) "
        r"moves from one tier to another; \w+ (loses|gains) the most, "
        r"\d+\.\d\d% of all exposure\.",
        last,
    ), last


# --- the what-if's private copy never outlives the notebook ---------------------------------


@pytest.fixture
def kernel_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TMPDIR of the test's own for the kernel, where the what-if makes its copy."""
    folder = tmp_path / "kernel-tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def run_failing(name: str, out_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    with pytest.raises(papermill.PapermillExecutionError):
        run_notebook(name, out_dir, **parameters)
    return nbformat.read(out_dir / f"{name}.ipynb", as_version=4)


def test_what_if_copy_is_removed_when_a_later_cell_fails(
    graded: dict[str, Path], tmp_path: Path, kernel_tmp: Path
):
    """A month that is well formed but not published fails after the copy is made."""
    notebook = run_failing("what_if", tmp_path, WAREHOUSE=str(graded["warehouse"]), MONTH="2030-01")
    assert list(kernel_tmp.glob(f"{COPY_PREFIX}*")) == []
    failed = [c for c in code_cells(notebook) if any(o.output_type == "error" for o in c.outputs)]
    assert "private_copy(" in failed[0].source
    assert "MONTH: 2030-01 is not published" in "".join(
        o.get("evalue", "") for o in failed[0].outputs
    )
    assert code_cells(notebook)[-1].execution_count is None  # the cleanup cell never ran


@pytest.mark.parametrize(
    "parameters",
    [
        {"MONTH": "2026-3"},
        {"POLICY_CHANGES": {"tiers.good.on_time_ship_rate_mn": "0.95"}},
        {"POLICY_CHANGES": {"tiers.good.on_time_ship_rate_min": "1.5"}},
    ],
    ids=["month", "unknown-key", "broken-policy"],
)
def test_what_if_refuses_bad_parameters_before_copying(
    graded: dict[str, Path], tmp_path: Path, kernel_tmp: Path, parameters: dict
):
    notebook = run_failing("what_if", tmp_path, WAREHOUSE=str(graded["warehouse"]), **parameters)
    assert list(kernel_tmp.iterdir()) == []  # no copy made, none left behind
    cells = code_cells(notebook)
    check = next(c for c in cells if "check_parameters(" in c.source)
    errors = [o for o in check.outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "WhatIfParameterError", check.outputs
    assert errors[0].evalue.startswith(next(iter(parameters)))  # names the parameter
    copying = next(c for c in cells if "private_copy(" in c.source)
    assert copying.execution_count is None  # nothing was copied


def test_what_if_refuses_a_missing_warehouse_before_copying(tmp_path: Path, kernel_tmp: Path):
    notebook = run_failing("what_if", tmp_path, WAREHOUSE=str(tmp_path / "typo.duckdb"))
    errors = [o for c in code_cells(notebook) for o in c.outputs if o.output_type == "error"]
    assert errors[0].evalue.startswith("WAREHOUSE: no warehouse file at")
    assert list(kernel_tmp.iterdir()) == []


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
    assert "would not publish" not in stdout(code_cells(notebook)[-1])


def what_if_run(graded: dict[str, Path], out_dir: Path, changes: dict) -> nbformat.NotebookNode:
    """The what-if notebook run on the latest month with ``changes``, checked to run clean."""
    notebook = run_notebook(
        "what_if", out_dir, WAREHOUSE=str(graded["warehouse"]), POLICY_CHANGES=changes
    )
    assert_ran_clean(notebook)
    return notebook


def test_what_if_says_a_month_over_its_quarantine_limit_would_not_be_published(
    graded: dict[str, Path], tmp_path: Path
):
    """A limit of 0 stops every month with a quarantined row (the generated months have
    some); the grades still compare, and the notebook says first that no run would
    publish them."""
    notebook = what_if_run(graded, tmp_path, {"ingest.max_quarantine_ratio": "0"})
    printed = "".join(stdout(cell) for cell in code_cells(notebook))
    assert f"WARNING: a run under 2026.1-what-if would NOT publish {MONTHS[-1]}:" in printed
    assert re.search(rf"\n  \w+ {MONTHS[-1]}: \d+ of [\d,]+ rows quarantined \(", printed)
    assert "would not publish 2026-03 (quarantine limit)." in stdout(code_cells(notebook)[-1])


def test_what_if_notebook_tightened_threshold_moves_nobody_up(
    graded: dict[str, Path], tmp_path: Path
):
    notebook = what_if_run(graded, tmp_path, {"tiers.excellent.bad_order_rate_max": "0.01"})
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


# --- what an analyst shares: the HTML export ------------------------------------------------


def html_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        o["data"]["text/html"]
        for cell in code_cells(notebook)
        for o in cell.outputs
        if "text/html" in o.get("data", {})
    ]


@pytest.mark.parametrize("name", NAMES)
def test_exported_html_holds_every_plot(executed: dict, name: str):
    figures = plotly_figures(executed["notebooks"][name])
    html = executed["html"][name].read_text(encoding="utf-8")
    assert figures >= 4
    assert html.count('class="plotly-graph-div"') == figures
    assert html.count("Plotly.newPlot(") == figures  # each with its data and layout
    assert html.count("* plotly.js v") == 1  # plotly.js embedded once, from no CDN
    scripts = re.findall(r'<script[^>]* src="(http[^"]*)"', html)  # loaded from the network
    assert [u for u in scripts if not any(t in u for t in TEMPLATE_REQUESTS)] == []


@pytest.mark.parametrize("name", NAMES)
def test_tables_show_readable_headers_and_percentages_not_polars_dumps(executed: dict, name):
    notebook = executed["notebooks"][name]
    tables = [h for h in html_outputs(notebook) if "<table" in h]
    assert tables, name
    assert [POLARS_DUMP.search(t).group(0) for t in tables if POLARS_DUMP.search(t)] == []
    assert all('class="nb-table"' in t for t in tables)
    assert any(re.search(r'<td class="num">\d+\.\d+%</td>', t) for t in tables)
    raw_names = ("bad_order_rate", "main_category", "exposure_share")
    headers = [h for t in tables for h in re.findall(r"<th[^>]*>([^<]*)</th>", t)]
    assert not [h for h in headers if h in raw_names], headers


def test_facet_titles_are_short_and_spaced(executed: dict):
    """The per-category chart: one facet per month, titled by the month alone, each row of
    facets with room for the slanted category names above the next row's titles."""
    notebook = executed["notebooks"]["tier_distribution"]
    faceted = [
        o["data"][PLOTLY_MIME]["layout"]
        for cell in code_cells(notebook)
        for o in cell.outputs
        if PLOTLY_MIME in o.get("data", {}) and "xaxis2" in o["data"][PLOTLY_MIME]["layout"]
    ]
    assert len(faceted) == 1
    layout = faceted[0]
    assert sorted(a["text"] for a in layout["annotations"]) == MONTHS
    assert layout["height"] >= 500


def open_offline(browser, path: Path) -> tuple[object, dict[str, list[str]]]:
    """The exported page with every non-file request aborted; its errors and requests."""
    seen: dict[str, list[str]] = {"errors": [], "console": [], "requests": []}
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)

    def route(request_route) -> None:
        if request_route.request.url.startswith("file:"):
            request_route.continue_()
        else:
            seen["requests"].append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, seen


@pytest.mark.browser
@pytest.mark.parametrize("name", NAMES)
def test_exported_html_draws_every_plot_offline(browser, executed: dict, name: str):
    page, seen = open_offline(browser, executed["html"][name])
    figures = plotly_figures(executed["notebooks"][name])
    page.wait_for_function(
        "n => document.querySelectorAll('.plotly-graph-div .main-svg').length >= n", arg=figures
    )
    drawn = page.eval_on_selector_all(
        ".plotly-graph-div", "divs => divs.map(d => d.querySelectorAll('.main-svg').length > 0)"
    )
    assert drawn == [True] * figures
    assert seen["errors"] == []
    # the only network the page asks for is nbconvert's template's own, which no plot needs
    assert [u for u in seen["requests"] if not any(t in u for t in TEMPLATE_REQUESTS)] == []
    assert [m for m in seen["console"] if "Failed to load resource" not in m] == []
    assert len(seen["console"]) == len(seen["requests"])
    page.close()


@pytest.mark.browser
def test_exported_facet_titles_do_not_overlap(browser, executed: dict):
    page, _ = open_offline(browser, executed["html"]["tier_distribution"])
    page.wait_for_selector(".plotly-graph-div .main-svg")
    boxes = page.evaluate(
        """() => {
          const box = e => { const r = e.getBoundingClientRect();
                             return [r.left, r.top, r.right, r.bottom]; };
          const chart = [...document.querySelectorAll('.plotly-graph-div')]
            .find(d => d.layout && d.layout.xaxis2);
          return {
            titles: [...chart.querySelectorAll('.annotation-text')].map(box),
            ticks: [...chart.querySelectorAll('.xtick text')].map(box),
          };
        }"""
    )
    assert len(boxes["titles"]) == len(MONTHS)

    def overlap(a: list[float], b: list[float]) -> bool:
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    titles, ticks = boxes["titles"], boxes["ticks"]
    clashes = [
        (a, b) for i, a in enumerate(titles) for b in titles[i + 1 :] + ticks if overlap(a, b)
    ]
    assert clashes == []
    page.close()
