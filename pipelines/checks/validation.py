"""Data checks: Great Expectations suites (expectations/*.json) validated in bounded memory.

GE's SQL engine over DuckDB is broken upstream (every expectation errors on empty metric
results: great_expectations #10738, #11579), so checks use GE's pandas engine instead:

- a suite's expectations are grouped by the batch they read (``meta.batch``, default
  ``rows``); each batch is a query in ``sql/checks/<suite>.<batch>.sql`` or the shared
  ``sql/checks/<batch>.sql`` (its last
  statement; any before it prepare it, such as a SET VARIABLE);
- the query's result is streamed from DuckDB as Arrow record batches of at most
  ``chunk_rows`` rows, and GE validates each chunk; per-row expectations add up exactly
  (unexpected counts are summed, samples kept from the first chunks);
- whole-table properties (uniqueness across months, one grade per merchant, shares per
  category) are computed by DuckDB into small batches, which GE validates as they are.

So a month of 100 million orders is checked with memory bounded by one chunk.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

from pipelines.checks.check_filter import column_types, ge_columns_sql, suspect_filter
from pipelines.checks.quarantine_summary import quarantine_ratio
from pipelines.datasets import DATASETS_BY_NAME, Dataset
from pipelines.deferred_imports import deferred
from pipelines.months import grading_window
from pipelines.package_data import shipped_dir
from pipelines.policy import Policy
from pipelines.sql_files import SQL_DIR, load_sql
from pipelines.warehouse import bound_params, fetch_value, statements

if TYPE_CHECKING:  # imported where a check reads its rows: not with the definitions,
    # whose loading leaves pandas (1/2 s) to the background import of GE (assets.runner)
    import pandas as pd
    import pyarrow as pa

EXPECTATIONS_DIR = shipped_dir("expectations")
# GE's cost per validation is mostly building its metric graph, whatever the rows, so
# larger chunks mean fewer validations, for some memory (bench/README.md has the numbers).
DEFAULT_CHUNK_ROWS = 2_000_000
SAMPLE_SIZE = 10
INDEX_KEY = "expectation_index"
# Whole-batch expectations with no unexpected values of their own: when one fails, the
# batch's first rows are its samples (e.g. the colliding keys of a duplicate_keys batch).
ROW_COUNT_EXPECTATIONS = frozenset(
    {"expect_table_row_count_to_equal", "expect_table_row_count_to_be_between"}
)
# Packages GE imports at import time that no suite here uses (see warm_up).
DEFERRED_BY_GE = ("scipy", "altair")
# BASIC still gives unexpected counts and a sample of unexpected values (all a report
# shows); GE's default SUMMARY also indexes and tallies the unexpected rows, a third more
# time per validation.
RESULT_FORMAT = "BASIC"
# The batch of the quarantine-ratio expectation (sql/checks/quarantine_ratio.sql).
QUARANTINE_RATIO_BATCH = "quarantine_ratio"


@dataclass
class ExpectationOutcome:
    """One expectation's result over every chunk of its batch."""

    expectation: str
    batch: str
    kwargs: dict[str, Any]
    success: bool = True
    element_count: int = 0
    unexpected_count: int = 0
    missing_count: int = 0
    samples: list[Any] = field(default_factory=list)
    observed: Any = None
    error: str | None = None
    # What the failure means in the data, where a batch's bare values cannot say it
    # (the quarantine ratio: counts, limit, reasons and an example row).
    explanation: str | None = None
    details: dict[str, Any] | None = None

    @property
    def column(self) -> str:
        return str(self.kwargs.get("column") or self.kwargs.get("column_A") or "")

    def describe(self) -> str:
        if self.explanation:
            return self.explanation
        target = f"{self.batch}.{self.column}" if self.column else self.batch
        detail = self.error or (
            f"{self.unexpected_count} unexpected of {self.element_count}"
            if self.unexpected_count
            else f"observed {self.observed!r}"
        )
        samples = f"; e.g. {self.samples[:3]!r}" if self.samples else ""
        return f"{self.expectation} on {target}: {detail}{samples}"


