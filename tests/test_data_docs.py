"""Great Expectations Data Docs: built offline, runs named for their suite and month, suite
pages built, and the Dagster check linking to its run's page (issue 19, section 5); a
passing check's pages rendered by the month's one build, whichever process makes it.

The browser tests open the site in Debian's chromium with every request that is not a
file:// one aborted and recorded (and no host name resolving), as the dashboard's do.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from assets.definitions import ALL_ASSETS, grade_month_job
from assets.ingest import build_ingest_asset
from assets.resources import GradingSettings, WarehouseResource
from pipelines.checks import data_docs
from pipelines.checks.data_docs import (
    PublishedDocs,
    data_docs_index,
    publish_data_docs,
    validation_run_name,
)
from pipelines.checks.validation import SuiteReport, check_parameters, validate_suite
from pipelines.datasets import DATASETS, MERCHANTS
from pipelines.ingest import ingest_month
from pipelines.policy import load_policy
from pipelines.warehouse import connect
from tests.helpers import CONFORMANCE, headless_chromium, mounted_tmpfs, run_python
from tests.test_dashboard import ARTIFACTS, Watched

MONTHS = ("2026-01", "2026-02")
POLICY = load_policy()
NO_NAME_RESOLVES = "--host-resolver-rules=MAP * ~NOTFOUND"
# A merchant the check refuses: the failed run's page has an unexpected value to show.
ZOMBIE = "UPDATE raw.merchants SET status = 'zombie' WHERE month = '2026-02' AND merchant_id = "
ZOMBIE += "(SELECT min(merchant_id) FROM raw.merchants WHERE month = '2026-02')"


def validated(con, suite: str, month: str) -> SuiteReport:
    sql, expectation = check_parameters(month, POLICY, suite.split("/")[1])
    return validate_suite(con, suite, month, sql, expectation)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> list[SuiteReport]:
    """Two months of the conformance inputs checked, February's merchants with a bad
    status: January's merchants and orders, February's merchants (failed) and orders."""
    root = tmp_path_factory.mktemp("checked")
    con = connect(root / "w.duckdb")
    reports = []
    try:
        for month in MONTHS:
            for dataset in DATASETS:
                ingest_month(con, CONFORMANCE / "landing", dataset, month)
        con.execute(ZOMBIE)
        for month in MONTHS:
            reports += [validated(con, s, month) for s in ("inputs/merchants", "inputs/orders")]
    finally:
        con.close()
    assert [r.success for r in reports] == [True, True, False, True]
    return reports


@pytest.fixture(scope="module")
def published(tmp_path_factory, reports) -> tuple[Path, list[PublishedDocs]]:
    """Every report stored in the Data Docs of one outputs folder, then the site built."""
    outputs = tmp_path_factory.mktemp("data_docs") / "outputs"
    docs = [publish_data_docs(outputs, [r], build=False) for r in reports]
    docs.append(publish_data_docs(outputs, []))  # the build a published month ends with
    return outputs, docs


def test_each_run_is_named_for_its_suite_and_month_on_its_pages(published):
    _outputs, docs = published
    for month in MONTHS:
        for suite in ("inputs/merchants", "inputs/orders"):
            run = validation_run_name(suite, month)
            assert run == f"{month}_{suite.replace('/', '.')}"
            pages = next(d.pages for d in docs if d.pages and run in str(d.pages["rows"]))
            assert set(pages) == {"rows", "duplicate_keys", "quarantine_ratio"}
            for page in pages.values():
                text = page.read_text(encoding="utf-8")
                assert run in text and month in text
                assert "__none__" not in text  # GE's placeholder for an unnamed run


def test_the_suite_pages_the_result_pages_link_to_are_built(published):
    _outputs, docs = published
    linked = set()
    for page in docs[0].pages.values():
        hrefs = re.findall(r'href="([^"]*expectations/[^"]*\.html)"', page.read_text("utf-8"))
        linked |= {(page.parent / href).resolve() for href in hrefs}
    assert len(linked) == 3  # merchants: rows, duplicate_keys, quarantine_ratio
    assert all(p.is_file() for p in linked), sorted(p for p in linked if not p.is_file())


def test_no_page_refers_to_anything_on_the_network(published):
    _outputs, docs = published
    site = docs[-1].index.parent
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 12
    remote = re.compile(r'<(?:script|link|img)\b[^>]*(?:src|href)="(?:https?:)?//', re.I)
    assert [p.name for p in pages if remote.search(p.read_text(encoding="utf-8"))] == []


def test_the_check_metadata_links_to_the_runs_page(tmp_path):
    settings = GradingSettings(
        landing_dir=str(CONFORMANCE / "landing"), outputs_dir=str(tmp_path / "out")
    )
    result = dg.materialize(
        [build_ingest_asset(MERCHANTS)],
        partition_key="2026-01",
        resources={
            "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
            "settings": settings,
        },
    )
    (evaluation,) = result.get_asset_check_evaluations()
    link = evaluation.metadata["data_docs"]
    assert isinstance(link, dg.UrlMetadataValue)
    assert link.url.startswith("file://") and link.url.endswith("/2026-01.html")
    assert "/2026-01_inputs.merchants/" in link.url
    page = Path(link.url.removeprefix("file://"))
    # A passing check only stores its results: the month's build renders the page.
    assert not page.exists()
    publish_data_docs(tmp_path / "out", [])  # the build a published month ends with
    assert page.is_file() and "2026-01_inputs.merchants" in page.read_text(encoding="utf-8")
    index = evaluation.metadata["data_docs_index"]
    assert isinstance(index, dg.UrlMetadataValue) and index.url.endswith("/local_site/index.html")


def test_a_month_builds_the_site_once_and_every_check_links_to_a_page(tmp_path, monkeypatch):
    """Nine passing checks used to build the site once each (most of the docs' time),
    and the published month again; now only the published month builds it."""
    builds = []
    build = data_docs._build
    monkeypatch.setattr(data_docs, "_build", lambda *a, **k: builds.append(1) or build(*a, **k))
    result = dg.materialize(
        ALL_ASSETS,
        partition_key="2026-01",
        selection=grade_month_job.selection,
        resources={
            "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
            "settings": GradingSettings(
                landing_dir=str(CONFORMANCE / "landing"), outputs_dir=str(tmp_path / "out")
            ),
        },
    )
    assert result.success and len(builds) == 1
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 9 and all(c.passed for c in checks)
    links = [v.url for c in checks for k, v in c.metadata.items() if k.startswith("data_docs_")]
    pages = [Path(url.removeprefix("file://")) for url in links if url.endswith(".html")]
    assert len(pages) > 18 and all(p.is_file() for p in pages), [p for p in pages if not p.exists()]


def _fresh_project() -> None:
    """Forget the process's open GE projects, as another process would."""
    data_docs._docs_project.cache_clear()


def test_results_stored_by_a_process_that_never_built_are_rendered_by_the_next(reports, tmp_path):
    """A run that stops after its checks (a failed step, a process that died) leaves
    results without pages: another process's build renders them, and the suites'."""
    outputs = tmp_path / "outputs"
    stored = publish_data_docs(outputs, reports[:2], build=False).pages
    suite_page = data_docs_index(outputs).parent / "expectations/inputs/orders/rows.html"
    assert not any(p.exists() for p in [*stored.values(), suite_page])
    build = "from pathlib import Path; from pipelines.checks.data_docs import publish_data_docs; "
    build += f"publish_data_docs(Path({str(outputs)!r}), [])"
    done = run_python(build)
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(p.is_file() for p in [*stored.values(), suite_page])
    assert "2026-01_inputs.orders" in data_docs_index(outputs).read_text(encoding="utf-8")


def test_a_build_renders_only_the_pages_not_rendered_yet(published, tmp_path):
    """A build with no page missing rebuilds the index only: GE renders every page when
    given no list of pages, which each month's build used to do, the whole history."""
    outputs, docs = published
    copy = tmp_path / "outputs"
    shutil.copytree(outputs, copy)
    page = copy / docs[0].pages["rows"].relative_to(outputs)
    page.write_text("rendered before", encoding="utf-8")
    data_docs_index(copy).unlink()
    publish_data_docs(copy, [])
    assert page.read_text(encoding="utf-8") == "rendered before"
    assert "2026-02_inputs.orders" in data_docs_index(copy).read_text(encoding="utf-8")


def test_a_failed_check_renders_its_pages_and_the_index_at_once(reports, tmp_path):
    """The failed month's run stops at its check: the failure's page must be there."""
    outputs = tmp_path / "outputs"
    passed = publish_data_docs(outputs, [reports[0]], build=False).pages
    failed = publish_data_docs(outputs, [reports[2]], build=True).pages
    assert all(p.is_file() for p in [*passed.values(), *failed.values()])
    assert "zombie" in failed["rows"].read_text(encoding="utf-8")
    index = data_docs_index(outputs).read_text(encoding="utf-8")
    assert "2026-02_inputs.merchants" in index and "2026-01_inputs.merchants" in index


def test_a_changed_suite_has_its_page_rendered_again(reports, tmp_path):
    """Suite pages are rendered when missing: storing a changed suite removes its page."""
    from great_expectations import ExpectationSuite

    outputs = tmp_path / "outputs"
    publish_data_docs(outputs, [reports[0]])
    page = data_docs_index(outputs).parent / "expectations/inputs/merchants/rows.html"
    page.write_text("old", encoding="utf-8")
    _fresh_project()
    publish_data_docs(outputs, [reports[0]], build=False)
    assert page.read_text(encoding="utf-8") == "old"  # the same suite: its page is kept
    project = data_docs._docs_project(str(outputs.resolve() / "data_docs"))
    project.context.suites.add_or_update(ExpectationSuite(name="inputs.merchants.rows"))
    _fresh_project()
    publish_data_docs(outputs, [reports[0]])  # stores expectations/'s suite again
    assert "Expectation Suite" in page.read_text(encoding="utf-8")


def test_shared_compiled_templates_render_the_same_pages(published, tmp_path, monkeypatch):
    """The views share compiled templates (data_docs_site): pages rendered with them are
    those jinja2 renders from source, but for the element ids GE draws at random."""
    from pipelines.checks import data_docs_site  # imports GE

    outputs, docs = published
    copy = tmp_path / "outputs"
    shutil.copytree(outputs, copy)
    site = data_docs_index(copy).parent
    pages = [
        copy / docs[2].pages["rows"].relative_to(outputs),
        site / "expectations/inputs/merchants/rows.html",
    ]

    def rendered() -> list[str]:
        for page in pages:
            page.unlink()
        publish_data_docs(copy, [])
        uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        return [re.sub(uuid, "<uuid>", p.read_text(encoding="utf-8")) for p in pages]

    shared = rendered()
    assert data_docs_site._COMPILED_TEMPLATES._code  # compiled templates were shared
    monkeypatch.setattr(data_docs_site, "_COMPILED_TEMPLATES", None)  # jinja2's default
    assert rendered() == shared


# --- in a real browser, offline ----------------------------------------------------------


@pytest.fixture(scope="module")
def offline_browser() -> Iterator[object]:
    with headless_chromium(NO_NAME_RESOLVES) as launched:
        yield launched


def run_rows(watched: Watched) -> list[tuple[str, str, str]]:
    """(run name, batch id, suite) of the index's validation result rows, as shown."""
    return watched.page.eval_on_selector_all(
        "table.offline-table tbody tr:not([hidden])",
        """rows => rows.filter(r => r.querySelector("td[data-field=run_name]")).map(r => [
            r.querySelector("td[data-field=run_name]").innerText.trim(),
            r.querySelector("td[data-field=batch_identifier]").innerText.trim(),
            r.querySelector("td[data-field=expectation_suite_name]").innerText.trim()])""",
    )


@pytest.mark.browser
def test_the_index_lists_every_run_offline_without_errors(offline_browser, published):
    _outputs, docs = published
    watched = Watched(offline_browser, docs[-1].index)
    rows = run_rows(watched)
    runs = {(run, batch) for run, batch, _suite in rows}
    assert runs == {
        (validation_run_name(suite, month), month)
        for month in MONTHS
        for suite in ("inputs/merchants", "inputs/orders")
    }
    assert len(rows) == 12  # 2 months x 2 suites x 3 batches
    assert {suite for _run, _batch, suite in rows} >= {"inputs.merchants.rows"}
    ARTIFACTS.mkdir(exist_ok=True)
    watched.page.screenshot(path=str(ARTIFACTS / "data_docs_index.png"), full_page=True)

    watched.page.fill(".offline-table-filter", "2026-02 merchants")
    assert {run for run, _b, _s in run_rows(watched)} == {"2026-02_inputs.merchants"}
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_a_failed_runs_page_and_its_suite_page_work_offline(offline_browser, published):
    _outputs, docs = published
    failed = docs[2].pages["rows"]
    watched = Watched(offline_browser, failed)
    page = watched.page
    assert "2026-02_inputs.merchants" in page.inner_text("body")
    assert "zombie" in page.inner_text("body")
    page.click("text=Show more info...")
    assert page.is_visible("text=Run Name")
    page.click("[data-validations=failed]")
    passed = page.locator(".hide-succeeded-validation-target-child").first
    assert passed.count() == 0 or not passed.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data_docs_failed_run.png"), full_page=True)
    with page.expect_navigation():
        page.click("a[href$='/expectations/inputs/merchants/rows.html']")
    page.wait_for_selector("body[data-ready=true]")
    assert page.url.endswith("/expectations/inputs/merchants/rows.html")
    assert "Expectation Suite" in page.inner_text("body")
    assert watched.errors == [] and watched.requests == []
    page.close()


def test_a_site_built_before_the_offline_views_is_rebuilt_offline(published, tmp_path):
    """A Data Docs project made by an earlier version has GE's default site (CDN links):
    its first build here renders every page again, the old ones too."""
    outputs, docs = published
    copy = tmp_path / "outputs"
    shutil.copytree(outputs, copy)
    config = copy / "data_docs" / "gx" / "great_expectations.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("show_how_to_buttons: false", "show_how_to_buttons: true"))
    old_page = copy / docs[0].pages["rows"].relative_to(outputs)
    old_page.write_text('<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>')
    publish_data_docs(copy, [])
    assert "jquery" not in old_page.read_text(encoding="utf-8")
    assert "2026-01_inputs.merchants" in old_page.read_text(encoding="utf-8")


def test_loading_the_definitions_leaves_great_expectations_to_the_background_import():
    """A run imports GE on a background thread while the first month is ingested
    (pipelines.checks.validation.warm_up); the offline views subclass GE's, so their module
    must load only when the docs are built, not with the definitions."""
    probe = "import sys, assets.definitions; print('ge', 'great_expectations' in sys.modules)"
    result = run_python(probe)
    assert result.returncode == 0, result.stderr[-2000:]
    # Imported eagerly here, GE's optional pyspark ended the process before the print.
    assert result.stdout.split() == ["ge", "False"], result.stderr[-2000:]


def test_store_files_a_full_disk_cut_short_are_set_aside_and_the_next_run_publishes(
    published_conformance, tmp_path
):
    """A review (2026-12-06) filled the outputs disk mid-run: GE left a 0-byte suite and
    a result cut at 4,096 bytes, and every later run failed reading them, after the space
    was freed. They are now moved to gx/uncommitted/damaged/ and the next run publishes."""
    from assets.runner import grade_months
    from tests.helpers import private_copy

    landing, warehouse, outputs = private_copy(published_conformance("2026-01"), tmp_path / "c")
    gx = outputs / "data_docs" / "gx"
    suite = next((gx / "expectations").rglob("*.json"))
    suite.write_bytes(b"")
    result = next((gx / "uncommitted" / "validations").rglob("*.json"))
    result.write_bytes(result.read_bytes()[:100])
    _fresh_project()

    grade_months(landing, warehouse, outputs, "2026-02", dashboard=False)

    damaged = gx / "uncommitted" / "damaged"
    assert not result.exists() and suite.stat().st_size > 0  # the suite stored again
    assert (damaged / suite.relative_to(gx)).read_bytes() == b""
    assert len((damaged / result.relative_to(gx)).read_bytes()) == 100
    assert "2026-02_" in data_docs_index(outputs).read_text(encoding="utf-8")


# --- a full disk -----------------------------------------------------------------------


class _FullDiskFile:
    """A file that takes its first ``size`` bytes, then fails as a full disk does."""

    def __init__(self, file, size: int) -> None:
        self._file, self._size = file, size

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self._file.close()

    def write(self, data: bytes) -> int:
        self._file.write(bytes(data)[: self._size])
        self._file.flush()
        raise OSError(errno.ENOSPC, "No space left on device")


def _disk_full_after(size: int):
    """``os.fdopen`` whose files fail after ``size`` bytes (the site's files are written
    through it: pipelines/atomic_files.py)."""
    fdopen = os.fdopen

    def cut_short(fd: int, *args, **kwargs):
        return _FullDiskFile(fdopen(fd, *args, **kwargs), size)

    return cut_short


def test_a_full_disk_leaves_the_pages_and_the_index_as_they_were(
    published, tmp_path, monkeypatch, caplog
):
    """GE wrote pages in place: a full disk left them cut short or empty and the index cut
    mid-table, and the site renders only missing pages, so they stayed broken after the
    space was freed (a review, 2026-12-07). A page is now written whole or not at all."""
    outputs, docs = published
    copy = tmp_path / "outputs"
    shutil.copytree(outputs, copy)
    site = data_docs_index(copy).parent
    missing = copy / docs[0].pages["rows"].relative_to(outputs)
    missing.unlink()
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}

    monkeypatch.setattr(os, "fdopen", _disk_full_after(4096))
    with caplog.at_level(logging.WARNING), pytest.raises(OSError, match="No space left"):
        publish_data_docs(copy, [])
    monkeypatch.undo()

    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert data_docs.pages_missing(copy)
    (warning,) = [r.getMessage() for r in caplog.records if r.name == data_docs.LOG.name]
    assert "1 page(s)" in warning and "No space left on device" in warning
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # GE's tracebacks

    publish_data_docs(copy, [])
    assert not data_docs.pages_missing(copy)
    assert "2026-01_inputs.merchants" in missing.read_text(encoding="utf-8")
    assert "2026-02_inputs.orders" in data_docs_index(copy).read_text(encoding="utf-8")


