"""Projected grades (spec §11): a month graded as of one of its days, on a copy.

``grading preview --as-of YYYY-MM-DD`` answers "what would this month's grades be if it
closed tonight?". The month that holds the day is graded with its cutoff moved to the
first instant of the next day: the window of §4 and every "before the cutoff" filter end
there, and credit points add the month's feedback before it to last month's stored
ledger. The month's data is what has landed so far, ingested again.

A preview must never change a published table, an export or the run history, so it
works on a copy of the warehouse file, taken while holding the run lock (no run writes
mid-copy), in a temporary folder removed at the end. The real file is only read. The
quarantine-ratio data checks are not run: a projection of a month still landing is
"projected, unchecked". A file that cannot be read still stops it with the ingest error.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.datasets import DATASETS
from pipelines.grading import (
    GRADE_COLUMNS,
    LEDGER_COLUMNS,
    GradingError,
    compute_grades,
    month_credit,
)
from pipelines.ingest import IngestReport, ingest_month
from pipelines.landing import landing_months, month_gaps
from pipelines.locking import exclusive_run
from pipelines.months import GradingWindow, add_months, grading_window, month_key, parse_day
from pipelines.policy import Policy, load_calendar
from pipelines.reporting.summary import tier_table
from pipelines.warehouse import connect, fetch_value, replace_month


class PreviewError(ValueError):
    """The preview cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Preview:
    """A month's projected merchant_grades, and what they were computed from."""

    window: GradingWindow
    policy_version: str
    grades: pl.DataFrame
    ingests: tuple[IngestReport, ...]

    @property
    def rows_quarantined(self) -> int:
        return sum(report.rows_quarantined for report in self.ingests)


def preview_month(
    landing: Path,
    warehouse: Path,
    as_of_text: str,
    policy_path: Path | None = None,
    wait_seconds: float = 0.0,
) -> Preview:
    """Grade the month holding ``as_of_text`` (YYYY-MM-DD) as of that day, on a copy.

    Raises PreviewError for a bad date or a month with nothing landed, GradingError when
    the month before is not graded, IngestError for an unreadable file, PolicyError and
    WarehouseBusy as a run would.
    """
    as_of = _parse_as_of(as_of_text)
    month = month_key(as_of)
    policy = load_calendar(policy_path).policy_for(month)
    _require_snapshot(Path(landing), month)
    with tempfile.TemporaryDirectory(prefix="grading-preview-") as scratch:
        copy = Path(scratch) / "warehouse.duckdb"
        _copy_warehouse(Path(warehouse), copy, wait_seconds)
        con = connect(copy)
        try:
            return _project(con, Path(landing), as_of, policy)
        finally:
            con.close()


def _parse_as_of(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise PreviewError(f"--as-of: {exc}") from None


def _require_snapshot(landing: Path, month: str) -> None:
    """Refuse a month with nothing landed, or without its merchants snapshot (the graded
    merchants are unknown until it lands). Only the folder listing is read."""
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


def _project(con: duckdb.DuckDBPyConnection, landing: Path, as_of: date, policy: Policy) -> Preview:
    """On the copy: ingest the month as landed, roll credit to the as-of cutoff, grade."""
    window = grading_window(month_key(as_of), policy.window_days, as_of)
    _require_previous_month(con, landing, window.month)
    ingests = tuple(ingest_month(con, landing, dataset, window.month) for dataset in DATASETS)
    ledger, _ = month_credit(con, window, policy)
    replace_month(con, "work.credit_ledger", window.month, ledger, LEDGER_COLUMNS)
    grades = compute_grades(con, window.month, policy, as_of)
    return Preview(window, policy.version, grades, ingests)


def _require_previous_month(con: duckdb.DuckDBPyConnection, landing: Path, month: str) -> None:
    """Refuse when the landing holds earlier months but the month before is not graded.

    Credit and the window's earlier days come from the warehouse: without the month
    before, the projection would silently miss them. (Earlier feedback ingested without
    a ledger is refused by month_credit, with the message a run gives.)
    """
    previous = add_months(month, -1)
    graded = fetch_value(
        con, "SELECT count(*) FROM work.credit_ledger WHERE month = $month", {"month": previous}
    )
    earlier = [m for m in landing_months(landing) if m < month]
    if earlier and not graded:
        raise GradingError(
            f"{previous} is not graded in the warehouse while the landing holds months "
            f"from {earlier[0]}: grade through {previous} (grading run --through {previous}) "
            f"before previewing {month}"
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
        f"projected, unchecked: {window.month} as of {window.last_day.isoformat()} "
        f"(records before {window.cutoff:%Y-%m-%d %H:%M} UTC; window "
        f"{window.window_start:%Y-%m-%d}..{window.last_day.isoformat()}; policy "
        f"{preview.policy_version}); no data checks run, {preview.rows_quarantined} rows "
        f"quarantined; nothing was published"
    )
    grades = preview.grades.lazy()
    counts = grades.group_by("month", "tier").agg(pl.len().alias("merchants")).collect()
    provisional = grades.select(pl.col("provisional").sum()).collect().item()
    return header + "\n" + tier_table(counts, {window.month: provisional or 0})