@dataclass
class SuiteReport:
    suite: str
    month: str
    outcomes: list[ExpectationOutcome]
    ge_results: list[Any] = field(default_factory=list, repr=False)
    # The GE execution engine that validated each batch (e.g. rows: SparkDFExecutionEngine).
    engines: dict[str, str] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def summary(self) -> str:
        if self.success:
            return f"suite {self.suite} passed for {self.month}"
        return f"suite {self.suite} failed for {self.month}: " + "; ".join(
            f.describe() for f in self.failures
        )

    def as_metadata(self) -> list[dict[str, Any]]:
        return [
            {
                "expectation": f.expectation,
                "batch": f.batch,
                "column": f.column,
                "unexpected_count": f.unexpected_count,
                "element_count": f.element_count,
                "sample_values": [_jsonable(v) for v in f.samples],
                "observed": _jsonable(f.observed),
                "error": f.error,
                "explanation": f.explanation,
                "details": f.details,
            }
            for f in self.failures
        ]


def suite_path(suite: str) -> Path:
    """``inputs/orders`` -> expectations/inputs/orders.json."""
    return EXPECTATIONS_DIR / f"{suite}.json"


def load_suite_json(suite: str) -> dict[str, Any]:
    path = suite_path(suite)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"expectation suite {path} is missing") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"expectation suite {path} is not valid JSON: {exc}") from exc
    if not isinstance(data.get("expectations"), list):
        raise ValueError(f"expectation suite {path} has no 'expectations' list")
    return data


def batch_sql_name(suite: str, batch: str) -> str:
    """The query behind a batch: sql/checks/<table>.<batch>.sql, else sql/checks/<batch>.sql."""
    specific = f"checks/{suite.rsplit('/', 1)[-1]}.{batch}.sql"
    return specific if (SQL_DIR / specific).is_file() else f"checks/{batch}.sql"


def batch_sql(suite: str, batch: str) -> str:
    """The text of a batch's query; an input suite's dataset names fill in a shared query.

    One query serves every dataset whose key is unique across months
    (sql/checks/duplicate_keys.sql), so its table and columns are placeholders.
    """
    text = load_sql(batch_sql_name(suite, batch))
    dataset = DATASETS_BY_NAME.get(suite.removeprefix("inputs/"))
    return _with_dataset_names(text, dataset) if suite.startswith("inputs/") and dataset else text


def _with_dataset_names(sql: str, dataset: Dataset) -> str:
    """Fill a shared query's placeholders: the raw table, its key and the key column
    history can be pruned by (the row date when the key holds it, else the first key
    column: order ids grow over time)."""
    range_column = dataset.month_column if dataset.month_column in dataset.key else dataset.key[0]
    return (
        sql.replace("__DATASET__", dataset.name)
        .replace("__KEY__", ", ".join(dataset.key))
        .replace("__RANGE_COLUMN__", range_column)
    )


def check_parameters(month: str, policy: Policy, dataset: str = "") -> tuple[dict, dict]:
    """SQL parameters and GE expectation parameters of a month's checks, from the policy."""
    window = grading_window(month, policy.window_days)
    sql = {
        **window.sql_params,
        "dataset": dataset,
        "month_start": window.month_start,
        "ratio_num": policy.max_quarantine_ratio.numerator,
        "ratio_den": policy.max_quarantine_ratio.denominator,
        "level_bounds": list(policy.level_lower_bounds),
        "provisional_min": policy.provisional_min_assessed_orders,
        "min_dsr_item_count": policy.min_dsr_item_count,
        "min_shipments_due": policy.min_shipments_due,
        "min_messages_received": policy.min_messages_received,
    }
    expectation = {
        # Timestamps are checked as epoch microseconds: GE compares datetimes row by row
        # in Python, integers vectorised.
        "month_start_us": _epoch_us(window.month_start),
        "cutoff_us": _epoch_us(window.cutoff),
        "tiers": list(policy.tier_names),
        "max_level": len(policy.level_lower_bounds),
    }
    return sql, expectation


def _epoch_us(moment: dt.datetime) -> int:
    return int(moment.replace(tzinfo=dt.UTC).timestamp()) * 1_000_000


class BatchSource(Protocol):
    """Another engine's rows for a suite's batches (the Spark engine's: its lake).

    ``validate`` validates the batch on that engine's GE datasource and returns the GE
    result with the execution engine's name, or None when DuckDB runs the batch. Which
    expectations form a batch, and the batch's query, stay validate_suite's (one
    definition); only where the rows come from differs.
    """

    def validate(
        self, suite: str, batch: str, ge_suite: Any, sql_params: dict[str, Any],
        expectation_params: dict[str, Any], outcomes: list[ExpectationOutcome],
    ) -> tuple[Any, str] | None: ...  # fmt: skip


