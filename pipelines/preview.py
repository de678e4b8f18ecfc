"""Projected grades (spec §11): a month graded as of one of its days, on a copy.

``grading preview --as-of YYYY-MM-DD`` answers "what would this month's grades be if it
closed tonight?". The month that holds the day is graded with its cutoff moved to the
first instant of the next day: the window of §4 and every "before the cutoff" filter end
there, and credit points add the month's feedback before it to last month's stored
ledger. The month's data is what has landed so far, ingested again.

A preview must never change a published table, an export or the run history, so it is
computed on a copy of the warehouse file, taken while holding the run lock (no run
writes mid-copy), in a temporary folder removed at the end. It runs the month's data
checks on the copy, as a run would, and is blocked by a failed one (PreviewBlocked).
Only its result is written back, by ``pipelines.preview_store``: the ``preview``
schema and ``<outputs>/preview/``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.at_risk import at_risk_merchants
from pipelines.datasets import DATASETS
from pipelines.grading import (
    COMPLIANCE_COLUMNS,
    DISTRIBUTION_COLUMNS,
    EXPOSURE_COLUMNS,
    GRADE_COLUMNS,
    LEDGER_COLUMNS,
    GradingError,
    compute_compliance,
    compute_exposure,
    compute_grades,
    compute_tier_distribution,
    month_credit,
    query,
    window_service_sums,
)
from pipelines.ingest import IngestReport, ingest_month
from pipelines.landing import landing_months, month_gaps
from pipelines.locking import exclusive_run
from pipelines.month_journal import roll_back
from pipelines.month_order import outdated_earlier_month, previous_month_missing
from pipelines.months import GradingWindow, add_months, grading_window, month_key, parse_day
from pipelines.policy import Policy, load_calendar, load_policy
from pipelines.policy_rollback import refuse_redefined_version
from pipelines.preview_checks import input_check_failure, output_check_failure
from pipelines.publication_log import latest_publication
from pipelines.reporting.summary import tier_table
from pipelines.scratch import make_scratch_folder
from pipelines.warehouse import connect, fetch_frame, fetch_value, replace_month

# The temporary folder of a preview's warehouse copy: <prefix><pid>-<random>.
SCRATCH_PREFIX = "grading-preview-"

# The projected tables, as the published ones of spec §8, with the columns staged in work.*
# (the table the month's output checks read) in the order they are graded and checked.
STAGED_COLUMNS = {
    "merchant_grades": GRADE_COLUMNS,
    "merchant_compliance": COMPLIANCE_COLUMNS,
    "exposure_weights": EXPOSURE_COLUMNS,
    "tier_distribution": DISTRIBUTION_COLUMNS,
}


class PreviewError(ValueError):
    """The preview cannot be made as asked; the message says why and what to do."""


class PreviewBlocked(PreviewError):
    """A data check of the month failed: the preview is blocked, as the month would be."""

    def __init__(self, window: GradingWindow, policy_version: str, reason: str) -> None:
        super().__init__(
            f"the preview of {window.month} as of {window.last_day.isoformat()} is blocked: "
            f"{reason}"
        )
        self.window = window
        self.policy_version = policy_version
        self.reason = reason


@dataclass(frozen=True)
class Preview:
    """A month's projected tables, who is at risk, and what they were computed from.

    ``tables``: merchant_grades, exposure_weights, merchant_compliance, tier_distribution
    and quarantine, with the published tables' columns. ``at_risk``: the merchants
    projected below their tier of ``compared_month`` (the latest published month before
    the previewed one; None when there is none, and the list is empty).
    """

    window: GradingWindow
    policy_version: str
    grades: pl.DataFrame
    ingests: tuple[IngestReport, ...]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    at_risk: pl.DataFrame = field(default_factory=pl.DataFrame)
    compared_month: str | None = None
    checks_run: int = 0
    # Datasets with no file for the month yet, each with why: graded as empty so far, which
    # leaves out bad orders or feedback still to come (the run refuses such a month).
    not_landed: tuple[str, ...] = ()
    # The policy the month's latest publication was graded under, and whether by an
    # override, when it is not the preview's: the projection then differs from it.
    published_policy: tuple[str, bool] | None = None

    @property
    def rows_quarantined(self) -> int:
        return sum(report.rows_quarantined for report in self.ingests)


def preview_month(
    landing: Path,
    warehouse: Path,
    as_of_text: str,
    policy_path: Path | None = None,
    wait_seconds: float = 0.0,
    policy_override: Path | None = None,
) -> Preview:
    """Grade the month holding ``as_of_text`` (YYYY-MM-DD) as of that day, on a copy.

    Under the calendar's policy for the month, or ``policy_override`` (one policy file,
    as ``grading run --policy-override``: a month restated under an override is then
    projected as it was published). The calendar is checked either way, as a run does.

    Raises PreviewError for a bad date or a month with nothing landed, PreviewBlocked
    when a data check fails, GradingError when the month before is not graded,
    IngestError for an unreadable file, PolicyError and WarehouseBusy as a run would.
    """
    as_of = parse_as_of(as_of_text)
    month = month_key(as_of)
    calendar = load_calendar(policy_path)
    policy = load_policy(policy_override) if policy_override else calendar.policy_for(month)
    not_landed = _require_snapshot(Path(landing), month)
    # Named for this process: a preview killed before it deletes its copy leaves it for
    # the next one to delete (pipelines/scratch.py), not for good.
    scratch = make_scratch_folder(SCRATCH_PREFIX)
    try:
        copy = scratch / "warehouse.duckdb"
        _copy_warehouse(Path(warehouse), copy, wait_seconds)
        con = connect(copy)
        try:
            return _project(con, Path(landing), as_of, policy, not_landed)
        finally:
            con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def parse_as_of(text: str) -> date:
    """``--as-of`` (or the asset's ``as_of``) as a day; refused unless YYYY-MM-DD."""
    try:
        return parse_day(text)
    except ValueError as exc:
        raise PreviewError(f"--as-of: {exc}") from None


def _require_snapshot(landing: Path, month: str) -> tuple[str, ...]:
    """Refuse a month with nothing landed, or without its merchants snapshot (the graded
    merchants are unknown until it lands); else each dataset not landed yet, with why.
    Only the folder listing is read."""
    gaps = month_gaps(landing, month)
    if len(gaps) == len(DATASETS):
        raise PreviewError(
            f"nothing has landed for {month} in {landing}: no dataset has files under "
            f"<dataset>/month={month}/"
        )
    if "merchants" in gaps:
        raise PreviewError(
            f"{gaps['merchants']}: {month} cannot be previewed before its merchants "
            f"snapshot lands (it says which merchants are graded)"
        )
    return tuple(gaps.values())


def _copy_warehouse(warehouse: Path, copy: Path, wait_seconds: float) -> None:
    """Copy the warehouse file (and its write-ahead log, if any) while holding the run lock.

    A missing warehouse is not created (nor its lock): the copy then starts empty.
    """
    if not warehouse.exists():
        return
    with exclusive_run(warehouse, wait_seconds):
        shutil.copyfile(warehouse, copy)
        wal = warehouse.with_name(warehouse.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))