def test_an_index_ge_could_not_render_is_kept_as_it_was(published, tmp_path, monkeypatch):
    """GE writes an empty index when rendering it fails (under a TZ tzlocal cannot map,
    it wrote an empty index.html over the good one, a review, 2026-12-07)."""
    from great_expectations.render.renderer.site_index_page_renderer import (
        SiteIndexPageRenderer,
    )

    outputs, _docs = published
    copy = tmp_path / "outputs"
    shutil.copytree(outputs, copy)
    index = data_docs_index(copy)
    before = index.read_bytes()

    def fails(*args, **kwargs):
        raise ValueError("the index cannot be rendered")

    monkeypatch.setattr(SiteIndexPageRenderer, "render", fails)
    publish_data_docs(copy, [])
    assert index.read_bytes() == before and b"2026-02_inputs.orders" in before


def test_an_unchanged_run_renders_the_pages_a_failed_build_left_missing(
    published_conformance, tmp_path
):
    """A run that grades nothing builds nothing: pages missing after a build cut short
    stayed missing, linked from the index, until another month was published."""
    from assets.runner import grade_months
    from tests.helpers import private_copy

    landing, warehouse, outputs = private_copy(published_conformance("2026-01"), tmp_path / "c")
    site = data_docs_index(outputs).parent
    assert not data_docs.pages_missing(outputs)
    gone = [
        next((site / "validations").rglob("*.html")),
        next((site / "expectations").rglob("*.html")),
    ]
    for page in gone:
        page.unlink()
    assert data_docs.pages_missing(outputs)
    _fresh_project()

    (month,) = grade_months(landing, warehouse, outputs, "2026-01", dashboard=False)

    assert month.unchanged_since
    assert all(page.stat().st_size > 0 for page in gone)
    assert not data_docs.pages_missing(outputs)


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real 40 MB file system (tmpfs), mounted for the test and unmounted after it."""
    with mounted_tmpfs(tmp_path / "small_disk", "40M") as folder:
        yield folder


def test_a_month_that_filled_the_outputs_disk_leaves_whole_data_docs_once_rerun(
    small_disk, tmp_path
):
    """The review's case on a real full disk: the outputs disk fills while March is
    published, the space is freed, and the run again leaves every page whole."""
    from tests.helpers import cli_command, run_args

    outputs = small_disk / "out"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}

    def grade(through: str, *extra: str) -> subprocess.CompletedProcess:
        args = run_args(CONFORMANCE / "landing", tmp_path / "w.duckdb", outputs, through, *extra)
        command = cli_command(*args, "--no-dashboard")
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)

    assert grade("2026-02", "--create").returncode == 0
    filler = small_disk / "filler"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    with filler.open("wb") as f:
        os.posix_fallocate(f.fileno(), 0, free - 300 * 1024)
    full = grade("2026-03")
    assert full.returncode == 1 and "No space left on device" in full.stderr, full.stderr
    assert full.stderr.count("Traceback") <= 1, full.stderr[-3000:]  # not one per page

    filler.unlink()
    assert grade("2026-03").returncode == 0
    site = data_docs_index(outputs).parent
    pages = list(site.rglob("*.html"))
    assert pages and all(p.read_bytes().rstrip().endswith(b"</html>") for p in pages)
    assert not data_docs.pages_missing(outputs)
    assert "2026-03_inputs.orders" in data_docs_index(outputs).read_text(encoding="utf-8")
