"""Great Expectations Data Docs: static HTML of every validation, under the outputs folder.

Validation runs on GE's pandas engine in an ephemeral context (see ``validation``); the
results are then stored in a file-backed GE project at ``<outputs>/data_docs`` and the
site is rebuilt, so ``<outputs>/data_docs/gx/uncommitted/data_docs/local_site/index.html``
lists every run's results. Only the pages of new results are rendered on each build, so
building stays cheap as history grows.
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


def data_docs_index(outputs: Path) -> Path:
    site = Path(outputs) / DOCS_PROJECT / "gx" / "uncommitted" / "data_docs" / "local_site"
    return site / "index.html"


def publish_data_docs(
    outputs: Path, reports: list[SuiteReport], run_name: str, build: bool = True
) -> Path:
    """Store the reports' GE results and, when ``build``, render what is new; -> index.html."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        project = _docs_project(str(Path(outputs).resolve() / DOCS_PROJECT))
        run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
        for report in reports:
            _ensure_suite(project, report.suite)
            for result in report.ge_results:
                key = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
                    run_id=run_id,
                    batch_identifier=report.month,
                )
                project.context.validation_results_store.set(key, result)
                project.unrendered.append(key)
        if build:
            project.context.build_data_docs(resource_identifiers=project.unrendered or None)
            project.unrendered.clear()
    return data_docs_index(outputs)


@cache
def _docs_project(project_root: str) -> _DocsProject:
    """One file-backed GE project per outputs folder and process (it is slow to open)."""
    import great_expectations as gx

    return _DocsProject(gx.get_context(mode="file", project_root_dir=project_root))


def _ensure_suite(project: _DocsProject, suite: str) -> None:
    """Keep the docs' copy of each suite (split by batch) in step with expectations/."""
    if suite in project.suites:
        return
    for _batch, ge_suite, _expectations in _ge_suites(suite):
        project.context.suites.add_or_update(ge_suite)
    project.suites.add(suite)