def _project(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    as_of: date,
    policy: Policy,
    not_landed: tuple[str, ...],
) -> Preview:
    """On the copy: ingest the month as landed and check each dataset, roll credit to the
    as-of cutoff, grade, stage and check each table as the month's run does."""
    window = grading_window(month_key(as_of), policy.window_days, as_of)
    # A killed run leaves its month open in the journal, with its unpublished rows in
    # raw.* and work.*: put back what was published, as the next run would, so the
    # projection builds on published months only.
    roll_back(con)
    _require_previous_month(con, landing, window.month)
    # As a run refuses it: a version that graded months under other rules (a file edited
    # in place, or an override file reusing a version) would project under rules no
    # published row names, and the note below would not see it.
    refuse_redefined_version(con, policy)
    ingests = []
    for dataset in DATASETS:  # a failed check stops the datasets after it, as in the job
        ingests.append(ingest_month(con, landing, dataset, window.month))
        _blocked_by(input_check_failure(con, window, policy, dataset.name), window, policy)
    ledger, _ = month_credit(con, window, policy)
    replace_month(con, "work.credit_ledger", window.month, ledger, LEDGER_COLUMNS)
    tables = _graded_tables(con, window, policy, as_of)
    for table in STAGED_COLUMNS:
        _blocked_by(output_check_failure(con, window, policy, table), window, policy)
    tables["quarantine"] = _quarantine(con, window.month, policy)
    compared_month, at_risk = _at_risk(con, window, policy, tables["merchant_grades"])
    return Preview(
        window,
        policy.version,
        tables["merchant_grades"],
        tuple(ingests),
        tables,
        at_risk,
        compared_month,
        checks_run=len(DATASETS) + len(STAGED_COLUMNS),
        not_landed=not_landed,
        published_policy=_published_under_another_policy(con, window.month, policy),
    )


