"""Great Expectations Data Docs: static HTML of every validation, under the outputs folder.

Validation runs on GE's pandas engine in an ephemeral context (see ``validation``); the
results are then stored in a file-backed GE project at ``<outputs>/data_docs`` and the
site is rebuilt, so ``<outputs>/data_docs/gx/uncommitted/data_docs/local_site/index.html``
lists every run's results. Only the pages of new results are rendered on each build, so
building stays cheap as history grows.

The site works offline (pipelines/checks/data_docs_site.py). Each validation run is named for
its suite and month (``2026-01_inputs.orders``), and each of its results says so on its
page; the pages of the suites are built with the first results of a process, so the
index's and the result pages' links to them lead somewhere.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pipelines.checks.validation import SuiteReport, _ge_suites

DOCS_PROJECT = "data_docs"


@dataclass
class _DocsProject:
    context: Any
    suites: set[str] = field(default_factory=set)
    unrendered: list[Any] = field(default_factory=list)
    # The site's configuration changed (a project made before the offline site): its
    # next build renders every page again, so none is left loading from CDNs.
    rebuild_all: bool = False


@dataclass(frozen=True)
class PublishedDocs:
    """Where the Data Docs are: the index, and the pages of the results just stored
    (by batch, e.g. ``rows``), rendered now or by the next build with the index."""

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
    """Store the reports' GE results and render their pages; with ``build``, also every
    page left to render and the index.

    ``run_label`` (a Dagster run id) is kept in each result's metadata, so a page can be
    traced back to the run that checked it.
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
        new_keys = []
        for report in reports:
            _ensure_suite(project, report.suite)
            run_id = RunIdentifier(validation_run_name(report.suite, report.month), run_time)
            for batch, result in zip(_batches(report), report.ge_results, strict=True):
                _label_result(result, report, batch, run_id, run_label)
                key = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
                    run_id=run_id,
                    batch_identifier=report.month,
                )
                project.context.validation_results_store.set(key, result)
                new_keys.append(key)
                pages[batch] = _page_path(outputs, key)
        if build:
            _build(project, [*project.unrendered, *new_keys], with_index=True)
            project.unrendered.clear()
        elif new_keys:  # the pages now (the links to them must work), the index later
            _build(project, [*project.unrendered, *new_keys], with_index=False)
            project.unrendered.clear()
    return PublishedDocs(data_docs_index(outputs), pages)


def _build(project: _DocsProject, keys: list[Any], with_index: bool) -> None:
    """Render ``keys``' pages (all pages once after the site's configuration changed)."""
    from pipelines.checks.data_docs_site import SITE_NAME  # imports GE: only once docs are built

    everything = project.rebuild_all
    project.context.build_data_docs(
        site_names=[SITE_NAME],
        resource_identifiers=None if everything else keys or None,
        build_index=with_index or everything,
    )
    project.rebuild_all = False


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
    """The file a validation result's page is (or will be) rendered to."""
    site = data_docs_index(outputs).parent
    return site.joinpath("validations", *key.to_tuple()).with_suffix(".html")


@cache
def _docs_project(project_root: str) -> _DocsProject:
    """One file-backed GE project per outputs folder and process (it is slow to open)."""
    import great_expectations as gx

    from pipelines.checks.data_docs_site import use_offline_site

    context = gx.get_context(mode="file", project_root_dir=project_root)
    return _DocsProject(context, rebuild_all=use_offline_site(context))


def _ensure_suite(project: _DocsProject, suite: str) -> None:
    """Keep the docs' copy of each suite (split by batch) in step with expectations/."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    if suite in project.suites:
        return
    for _batch, ge_suite, _expectations in _ge_suites(suite):
        project.context.suites.add_or_update(ge_suite)
        # its page too: result pages and the index link to it
        project.unrendered.append(ExpectationSuiteIdentifier(name=ge_suite.name))
    project.suites.add(suite)