def validate_suite(
    con: duckdb.DuckDBPyConnection,
    suite: str,
    month: str,
    sql_params: dict[str, Any],
    expectation_params: dict[str, Any] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    prefilter: bool = True,
    batch_source: BatchSource | None = None,
) -> SuiteReport:
    """Validate one suite for one month; never raises on a failed expectation.

    With ``prefilter``, GE sees only the rows that could fail (pipelines/checks/check_filter.py)
    where the batch's expectations allow it; the outcomes are the same either way. With a
    ``batch_source``, the batches it takes are validated on its engine, the rest on DuckDB.
    """
    expectation_params = expectation_params or {}
    prefilter = prefilter and _binary_collation(con)
    outcomes: list[ExpectationOutcome] = []
    ge_results: list[Any] = []
    engines: dict[str, str] = {}
    for batch, sub_suite, expectations in _ge_suites(suite):
        batch_outcomes = [
            ExpectationOutcome(e["type"], batch, dict(e.get("kwargs", {}))) for e in expectations
        ]
        validated = batch_source and batch_source.validate(
            suite, batch, sub_suite, sql_params, expectation_params, batch_outcomes
        )
        if not validated:
            validated = _validate_on_duckdb(
                con, suite, batch, sub_suite, expectations, sql_params, expectation_params,
                batch_outcomes, chunk_rows=chunk_rows, prefilter=prefilter,
            )  # fmt: skip
        first_result, engines[batch] = validated
        ge_results.append(_merged_result(first_result, batch_outcomes))
        if batch == QUARANTINE_RATIO_BATCH and not all(o.success for o in batch_outcomes):
            _explain_quarantine_ratio(con, month, sql_params, batch_outcomes)
        outcomes.extend(batch_outcomes)
    return SuiteReport(suite, month, outcomes, ge_results, engines)


def _validate_on_duckdb(
    con: duckdb.DuckDBPyConnection,
    suite: str,
    batch: str,
    sub_suite: Any,
    expectations: list[dict[str, Any]],
    sql_params: dict[str, Any],
    expectation_params: dict[str, Any],
    outcomes: list[ExpectationOutcome],
    *,
    chunk_rows: int,
    prefilter: bool,
) -> tuple[Any, str]:
    """A batch's query on DuckDB, streamed to GE's pandas engine in chunks; the first
    chunk's result and the engine's name."""
    *setup, sql = statements(batch_sql(suite, batch))
    for statement in setup:  # e.g. SET VARIABLE of a key range the query prunes by
        con.execute(statement, bound_params(statement, sql_params))
    sql = sql.rstrip(";")
    params = bound_params(sql, sql_params)
    types = column_types(con.sql(sql, params=params))
    suspects = suspect_filter(expectations, expectation_params, types) if prefilter else None
    where, where_params = "", {}
    if suspects:
        condition, where_params = suspects
        if set(where_params) & set(params):
            raise ValueError(f"{batch_sql_name(suite, batch)}: parameter names clash")
        total = fetch_value(con, f"SELECT count(*) FROM (\n{sql}\n)", params)
        where = f" WHERE {condition}"
    rows = con.sql(
        f"SELECT {ge_columns_sql(types)} FROM (\n{sql}\n) AS batch{where}",
        params={**params, **where_params},
    )
    reader = rows.to_arrow_reader(batch_size=chunk_rows)
    first = None
    for chunk in _chunks(reader, chunk_rows):
        validated = _validate_chunk(sub_suite, chunk, outcomes, expectation_params)
        first = first or validated
    if first is None:  # an empty batch is still validated (row counts need it)
        empty = reader.schema.empty_table().to_pandas()
        first = _validate_chunk(sub_suite, empty, outcomes, expectation_params)
    if suspects:  # every row left out passed: counted, not validated
        for outcome in outcomes:
            outcome.element_count = total
    return first


def _explain_quarantine_ratio(
    con: duckdb.DuckDBPyConnection,
    month: str,
    sql_params: dict[str, Any],
    outcomes: list[ExpectationOutcome],
) -> None:
    """Give the failed ratio outcomes the counts, limit and reasons behind the boolean."""
    limit = Fraction(sql_params["ratio_num"], sql_params["ratio_den"])
    summary = quarantine_ratio(con, sql_params["dataset"], month, limit)
    for outcome in outcomes:
        if not outcome.success and not outcome.error:
            outcome.explanation = summary.message()
            outcome.details = summary.as_metadata()


