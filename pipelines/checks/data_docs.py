"""Great Expectations Data Docs: static HTML of every validation, under the outputs folder.

Validation runs on GE's pandas engine in an ephemeral context (see ``validation``); the
results are then stored in a file-backed GE project at ``<outputs>/data_docs``. A build
of the site (a failed check's, at once, and the published month's) renders every page
not rendered yet and the index, so
``<outputs>/data_docs/gx/uncommitted/data_docs/local_site/index.html`` lists every run's
results. A passing check only stores its results: a month's pages are rendered in one
build rather than one per check, and only the pages missing on disk, so building stays
cheap as history grows. "Missing on disk" rather than a list kept in memory: results
stored by a run that stopped before its build (a failed step, a process that died) are
rendered by the next build, whichever process makes it.

The site works offline (pipelines/checks/data_docs_site.py). Each validation run is named for
its suite and month (``2026-01_inputs.orders``), and each of its results says so on its
page; a suite's page is rendered with the pages of results (when it is missing, or when
the suite changed), so the index's and the result pages' links to it lead somewhere.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pipelines.checks.validation import SuiteReport, _ge_suites

DOCS_PROJECT = "data_docs"
# Beside the GE project: its modification time is when the store was last found whole.
CHECKED_MARK = ".store_checked"
# Where store files that do not parse are moved, kept for a person to look at.
DAMAGED = Path("gx") / "uncommitted" / "damaged"
LOG = logging.getLogger(__name__)


# GE renders every page for no list of pages (or an empty one); a list holding only this,
# which equals no resource's key, renders none (a build of the index alone).
_NO_PAGE = object()


@dataclass
class _DocsProject:
    context: Any
    # When the store was checked for damaged files (``set_aside_damaged``), in ns.
    checked_at: int = 0
    suites: set[str] = field(default_factory=set)
    # The site's configuration changed (a project made before the offline site): its
    # next build renders every page again, so none is left loading from CDNs.
    rebuild_all: bool = False


@dataclass(frozen=True)
class PublishedDocs:
    """Where the Data Docs are: the index, and the pages of the results just stored
    (by batch, e.g. ``rows``), rendered now or by the next build of the site."""

    index: Path
    pages: dict[str, Path] = field(default_factory=dict)


def validation_run_name(suite: str, month: str) -> str:
    """GE's run name of a suite's checks for a month: ``2026-01_inputs.orders``.

    Month first, so the index's Run Name column sorts by month; no spaces or slashes,
    as it is a folder of the site."""
    return f"{month}_{suite.replace('/', '.')}"


def data_docs_index(outputs: Path) -> Path:
    site = Path(outputs) / DOCS_PROJECT / "gx" / "uncommitted" / "data_docs" / "local_site"
    return site / "index.html"


def publish_data_docs(
    outputs: Path, reports: list[SuiteReport], build: bool = True, run_label: str = ""
) -> PublishedDocs:
    """Store the reports' GE results; with ``build``, also render every page not rendered
    yet (theirs, those of results stored earlier, the suites') and the index.

    Without ``build`` (a passing check) the pages are rendered by the next build (the
    published month's): the returned paths are where they will be. ``run_label`` (a
    Dagster run id) is kept in each result's metadata, so a page can be traced back to
    the run that checked it.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    pages: dict[str, Path] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        project = _docs_project(str(Path(outputs).resolve() / DOCS_PROJECT))
        run_time = dt.datetime.now(dt.UTC)
        for report in reports:
            _ensure_suite(project, outputs, report.suite)
            run_id = RunIdentifier(validation_run_name(report.suite, report.month), run_time)
            for batch, result in zip(_batches(report), report.ge_results, strict=True):
                _label_result(result, report, batch, run_id, run_label)
                key = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
                    run_id=run_id,
                    batch_identifier=report.month,
                )
                project.context.validation_results_store.set(key, result)
                pages[batch] = _page_path(outputs, key)
        if build:
            _build(project, outputs)
    return PublishedDocs(data_docs_index(outputs), pages)


def pages_missing(outputs: Path) -> bool:
    """Whether a stored result or suite has no page, or the site no index.

    Read from the files alone, without GE (a run that grades nothing asks): a build cut
    short (a full disk) or a month that failed before its build leaves results whose
    pages the next build renders, and a run of unchanged months makes no build."""
    gx_root = Path(outputs) / DOCS_PROJECT / "gx"
    site = data_docs_index(outputs).parent
    stored = False
    for store, section in (
        (gx_root / "expectations", "expectations"),
        (gx_root / "uncommitted" / "validations", "validations"),
    ):
        for result in store.rglob("*.json"):
            stored = True
            page = site / section / result.relative_to(store).with_suffix(".html")
            if not page.is_file():
                return True
    return stored and not data_docs_index(outputs).is_file()


def render_missing_pages(outputs: Path) -> None:
    """Render the pages ``pages_missing`` finds, and the index (nothing when none is)."""
    if pages_missing(outputs):
        publish_data_docs(outputs, [])


