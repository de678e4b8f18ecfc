"""The publication deadline: month M is published before the 3rd of M+1 begins (UTC).

Marketplaces publish the monthly grades before sellers' benefits switch over (spec: "published
before the 3rd"); the schedule grades at 02:00 UTC on the 2nd, which leaves the day for a
failed month to be fixed and graded again. A missed month shows in the
Dagster UI as the failed check ``published_month.published_by_deadline``, which a daily
schedule evaluates against the warehouse's ``main.run_log`` (a month that never ran leaves
no materialization behind to hang a warning on, so the warehouse is what is asked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from assets.partitions import monthly_partitions
from assets.resources import WarehouseResource
from pipelines.months import add_months, month_key, month_range, parse_month
from pipelines.warehouse import connect, fetch_rows

CHECK_NAME = "published_by_deadline"
DUE_BEFORE_DAY = 3  # month M is due before this day of M+1 begins, UTC


def publication_deadline(month: str) -> datetime:
    """The instant month ``month`` is overdue: the start of the 3rd of the next month, UTC."""
    next_month = parse_month(add_months(month, 1))
    start = datetime.combine(next_month, datetime.min.time(), UTC)
    return start + timedelta(days=DUE_BEFORE_DAY - 1)


def last_due_month(now: datetime) -> str:
    """The latest month whose deadline has passed at ``now``."""
    this_month = month_key(now.astimezone(UTC).date())
    previous = add_months(this_month, -1)
    return previous if now >= publication_deadline(previous) else add_months(this_month, -2)


@dataclass(frozen=True)
class DeadlineReport:
    """The months due by ``now``: which are still unpublished, which came late."""

    now: datetime
    due_through: str | None
    overdue: list[str]
    late: dict[str, datetime]

    @property
    def passed(self) -> bool:
        return not self.overdue

    def summary(self) -> str:
        if self.overdue:
            first = self.overdue[0]
            return (
                f"{len(self.overdue)} month(s) not published by their deadline: "
                f"{', '.join(self.overdue)} ({first} was due by "
                f"{publication_deadline(first) - timedelta(days=1):%Y-%m-%d}, end of day UTC)"
            )
        if self.due_through is None:
            return "no month is due yet"
        return f"every month through {self.due_through} was published"


def deadline_report(
    first: str, first_published: dict[str, datetime], now: datetime
) -> DeadlineReport:
    """Compare the months from ``first`` whose deadline has passed at ``now`` with their
    first publication (``first_published``: month -> earliest published_at, UTC)."""
    due_through = last_due_month(now)
    if due_through < first:
        return DeadlineReport(now, None, [], {})
    due = month_range(first, due_through)
    overdue = [m for m in due if m not in first_published]
    late = {
        m: first_published[m]
        for m in due
        if m in first_published and first_published[m] >= publication_deadline(m)
    }
    return DeadlineReport(now, due_through, overdue, late)


def first_publications(warehouse: WarehouseResource) -> dict[str, datetime]:
    """Each published month's first publication time, from main.run_log (read-only);
    none when the warehouse file does not exist yet."""
    if not Path(warehouse.path).is_file():
        return {}
    con = connect(warehouse.path, read_only=True)
    try:
        rows = fetch_rows(con, "SELECT month, min(published_at) FROM main.run_log GROUP BY month")
    finally:
        con.close()
    return {month: _utc(at) for month, at in rows}


def _utc(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def deadline_check_result(report: DeadlineReport) -> dg.AssetCheckResult:
    """The check result the UI shows: failed (ERROR) while a due month is unpublished."""
    return dg.AssetCheckResult(
        check_name=CHECK_NAME,
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=report.summary(),
        metadata={
            "checked_at": report.now.isoformat(timespec="seconds"),
            "due_through": report.due_through or "",
            "overdue_months": dg.MetadataValue.json(report.overdue),
            "published_late": dg.MetadataValue.json(
                {m: at.isoformat(timespec="seconds") for m, at in report.late.items()}
            ),
        },
    )


@dg.asset_check(
    asset="published_month",
    name=CHECK_NAME,
    blocking=False,
    description="Every month is published before the 3rd of the next month (UTC); "
    "fails while a month past its deadline is unpublished.",
)
def published_by_deadline(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    report = deadline_report(
        monthly_partitions.get_first_partition_key(),
        first_publications(warehouse),
        datetime.now(UTC),
    )
    return deadline_check_result(report)


deadline_job = dg.define_asset_job(
    "check_publication_deadline",
    selection=dg.AssetSelection.checks(published_by_deadline),
    description="Whether every month due by now is published (check published_by_deadline).",
)

# Daily, so a month turns red the morning after its deadline and green once published.
deadline_schedule = dg.ScheduleDefinition(
    name="publication_deadline_schedule",
    cron_schedule="5 0 * * *",
    execution_timezone="UTC",
    job=deadline_job,
    description="Checks daily that every month due by now is published.",
)