def _published_under_another_policy(
    con: duckdb.DuckDBPyConnection, month: str, policy: Policy
) -> tuple[str, bool] | None:
    """The policy version of ``month``'s latest publication, and whether it was an
    override (a restatement), when it is not ``policy``'s; else None. A month restated
    under an override and previewed under the calendar is projected under another policy
    than its published grades (found by an audit, 2026-12-05): the preview says so."""
    latest = latest_publication(con, month)
    if latest is None or latest.policy_version in (None, policy.version):
        return None  # unpublished, published before versions were logged, or the same
    return latest.policy_version, latest.policy_override


def _blocked_by(failure: str | None, window: GradingWindow, policy: Policy) -> None:
    if failure:
        raise PreviewBlocked(window, policy.version, failure)


def _graded_tables(
    con: duckdb.DuckDBPyConnection, window: GradingWindow, policy: Policy, as_of: date
) -> dict[str, pl.DataFrame]:
    """The four graded tables of the month as of the day, staged in the copy's work.*
    (where the output checks read them), as the month's grading assets stage them."""
    month = window.month
    grades = compute_grades(con, month, policy, as_of)
    violations = compute_compliance(con, month, policy)
    tables = {
        "merchant_grades": grades,
        "merchant_compliance": violations,
        "exposure_weights": compute_exposure(con, month, policy, grades, violations),
        "tier_distribution": compute_tier_distribution(con, month, policy, grades),
    }
    for table, columns in STAGED_COLUMNS.items():
        replace_month(con, f"work.{table}", month, tables[table], columns)
    return tables


def _quarantine(con: duckdb.DuckDBPyConnection, month: str, policy: Policy) -> pl.DataFrame:
    """The month's quarantined rows as main.quarantine would hold them once published."""
    return fetch_frame(
        con,
        "SELECT dataset, month, source_file, reason, record, $policy_version AS policy_version "
        "FROM raw.quarantine WHERE month = $month ORDER BY dataset, source_file, reason, record",
        {"month": month, "policy_version": policy.version},
    )


def _at_risk(
    con: duckdb.DuckDBPyConnection, window: GradingWindow, policy: Policy, grades: pl.DataFrame
) -> tuple[str | None, pl.DataFrame]:
    """The latest published month before the previewed one, and who is projected below
    their tier of it (pipelines.at_risk, on the projection's window counts). Published is
    what main.run_log records: a month published with no active merchant has no grade row,
    and comparing with the month before it listed merchants with no current tier as at
    risk (a review, 2026-12-06)."""
    compared = fetch_value(
        con, "SELECT max(month) FROM main.run_log WHERE month < $month", {"month": window.month}
    )
    published = fetch_frame(
        con,
        "SELECT merchant_id, month, tier FROM main.merchant_grades WHERE month = $month",
        {"month": compared or ""},
    )
    service = window_service_sums(con, window.sql_params)
    categories = query(con, "grading/graded_merchants.sql", month=window.month)
    projected = (
        grades.lazy()
        .join(categories.lazy(), on="merchant_id", how="left")
        .join(service.lazy(), on="merchant_id", how="left")
        .with_columns(
            pl.col(c).fill_null(0).cast(pl.Int64) for c in service.columns if c != "merchant_id"
        )
        .with_columns(
            (pl.col("positive_feedback") + pl.col("negative_feedback")).alias("rated_feedback")
        )
    )
    return compared, at_risk_merchants(projected, published.lazy(), policy).collect()