def _binary_collation(con: duckdb.DuckDBPyConnection) -> bool:
    """Strings compare byte by byte, as in Python (the filter relies on it)."""
    return fetch_value(con, "SELECT current_setting('default_collation')") in ("", "binary")


@cache
def _ge_suites(suite: str) -> tuple[tuple[str, Any, list[dict[str, Any]]], ...]:
    """The suite file split by batch into GE suites (built once per process: it is slow)."""
    data = load_suite_json(suite)
    groups: dict[str, list[dict[str, Any]]] = {}
    for expectation in data["expectations"]:
        groups.setdefault(batch_of(expectation), []).append(expectation)
    return tuple(
        (batch, _indexed_suite(f"{data['name']}.{batch}", exps), exps)
        for batch, exps in groups.items()
    )


def _indexed_suite(name: str, expectations: list[dict[str, Any]]) -> Any:
    """A GE suite whose expectations carry their position in ``expectations``: GE may
    report results in another order, and the index ties each back to its expectation."""
    import great_expectations as gx

    indexed = [
        {**e, "meta": {**(e.get("meta") or {}), INDEX_KEY: i}} for i, e in enumerate(expectations)
    ]
    return gx.ExpectationSuite(name=name, expectations=indexed)


def validate_frame(
    expectations: list[dict[str, Any]],
    frame: pd.DataFrame,
    expectation_params: dict[str, Any] | None = None,
) -> list[ExpectationOutcome]:
    """GE's verdict on one pandas frame, one outcome per expectation, in their order."""
    outcomes = [
        ExpectationOutcome(e["type"], "frame", dict(e.get("kwargs", {}))) for e in expectations
    ]
    _validate_chunk(_indexed_suite("frame", expectations), frame, outcomes, expectation_params)
    return outcomes


def batch_of(expectation: dict[str, Any]) -> str:
    return (expectation.get("meta") or {}).get("batch", "rows")


def _validate_chunk(
    suite: Any,
    frame: pd.DataFrame,
    outcomes: list[ExpectationOutcome],
    expectation_params: dict[str, Any] | None,
) -> tuple[Any, str]:
    """One pandas chunk on GE's pandas engine, its outcomes added to ``outcomes``."""
    return validate_ge_batch(
        _pandas_batch_definition(), suite, frame, outcomes, expectation_params,
        row_count=lambda: len(frame), head=frame.head,
    )  # fmt: skip


def validate_ge_batch(
    batch_definition: Any,
    suite: Any,
    data: Any,
    outcomes: list[ExpectationOutcome],
    expectation_params: dict[str, Any] | None,
    *,
    row_count: Callable[[], int],
    head: Callable[[int], pd.DataFrame],
) -> tuple[Any, str]:
    """Validate ``data`` (a frame of the batch definition's datasource: pandas, Spark) and
    add each expectation's result to its outcome; the GE result and its execution engine.

    ``row_count`` and ``head`` are asked only when needed: the element count of a
    whole-batch expectation, the first rows as the samples of a failed row count.
    """
    batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
    engine = type(batch.data.execution_engine).__name__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = batch.validate(
            suite, expectation_parameters=expectation_params or {}, result_format=RESULT_FORMAT
        )
    reported = {item.expectation_config.meta[INDEX_KEY] for item in result.results}
    for index, outcome in enumerate(outcomes):
        if index not in reported:  # an expectation GE skipped must not pass silently
            outcome.success = False
            outcome.error = "Great Expectations returned no result for this expectation"
    for item in result.results:
        outcome = outcomes[item.expectation_config.meta[INDEX_KEY]]
        details = item.result or {}
        if item.exception_info and item.exception_info.get("raised_exception"):
            outcome.success = False
            outcome.error = str(item.exception_info.get("exception_message", "")).split("\n")[0]
            continue
        outcome.success = outcome.success and bool(item.success)
        outcome.element_count += int(details.get("element_count") or row_count())
        outcome.unexpected_count += int(details.get("unexpected_count") or 0)
        outcome.missing_count += int(details.get("missing_count") or 0)
        if "observed_value" in details:
            outcome.observed = details["observed_value"]
        room = SAMPLE_SIZE - len(outcome.samples)
        if room > 0:
            outcome.samples.extend(list(details.get("partial_unexpected_list") or [])[:room])
            if not item.success and outcome.expectation in ROW_COUNT_EXPECTATIONS:
                outcome.samples.extend(_row_samples(head(room), room))
    return result, engine


