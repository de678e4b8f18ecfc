"""Blocking data checks: each asset validates its Great Expectations suite for the month.

A failed check stops the month's downstream assets, so nothing of the month is
published. Its metadata lists each failed expectation with its unexpected count and
sample values, and the Data Docs site under the outputs folder is rebuilt to show it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg
import duckdb

from assets.partitions import monthly_partitions
from assets.resources import GradingSettings
from pipelines import month_journal
from pipelines.checks.data_docs import PublishedDocs, publish_data_docs
from pipelines.checks.validation import BatchSource, check_parameters, validate_suite

CHECK_NAME = "expectations"


def suite_check_spec(asset_key: dg.AssetKey | str, suite: str) -> dg.AssetCheckSpec:
    """A blocking check per month: each result belongs to the partition it checked, so
    the UI shows it on that month (partitioned checks are a Dagster preview feature; its
    warning is the maintainers' concern, not the user's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            CHECK_NAME,
            asset=asset_key,
            blocking=True,
            description=f"Great Expectations suite expectations/{suite}.json for the month.",
            partitions_def=monthly_partitions,
        )


def run_suite_check(
    context: dg.AssetExecutionContext,
    con: duckdb.DuckDBPyConnection,
    settings: GradingSettings,
    suite: str,
    dataset: str = "",
    batch_source: BatchSource | None = None,
) -> dg.AssetCheckResult:
    """The suite's verdict on the month (``batch_source``: the Spark engine's lake, for the
    batches it validates on GE's Spark engine); a failure rolls the month back."""
    month = context.partition_key
    sql_params, expectation_params = check_parameters(month, settings.policy_for(month), dataset)
    report = validate_suite(
        con, suite, month, sql_params, expectation_params,
        chunk_rows=settings.check_chunk_rows, batch_source=batch_source,
    )  # fmt: skip
    if not report.success:  # blocking: the month is not published, so nothing of it stays
        month_journal.roll_back(con, [month])
    docs = publish_data_docs(
        settings.outputs, [report], build=not report.success, run_label=context.run.run_id
    )
    failures = report.as_metadata()
    explained = {f["batch"]: dg.MetadataValue.json(f["details"]) for f in failures if f["details"]}
    return dg.AssetCheckResult(
        check_name=CHECK_NAME,
        passed=report.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if report.success else report.summary(),
        metadata={
            "suite": suite,
            "expectations": len(report.outcomes),
            "failed_expectations": len(failures),
            "execution_engines": dg.MetadataValue.json(report.engines),
            "failures": dg.MetadataValue.json(failures),
            "failures_table": dg.MetadataValue.md(_failure_table(failures)),
            **data_docs_links(docs, [f["batch"] for f in failures]),
            **explained,  # e.g. quarantine_ratio: counts, ratio, limit, reasons, examples
        },
    )


def _failure_table(failures: list[dict]) -> str:
    if not failures:
        return "All expectations passed."
    lines = [
        "| expectation | batch | column | unexpected | of | samples |",
        "|---|---|---|---|---|---|",
    ]
    for f in failures:
        samples = (
            f["explanation"] or ", ".join(map(str, f["sample_values"][:5])) or (f["error"] or "")
        )
        lines.append(
            f"| {f['expectation']} | {f['batch']} | {f['column']} | {f['unexpected_count']} "
            f"| {f['element_count']} | {samples.replace('|', '/')} |"
        )
    return "\n".join(lines)


def data_docs_links(docs: PublishedDocs, failed_batches: list[str]) -> dict[str, dg.MetadataValue]:
    """Clickable links to the run's Data Docs pages: ``data_docs`` opens the first failed
    batch's page (else the first page), ``data_docs_<batch>`` each batch's, and
    ``data_docs_index`` the index of every run."""
    index = {"data_docs_index": _file_url(docs.index)}
    if not docs.pages:
        return index
    first = next((b for b in failed_batches if b in docs.pages), next(iter(docs.pages)))
    return {
        "data_docs": _file_url(docs.pages[first]),
        **{f"data_docs_{batch}": _file_url(page) for batch, page in docs.pages.items()},
        **index,
    }


def _file_url(path: Path) -> dg.UrlMetadataValue:
    """A file:// link the Dagster UI shows as clickable (a path is shown as text)."""
    return dg.MetadataValue.url(path.resolve().as_uri())