def _require_previous_month(con: duckdb.DuckDBPyConnection, landing: Path, month: str) -> None:
    """Refuse when the month before is not published while an earlier month is landed,
    ingested or published: the rule a run follows (``previous_month_missing``).

    Credit and the window's earlier days come from the warehouse: without the month
    before, the projection would silently miss them. Published, not merely graded: the
    rows a killed run left are rolled back first (_project), and a month without
    feedback has no ledger rows at all. (Earlier feedback ingested without a ledger is
    refused by month_credit, with the message a run gives.)
    """
    landed = landing_months(landing)
    previous = add_months(month, -1)
    if previous_month_missing(con, month, landed[0] if landed else None):
        raise GradingError(
            f"{previous} is not graded in the warehouse while earlier months are landed "
            f"or graded: grade through {previous} (grading run --through {previous}) "
            f"before previewing {month}"
        )
    # Nor on a month before it that was corrected in the landing since it was graded, or
    # is stale: the projection would build on an outdated past, as a run would not.
    outdated = outdated_earlier_month(con, landing, month)
    if outdated:
        raise GradingError(
            f"{outdated[1]}, and {month} builds on it: grade through {previous} "
            f"(grading run --through {previous}) before previewing {month}"
        )


def output_format(out: Path) -> str:
    """'.parquet' or '.csv', from ``--out``'s suffix; checked before any work is done."""
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise PreviewError(f"--out {out}: expected a .parquet or .csv file name")
    return suffix


def write_grades(grades: pl.DataFrame, out: Path) -> None:
    """Write projected merchant_grades as Parquet or CSV, by the file's suffix.

    CSV cannot hold a list, so there ``reasons`` is one text field, joined with '; '.
    """
    suffix = output_format(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = grades.select(GRADE_COLUMNS)
    if suffix == ".parquet":
        frame.write_parquet(out)
    else:
        frame.with_columns(pl.col("reasons").list.join("; ")).write_csv(out)


def preview_text(preview: Preview) -> str:
    """The projection's header line and its tier distribution, as ``grading summary`` shows."""
    window = preview.window
    header = (
        f"projected: {window.month} as of {window.last_day.isoformat()} "
        f"(records before {window.cutoff:%Y-%m-%d %H:%M} UTC; window "
        f"{window.window_start:%Y-%m-%d}..{window.last_day.isoformat()}; policy "
        f"{preview.policy_version}); {preview.checks_run} data checks passed, "
        f"{preview.rows_quarantined} rows quarantined; nothing was published"
    )
    grades = preview.grades.lazy()
    counts = grades.group_by("month", "tier").agg(pl.len().alias("merchants")).collect()
    provisional = grades.select(pl.col("provisional").sum()).collect().item()
    table = tier_table(counts, {window.month: provisional or 0})
    compared = preview.compared_month
    at_risk = (
        f"at risk: {preview.at_risk.height} merchants projected below their {compared} tier"
        if compared
        else "at risk: no published month before it to compare with"
    )
    lines = [header, table, at_risk]
    if preview.not_landed:
        lines.append(
            "not landed yet, counted as empty: "
            + "; ".join(preview.not_landed)
            + " (their records may still change these grades)"
        )
    note = published_policy_note(preview)
    if note:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def published_policy_note(preview: Preview) -> str | None:
    """When the month was published under another policy than the preview's: which, and
    how to project it as published (the CLI prints it, the at_risk asset shows it)."""
    if not preview.published_policy:
        return None
    version, override = preview.published_policy
    how = (
        " by --policy-override (a restatement): preview with --policy-override and that "
        "policy's file to project it as published"
        if override
        else ""
    )
    return (
        f"{preview.window.month} was published under policy {version}{how}; this "
        f"projection is under {preview.policy_version}"
    )