def _row_samples(frame: pd.DataFrame, rows: int) -> list[dict[str, Any]]:
    """The batch's first rows, as plain values: what a failed row count is about (a
    duplicate_keys batch's rows name each colliding key and the months that hold it)."""
    return [
        {column: _jsonable(value) for column, value in row.items()}
        for row in frame.head(rows).to_dict("records")
    ]


def _chunks(reader: pa.RecordBatchReader, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Regroup DuckDB's small record batches into pandas frames of about ``chunk_rows``.

    GE has a fixed cost per validation, so few large chunks beat many small ones; the
    memory held is one chunk.
    """
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    size = 0
    for record_batch in reader:
        pending.append(record_batch)
        size += record_batch.num_rows
        if size >= chunk_rows:
            yield pa.Table.from_batches(pending).to_pandas()
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending).to_pandas()


def _merged_result(result: Any, outcomes: list[ExpectationOutcome]) -> Any:
    """The first chunk's GE result carrying the totals of all chunks (for Data Docs)."""
    for item in result.results:
        outcome = outcomes[item.expectation_config.meta[INDEX_KEY]]
        item.success = outcome.success
        if isinstance(item.result, dict) and "unexpected_count" in item.result:
            item.result["unexpected_count"] = outcome.unexpected_count
            item.result["element_count"] = outcome.element_count
            item.result["partial_unexpected_list"] = outcome.samples
            item.result.update({k: v for k, v in _percentages(outcome).items() if k in item.result})
    result.success = all(o.success for o in outcomes)
    return result


def _percentages(outcome: ExpectationOutcome) -> dict[str, float | int | None]:
    """GE's BASIC percentages, over every row of the batch rather than the first chunk."""
    total, missing = outcome.element_count, outcome.missing_count

    def percent(part: int, whole: int) -> float | None:
        return 100.0 * part / whole if whole else None

    nonmissing = percent(outcome.unexpected_count, total - missing)
    return {
        "missing_count": missing,
        "missing_percent": percent(missing, total),
        "unexpected_percent": nonmissing,  # GE's unexpected_percent is of the non-missing
        "unexpected_percent_total": percent(outcome.unexpected_count, total),
        "unexpected_percent_nonmissing": nonmissing,
    }


def warm_up() -> None:
    """Import GE and build its pandas batch definition ahead of the first check.

    Meant for a background thread of a run (assets.runner), so that the ~3 s of
    pure-Python import (5.5 s before the deferrals below) overlaps the first ingest.
    jsonschema, which GE imports, loads its optional IRI and URI format checkers
    ``rfc3987_syntax`` and ``rfc3986_validator`` when installed (JupyterLab installs
    them); they build a parser grammar and compile regular expressions at import, 2.8 s
    and 0.2 s of the import, for formats no check here uses, so they are not loaded.
    scipy and altair, which GE imports for expectations and renderers no suite here
    uses, load when first used (pipelines.deferred_imports): another 2 s.
    """
    for unused_format_checker in ("rfc3987_syntax", "rfc3986_validator"):
        sys.modules.setdefault(unused_format_checker, None)  # type: ignore[arg-type]
    with deferred(DEFERRED_BY_GE):
        _pandas_batch_definition()


@cache
def _pandas_batch_definition() -> Any:
    """One ephemeral GE context for the process: a pandas dataframe asset, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GE fingerprints every dataframe under this size by hashing all its values, twice
    # per validation; a chunk's fingerprint is never used here, so skip it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("chunks").add_dataframe_asset("chunk")
    return asset.add_batch_definition_whole_dataframe("whole_chunk")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):  # pandas' Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def all_suites() -> list[str]:
    """Every suite file, as 'inputs/<dataset>' or 'outputs/<table>'."""
    return sorted(
        p.relative_to(EXPECTATIONS_DIR).with_suffix("").as_posix()
        for p in EXPECTATIONS_DIR.glob("*/*.json")
    )


def check_sql_files() -> list[Path]:
    return sorted((SQL_DIR / "checks").glob("*.sql"))