class _RenderErrors(logging.Filter):
    """GE catches a page it could not render, logs the error with its whole traceback, and
    goes on: a full disk printed some 450 lines before the run's one-line message (a
    review, 2026-12-07). They are counted here and said in one warning."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        message = record.getMessage()
        error = re.search(r'(\w+(?:Error|Exception)): "(.*?)"\.  Traceback', message, re.S)
        lines = message.strip().splitlines() or [f"{record.name} logged an error without a message"]
        self.errors.append(f"{error[1]}: {error[2]}" if error else lines[0])
        return False


def _build(project: _DocsProject, outputs: Path) -> None:
    """Render the pages not rendered yet (all pages once after the site's configuration
    changed) and the index, in one build of the site."""
    from pipelines.checks.data_docs_site import SITE_NAME  # imports GE: only once docs are built

    keys = None if project.rebuild_all else (_unrendered(project, outputs) or [_NO_PAGE])
    site_builder_log = logging.getLogger("great_expectations.render.renderer.site_builder")
    render_errors = _RenderErrors()
    site_builder_log.addFilter(render_errors)
    try:
        project.context.build_data_docs(
            site_names=[SITE_NAME], resource_identifiers=keys, build_index=True
        )
    finally:
        site_builder_log.removeFilter(render_errors)
        if render_errors.errors:
            LOG.warning(
                "Data Docs: %d page(s) under %s could not be rendered; the next build "
                "renders them again. The first error: %s",
                len(render_errors.errors),
                data_docs_index(outputs).parent,
                render_errors.errors[0],
            )
    project.rebuild_all = False
    # A new file renamed over the mark: setting the time of a file another user made
    # (an outputs folder a team shares) is refused even with write permission, and
    # failed every later publication (a review, 2026-12-06).
    mark = Path(outputs).resolve() / DOCS_PROJECT / CHECKED_MARK
    fresh = mark.with_name(f"{CHECKED_MARK}.{os.getpid()}.tmp")
    try:
        fresh.touch()
        os.utime(fresh, ns=(project.checked_at, project.checked_at))
        os.replace(fresh, mark)
    finally:
        fresh.unlink(missing_ok=True)


def _unrendered(project: _DocsProject, outputs: Path) -> list[Any]:
    """The stored results and suites whose page is not on disk (a suite's page is removed
    when the suite changes, see ``_ensure_suite``)."""
    context = project.context
    keys = [*context.validation_results_store.list_keys(), *context.expectations_store.list_keys()]
    return [key for key in keys if not _page_path(outputs, key).is_file()]


def _batches(report: SuiteReport) -> list[str]:
    """The batch of each of the report's GE results, in order (one result per batch)."""
    return [batch for batch, _suite, _expectations in _ge_suites(report.suite)]


def _label_result(
    result: Any, report: SuiteReport, batch: str, run_id: Any, run_label: str
) -> None:
    """Name the run, the month and the data on the result's page (GE shows "__none__"
    for a result validated outside a checkpoint)."""
    result.meta["run_id"] = run_id
    result.meta["batch_spec"] = {
        **(result.meta.get("batch_spec") or {}),
        "data_asset_name": f"{report.suite} ({batch})",
    }
    if run_label:
        result.meta["dagster_run_id"] = run_label


def _page_path(outputs: Path, key: Any) -> Path:
    """The file a validation result's or a suite's page is (or will be) rendered to: GE's
    site keeps a key's parts as folders, the last one with ``.html`` appended."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    section = "expectations" if isinstance(key, ExpectationSuiteIdentifier) else "validations"
    *folders, name = key.to_tuple()
    return data_docs_index(outputs).parent.joinpath(section, *folders, f"{name}.html")


@cache
def _docs_project(project_root: str) -> _DocsProject:
    """One file-backed GE project per outputs folder and process (it is slow to open)."""
    import great_expectations as gx

    from pipelines.checks.data_docs_site import use_offline_site

    checked_at = time.time_ns()
    set_aside_damaged(Path(project_root))
    context = gx.get_context(mode="file", project_root_dir=project_root)
    return _DocsProject(context, checked_at, rebuild_all=use_offline_site(context))


def set_aside_damaged(project_root: Path) -> list[Path]:
    """Move the store's JSON files that do not parse to ``gx/uncommitted/damaged/``.

    GE writes its stored suites and results in place. A write cut short (a full disk)
    left a 0-byte suite or a result cut at 4,096 bytes, and every later run failed on it
    reading the store, long after the space was freed (found by a review, 2026-12-06).
    Such a file is moved aside, kept for a person to look at: a suite is stored again from
    expectations/, and a result's month keeps its published data, only not its page. Only
    files written since the store was last found whole (``CHECKED_MARK``) are read, so the
    check stays cheap as history grows.
    """
    mark = project_root / CHECKED_MARK
    since = mark.stat().st_mtime_ns if mark.is_file() else 0
    moved = []
    for folder in ("expectations", "uncommitted/validations"):
        for path in sorted((project_root / "gx" / folder).rglob("*.json")):
            if path.stat().st_mtime_ns < since:
                continue
            try:
                json.loads(path.read_bytes())
            except ValueError:
                target = project_root / DAMAGED / path.relative_to(project_root / "gx")
                target.parent.mkdir(parents=True, exist_ok=True)
                path.replace(target)
                moved.append(target)
                LOG.warning(
                    "Data Docs: %s does not parse (a write cut short?): moved to %s", path, target
                )
    return moved


def _ensure_suite(project: _DocsProject, outputs: Path, suite: str) -> None:
    """Keep the docs' copy of each suite (split by batch) in step with expectations/; a
    suite that changed loses its page, so the next build renders it again."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    if suite in project.suites:
        return
    for _batch, ge_suite, _expectations in _ge_suites(suite):
        before = _stored_suite(project.context, ge_suite.name)
        project.context.suites.add_or_update(ge_suite)
        if _stored_suite(project.context, ge_suite.name) != before:
            _page_path(outputs, ExpectationSuiteIdentifier(name=ge_suite.name)).unlink(
                missing_ok=True
            )
    project.suites.add(suite)


def _stored_suite(context: Any, name: str) -> Any:
    """The project's copy of a suite, as stored (None before its first store)."""
    store = context.expectations_store
    key = store.get_key(name=name, id=None)
    return store.get(key) if store.has_key(key) else None
