"""Grade a range of months through the Dagster definitions, in order, in-process.

This is what ``grading run`` does: the same job the monthly schedule launches, one
partition per month, stopping at the first month that cannot be published.
"""

from __future__ import annotations

import re
import shutil
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
from dagster._core.definitions.data_version import (
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
)

from assets.instance import (
    FULL_DISK_BYTES,
    dagster_home,
    refuse_unusable_home,
    run_instance,
    storage_error_text,
    storage_failures_recorded,
)
from assets.partitions import monthly_partitions
from assets.stop_signals import watch_stop_signals
from pipelines import month_journal
from pipelines.error_text import first_line
from pipelines.exports import (
    clear_export_leftovers,
    clear_unpublished_months,
    published_months,
)
from pipelines.landing import IncompleteMonth, landing_months, require_complete_month
from pipelines.locking import exclusive_run
from pipelines.months import month_range, parse_month
from pipelines.outputs_claim import check_claim, claim_outputs, warehouse_id
from pipelines.policy import Policy, PolicyCalendar, load_calendar, load_policy
from pipelines.policy_rollback import (
    PolicyRollback,
    policy_rollback,
    refuse_calendar_behind_previous,
    refuse_past_due_for_newer_policy,
    refuse_policy_rollback,
    refuse_redefined_version,
)
from pipelines.publication_log import latest_publication, was_published_with
from pipelines.run_key import (
    landing_digests,
    months_regraded,
    record_landing_seen,
    unchanged_since,
)
from pipelines.warehouse import (
    check_memory_limit,
    connect,
    fetch_value,
    out_of_memory_hint,
    refuse_unusable_path,
)

if TYPE_CHECKING:  # the type of a failed step's error, for annotations only
    from dagster._utils.error import SerializableErrorInfo

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class RunFailed(RuntimeError):
    """A month could not be published; the message names the month and the reason."""

    def __init__(self, month: str, reason: str, published: bool = False) -> None:
        super().__init__(f"{month}: {reason}")
        self.month = month
        self.reason = reason
        self.published = published


class RunStopped(RunFailed):
    """A stop signal came while a month ran and was not acted on there: the run stops
    before ``month``, the next one (assets/stop_signals.py)."""


class ExportsNotWritten(RunFailed):
    """The month was published in the warehouse; only writing its Parquet exports failed.

    The month's exports have no record in main.export_log, so the next run does not
    take the month as unchanged: it publishes it again and rewrites the exports.
    """

    def __init__(self, month: str, reason: str) -> None:
        super().__init__(month, reason, published=True)


@dataclass
class MonthResult:
    month: str
    metadata: dict[str, dict[str, object]] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)
    # When the month was skipped: the time of the publication it is unchanged since.
    unchanged_since: str | None = None
    # Events Dagster's run storage could not record, though the run went on (a step's
    # log message): one line each, saying what it was and why.
    unrecorded_events: list[str] = field(default_factory=list)

    def value(self, asset: str, key: str, default: object = 0) -> object:
        return self.metadata.get(asset, {}).get(key, default)


def months_to_grade(landing: Path, through: str, first: str | None = None) -> list[str]:
    """From the landing folder's first month (or ``first``) through ``through``."""
    parse_month(through)
    months = landing_months(landing)
    start = months[0] if first is None else first
    parse_month(start)
    if through < months[0]:
        raise ValueError(
            f"--through {through} is before the landing folder's first month {months[0]}"
        )
    if start > through:
        raise ValueError(f"--from {start} is after --through {through}")
    wanted = month_range(start, through)
    known = set(monthly_partitions.get_partition_keys())
    outside = [m for m in wanted if m not in known]
    if outside:
        raise ValueError(outside_partitions_message(outside))
    return wanted


def outside_partitions_message(outside: list[str]) -> str:
    """Why months are not gradeable, and the way on: a month not ended yet has more data
    to come before its cutoff (spec §2), so it is projected, not graded; a month before
    the configured first partition needs an earlier one."""
    first = monthly_partitions.get_first_partition_key()
    last = monthly_partitions.get_last_partition_key()
    span = f"months {outside[0]}..{outside[-1]} are" if len(outside) > 1 else f"{outside[0]} is"
    why = []
    if outside[-1] > last:
        why.append(
            "a month is graded once it has ended (its cutoff is the first instant of the "
            "next month, and rows before it may still land); project a running month with "
            "grading preview --as-of YYYY-MM-DD"
        )
    if outside[0] < first:
        why.append(f"set GRADING_FIRST_MONTH to grade months before {first}")
    return f"{span} outside the gradeable months {first}..{last}: " + "; ".join(why)


def grade_months(
    landing: Path,
    warehouse: Path,
    outputs: Path,
    through: str,
    policy_file: Path | None = None,
    on_month: Callable[[int, int, str], None] | None = None,
    on_done: Callable[[MonthResult], None] | None = None,
    wait_seconds: float = 0.0,
    first: str | None = None,
    force: bool = False,
    policy_override: Path | None = None,
    engine: str = "duckdb",
    spark_master: str = "",
    lake: str = "",
    dashboard: bool = True,
) -> list[MonthResult]:
    """Grade every month from the landing folder's first (or ``first``) through ``through``.

    Starting later than the landing's first month needs the month before already graded
    in the warehouse (its credit ledger); otherwise the month fails with that reason.

    A month already published from the same landing files, policy and earlier months
    (its run key, pipelines/run_key.py) is skipped unless ``force``: its tables would
    come out the same.

    ``policy_file`` is a policy folder (a calendar) or one policy file; each month is
    graded under the policy in force for it (the shipped calendar when None).
    ``policy_override`` grades every month of the run under that one policy instead, an
    explicit restatement that main.run_log records as one.
    ``engine``: "spark" runs the row-level work on the cluster at ``spark_master`` and
    keeps raw rows under ``lake`` (docs/decisions/spark.md); the tables are the same.
    A month whose merchants, orders or feedback folder is missing or empty stops the run
    before its job starts (pipelines.landing.require_complete_month): months before it
    stay published, nothing of it is written.

    The dashboard shows the last 12 published months, so it is built once, with the run's last
    month (``dashboard=False``: not at all), not again for each month graded. A month
    after a regraded one is regraded too (its run key chains the earlier month's), so the
    last month is graded whenever any month is.

    Holds the warehouse's run lock throughout: a second run waits up to ``wait_seconds``
    and then stops with WarehouseBusy, before touching anything.
    """
    from assets.definitions import build_definitions

    months = months_to_grade(landing, through, first)
    refuse_unusable_path(warehouse)  # before its Dagster home beside it is judged
    check_memory_limit()  # before a run is recorded, or a new warehouse made
    refuse_unusable_home(dagster_home(warehouse))
    # A broken policy, or a month no policy is in force for, is refused before anything
    # runs: the calendar's files too under --policy-override, which does not use them.
    checked = load_calendar(policy_file)
    calendar = None if policy_override else checked
    policies = month_policies(months, calendar, policy_override)
    defs = build_definitions(
        str(landing),
        str(warehouse),
        str(outputs),
        str(policy_file) if policy_file else "",
        str(policy_override) if policy_override else "",
        engine=engine,
        spark_master=spark_master,
        lake=lake,
    )
    job = defs.resolve_job_def("grade_month")
    without_dashboard = job_without(job, DASHBOARD)
    results = []
    # Runs are recorded in the instance `make ui` reads (assets/instance.py).
    with (
        exclusive_run(warehouse, wait_seconds),
        run_instance(warehouse) as instance,
        watch_stop_signals() as stop_requested,
    ):
        _start_run(warehouse, outputs, landing, RunPlan(months, policies, calendar, force))
        try:
            for index, month in enumerate(months, start=1):
                if index > 1:
                    _stop_if_asked(stop_requested(), months[index - 2], month, months[-1])
                if on_month:
                    on_month(index, len(months), month)
                try:  # before the month's job: an incomplete month writes nothing
                    require_complete_month(landing, month)
                except IncompleteMonth as exc:
                    raise RunFailed(month, str(exc)) from exc
                since = (
                    None
                    if force
                    else _unchanged_since(
                        warehouse,
                        landing,
                        outputs,
                        month,
                        policies[month],
                        bool(policy_override),
                        instance,
                    )
                )
                if since:
                    month_result = MonthResult(month, unchanged_since=since)
                    results.append(month_result)
                    if on_done:
                        on_done(month_result)
                    continue
                if not any(r.unchanged_since is None for r in results):  # the run's first
                    _refuse_a_gap_before(warehouse, landing, month)
                _start_background_imports()
                # A month regraded is not moved off its policy but forward (refused here).
                published_before = _latest_publication(warehouse, month, calendar)
                month_job = job if dashboard and month == months[-1] else without_dashboard
                try:
                    with storage_failures_recorded(instance) as storage_failures:
                        result = month_job.execute_in_process(
                            partition_key=month,
                            instance=instance,
                            run_config=QUIET_LOGS,
                            raise_on_error=False,
                        )
                except Exception as exc:  # Dagster's own run storage failed, not a step
                    reason = _instance_failure(instance, exc) + _roll_back_after_failure(warehouse)
                    published = _published_since(warehouse, month, published_before)
                    raise RunFailed(month, reason, published) from exc
                reason = failure_reason(result, warehouse)
                refused = [f.error for f in storage_failures if f.run_event]
                if reason and refused and not stop_requested():
                    # a step fails with the error of the storage that refused its event
                    reason = _instance_failure(instance, refused[0])
                if reason:
                    rolled_back = _roll_back_after_failure(warehouse)
                    exports = exports_failure(result)
                    if exports:
                        raise ExportsNotWritten(month, exports + rolled_back)
                    reason += rolled_back
                    published = any(
                        e.event_type == dg.DagsterEventType.STEP_SUCCESS
                        and e.step_key == "published_month"
                        for e in result.all_events
                    ) or _published_since(warehouse, month, published_before)
                    raise RunFailed(month, reason, published)
                month_result = MonthResult(
                    month,
                    materialization_metadata(result),
                    step_seconds(result),
                    unrecorded_events=[
                        f"{'an event of the run' if f.run_event else 'a log message'} was not "
                        f"recorded in the Dagster instance: {first_line(f.error)}"
                        for f in storage_failures
                    ],
                )
                results.append(month_result)
                if on_done:
                    on_done(month_result)
        except RunFailed as failed:
            if dashboard and (failed.published or any(not r.unchanged_since for r in results)):
                _dashboard_after_failure(
                    warehouse, outputs, failed, lambda m: policies.get(m) or checked.policy_for(m)
                )
            raise
        if dashboard and all(r.unchanged_since for r in results):
            _rebuild_dashboard_if_behind(
                warehouse, outputs, lambda m: policies.get(m) or checked.policy_for(m)
            )
        if all(r.unchanged_since for r in results):
            _render_missing_data_docs(outputs)
    return results


DASHBOARD = dg.AssetKey("dashboard")


def _stop_if_asked(signal_name: str | None, done: str, next_month: str, last: str) -> None:
    """Stop before ``next_month`` when a stop signal came while ``done`` ran."""
    if signal_name:
        rest = next_month if next_month == last else f"{next_month}..{last}"
        raise RunStopped(
            next_month,
            f"the run was stopped by {signal_name} while {done} ran; {done} finished, and "
            f"{rest} {'was' if next_month == last else 'were'} not graded: run again to go on",
        )


class DashboardNotRebuilt(RuntimeError):
    """Every month of the run was unchanged, but the dashboard was behind the warehouse
    and could not be rebuilt: the run published nothing, and the page is not current."""


def _rebuild_dashboard_if_behind(
    warehouse: Path, outputs: Path, policy_for: Callable[[str], Policy]
) -> None:
    """When a run grades no month, rebuild the dashboard only if it is not built from the
    warehouse as it is: a run stopped between a month's publication and its dashboard
    step left the page on the month's earlier grades, and every later unchanged run kept
    it (a review, 2026-12-06)."""
    from pipelines.reporting.dashboard import dashboard_is_current, write_dashboard

    folder = outputs / "dashboard"
    try:
        if not dashboard_is_current(warehouse, folder):
            write_dashboard(warehouse, folder, policy_for=policy_for)
    except Exception as exc:
        raise DashboardNotRebuilt(
            f"every month was unchanged, but the dashboard in {folder} is behind the "
            f"warehouse and could not be rebuilt: {first_line(exc)}"
        ) from exc


class DataDocsNotRendered(RuntimeError):
    """Every month of the run was unchanged, but Data Docs pages were missing and could
    not be rendered: the run published nothing, and the site is not whole."""


def _render_missing_data_docs(outputs: Path) -> None:
    """When a run grades no month, render the Data Docs pages a build cut short (a full
    disk) or a month failed before its build left missing: the site renders missing
    pages only when it is built, and an unchanged month builds nothing (a review,
    2026-12-07). Reads the folders first; GE is imported only when a page is missing."""
    from pipelines.checks.data_docs import data_docs_index, render_missing_pages

    try:
        render_missing_pages(outputs)
    except Exception as exc:
        raise DataDocsNotRendered(
            f"every month was unchanged, but Data Docs pages missing under "
            f"{data_docs_index(outputs).parent} could not be rendered: "
            f"{first_line(exc)}"
        ) from exc


def _dashboard_after_failure(
    warehouse: Path, outputs: Path, failed: RunFailed, policy_for: Callable[[str], Policy]
) -> None:
    """Rebuild the dashboard when a run published months and then failed: it is built
    with the run's last month, which did not come, and went on showing what the run had
    restated, or was not written at all on a new warehouse (found by an audit,
    2026-12-05). When that fails too, the run's error says so."""
    from pipelines.reporting.dashboard import write_dashboard

    try:
        write_dashboard(warehouse, outputs / "dashboard", policy_for=policy_for)
    except Exception as exc:
        failed.reason += f" (the dashboard was not rebuilt: {first_line(exc)})"
        failed.args = (f"{failed.month}: {failed.reason}",)


def job_without(job: dg.JobDefinition, asset: dg.AssetKey) -> dg.JobDefinition:
    """The job less one asset (its checks stay with their assets)."""
    graph = job.asset_layer.asset_graph
    return job.get_subset(
        asset_selection=set(graph.executable_asset_keys) - {asset},
        asset_check_selection=set(graph.asset_check_keys),
    )


def _start_background_imports() -> None:
    """Import GE (several seconds of pure Python) in the background, once per process,
    then plotly's dashboard classes.

    They then overlap the first ingests, which run in DuckDB without holding the GIL,
    instead of delaying the first data check and the dashboard. Not started for runs
    that skip every month.
    """
    if "great_expectations" not in sys.modules and not _BACKGROUND_IMPORTS.is_set():
        _BACKGROUND_IMPORTS.set()
        threading.Thread(target=_warm_up, daemon=True).start()


def _warm_up() -> None:
    from pipelines.checks import validation
    from pipelines.reporting import dashboard_figures

    validation.warm_up()
    dashboard_figures.warm_up()


_BACKGROUND_IMPORTS = threading.Event()


def _roll_back_unpublished(warehouse: Path) -> list[str]:
    """Put every month a run wrote but did not publish back as it was (the failed step
    normally has; a killed process has not)."""
    if not Path(warehouse).is_file():
        return []
    with closing(connect(warehouse)) as con:
        return month_journal.roll_back(con)


@dataclass(frozen=True)
class RunPlan:
    """What a run is asked to grade, for the checks made before its first month."""

    months: list[str]
    policies: dict[str, Policy]
    calendar: PolicyCalendar | None  # None under --policy-override
    force: bool = False


def _start_run(warehouse: Path, outputs: Path, landing: Path, plan: RunPlan) -> None:
    """Before any month, on one connection to the warehouse (each open and close costs
    tens of milliseconds):

    - refuse ``outputs`` when it holds the exports of another warehouse that still exists
      (pipelines/outputs_claim.py), before anything is touched: its months would be
      deleted below as never published by this one. A warehouse not made yet has no
      identity and is refused all the same; an existing one records itself as the
      folder's (its path may have moved). An outputs folder not made yet is left so: the
      month's export makes it, and records the claim;
    - put back a killed run's month, before any skip decision;
    - delete what crashed exports left, of every month, regraded or not;
    - delete the month folders this warehouse never published (a warehouse deleted to
      start over leaves its outputs): readers would take them as published. Not while
      it has published nothing (a new one): the outputs are then left as they are until
      a month is published and exported;
    - refuse a run from ``first_month`` (``--from``) when a landing month before it is not
      as the warehouse holds it: changed since it was graded, not graded, or stale
      (pipelines.month_order.outdated_earlier_month). Its months would be built on an
      outdated past, or skipped as unchanged;
    - refuse the run's policies when they would move a month it regrades off its policy
      (``_refuse_policy_changes``), before the months before that one are published; the
      first month whose landing files changed is still noted as seen, so it shows stale.
    """
    from pipelines.month_order import builds_on, note_first_changed_month, outdated_earlier_month

    outputs_made = Path(outputs).is_dir()
    published: set[str] = set()
    if not Path(warehouse).is_file():
        if outputs_made:
            check_claim(outputs, warehouse, None)
    else:
        with closing(connect(warehouse)) as con:
            if outputs_made:
                claim_outputs(outputs, warehouse, warehouse_id(con))
            month_journal.roll_back(con)
            published = published_months(con)
            first_month = plan.months[0]
            outdated = outdated_earlier_month(con, landing, first_month)
            if outdated:
                earlier, reason = outdated
                raise RunFailed(
                    first_month,
                    f"{reason}, and {builds_on(first_month)}: grade from {earlier} "
                    f"(--from {earlier}, or without --from)",
                )
            try:
                _refuse_policy_changes(con, landing, outputs, plan)
            except Exception:
                note_first_changed_month(con, landing, plan.months)
                raise
    clear_export_leftovers(outputs)
    if outputs_made and published:
        clear_unpublished_months(outputs, published)


def _refuse_policy_changes(
    con: duckdb.DuckDBPyConnection, landing: Path, outputs: Path, plan: RunPlan
) -> None:
    """Before any month, refuse what the run's policies would do to published months:

    - a policy whose version graded months under other rules (a file edited in place:
      ``refuse_redefined_version``);
    - a calendar that is not the one the month before the run was graded under
      (``refuse_calendar_behind_previous``), or that gives a month before the run a
      newer policy it is not graded under yet (``refuse_past_due_for_newer_policy``);
    - a calendar that would move a month the run regrades off the policy it was published
      under, other than forward (pipelines/policy_rollback.py). Each month is refused
      again as it comes (``_latest_publication``), but a refusal there came after the
      months before it were published: a run refused at March had already regraded
      February under the calendar it was refused for (found by an audit, 2026-12-05).
      A month the run will skip as unchanged is not refused (a month restated under
      ``--policy-override`` keeps its policy while its inputs are unchanged).
    """
    for policy in {p.version: p for p in plan.policies.values()}.values():
        refuse_redefined_version(con, policy)
    if plan.calendar is None:
        return
    refuse_calendar_behind_previous(con, plan.months[0], plan.calendar)
    refuse_past_due_for_newer_policy(con, plan.months[0], plan.calendar)
    moves = {m: why for m in plan.months if (why := policy_rollback(con, m, plan.calendar))}
    if not moves:
        return
    regraded = (
        plan.months
        if plan.force
        else months_regraded(con, landing, outputs, plan.months, plan.policies)
    )
    refused = next((m for m in regraded if m in moves), None)
    if refused is None:
        return
    why = moves[refused]
    if refused != regraded[0] and not plan.force:
        # Its own inputs may be unchanged: it is regraded because an earlier month is.
        earlier = regraded[0]
        why += (
            f". The run regrades {refused} because it regrades {earlier} first, and every "
            f"month after a regraded one is regraded: grade through {earlier} alone "
            f"(grading run --through {earlier}), then {refused} as above (to keep a "
            f"restatement, --policy-override with the file it was restated under)"
        )
    raise PolicyRollback(why)


def _latest_publication(
    warehouse: Path, month: str, calendar: PolicyCalendar | None = None
) -> object:
    """When the month was last published (None when never): compared after a failed job
    to tell whether its publication committed before the step failed. With the run's
    ``calendar``, before a regrade: first refuse the month when that calendar would move
    it off the policy it was published under, other than forward
    (pipelines/policy_rollback.py), on the same connection."""
    if not Path(warehouse).is_file():
        return None
    with closing(connect(warehouse)) as con:
        if calendar:
            refuse_policy_rollback(con, month, calendar)
        return fetch_value(
            con, "SELECT max(published_at) FROM main.run_log WHERE month = $month", {"month": month}
        )


def _published_since(warehouse: Path, month: str, before: object) -> bool:
    """Whether the failed job published the month anyway: its step failed after the
    publishing transaction committed (the Data Docs, the closing checkpoint). When the
    warehouse cannot be read now, the month is reported as not published."""
    try:
        return _latest_publication(warehouse, month) != before
    except Exception:
        return False


def _instance_failure(instance: dg.DagsterInstance, exc: Exception) -> str:
    """Why the run could not be recorded in the Dagster instance beside the warehouse (its
    SQLite run history), in one line. A full disk fails SQLite with a bare "disk I/O
    error"; the free space says what it is."""
    home = Path(instance.root_directory)
    cause = storage_error_text(exc)
    try:
        full = shutil.disk_usage(home).free < FULL_DISK_BYTES
    except OSError:
        full = False
    space = ": No space left on device" if full else ""
    return f"the run could not be recorded in the Dagster instance at {home} ({cause}){space}"


def _roll_back_after_failure(warehouse: Path) -> str:
    """After a failed month: make sure nothing of it stays. When that cannot be done now
    (a full disk cannot even open the warehouse), the month's error is still the one
    reported, with a note: the next run puts the month back before anything else."""
    try:
        _roll_back_unpublished(warehouse)
    except Exception as exc:
        return f" (its rows are put back by the next run: {first_line(exc)})"
    return ""


def month_policies(
    months: list[str], calendar: PolicyCalendar | None, policy_override: Path | None
) -> dict[str, Policy]:
    """The policy each month is graded under: the override, else the calendar's."""
    if policy_override:
        override = load_policy(policy_override)
        return dict.fromkeys(months, override)
    return {month: calendar.policy_for(month) for month in months}


def _refuse_a_gap_before(warehouse: Path, landing: Path, month: str) -> None:
    """Stop before the first month a run grades when the month before it is missing: the
    month would fail at publication anyway (``refuse_unpublished_previous``), but its
    ingest's data checks come first, and one of them (feedback on the missing month's
    orders is ``unknown_order``) would give the wrong reason. Later months of the run
    follow a month it has just published."""
    from assets.first_month import first_landing_month
    from pipelines.month_order import previous_month_missing, unpublished_previous
    from pipelines.months import add_months

    first = first_landing_month(landing)
    if not Path(warehouse).is_file():  # nothing published or ingested: only the landing
        missing = first is not None and first < month
    else:
        with closing(connect(warehouse)) as con:
            missing = previous_month_missing(con, month, first)
    if missing:
        previous = add_months(month, -1)
        raise RunFailed(
            month,
            f"{unpublished_previous(month)}: grade {previous} first (--from {previous}, or "
            "without --from)",
        )


def _unchanged_since(
    warehouse: Path,
    landing: Path,
    outputs: Path,
    month: str,
    policy: Policy,
    policy_override: bool,
    instance: dg.DagsterInstance,
) -> str | None:
    """When the month is unchanged since its latest publication, that time (it is then
    skipped); else None. Also None when ``instance``'s latest record of the month is an
    earlier publication than the warehouse's (``_instance_behind``): it is graded again."""
    if not Path(warehouse).is_file():
        return None
    with closing(connect(warehouse)) as con:
        since = unchanged_since(con, landing, outputs, month, policy, policy_override)
        if since:  # its landing files are the published ones: no longer "changed"
            record_landing_seen(con, month, landing_digests(landing, month))
            latest = latest_publication(con, month)
            if latest and _instance_behind(instance, con, month, latest.run_key):
                return None
        return since


PUBLISHED_MONTH = dg.AssetKey("published_month")


def _instance_behind(
    instance: dg.DagsterInstance, con: duckdb.DuckDBPyConnection, month: str, run_key: str
) -> bool:
    """Whether the Dagster instance's latest record of the month's publication is an
    earlier publication of this warehouse's than its latest, whose run key is ``run_key``
    (each publication carries its run key as its data version, assets/publish.py).

    Its run storage may refuse the publication's events after the month committed (a
    full disk under DAGSTER_HOME): the run fails saying the month was published, and a
    rerun took the month as unchanged, so the instance kept the publication before for
    good. The UI then showed its counts, and the months after a restatement fresh though
    the warehouse calls them stale (a review, 2026-12-07). Not graded again for it: a
    month the instance has no record of (a new DAGSTER_HOME), or only records without a
    run key (older code), or whose latest record is no publication of this warehouse's
    (a DAGSTER_HOME shared with another warehouse, which would else regrade the month
    of each in turn on every run)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PUBLISHED_MONTH, asset_partitions=[month]), limit=1
    ).records
    if not records:
        return False
    tags = records[0].asset_materialization.tags or {}
    recorded = tags.get(DATA_VERSION_TAG)
    if tags.get(DATA_VERSION_IS_USER_PROVIDED_TAG) != "true" or recorded == run_key:
        return False
    return was_published_with(con, month, recorded)


def failure_reason(
    result: dg.ExecuteInProcessResult, warehouse: str | Path | None = None
) -> str | None:
    """One line: the first failed check or step of the run, or None when it succeeded.
    A step DuckDB ran out of memory in says what to do (``out_of_memory_hint``)."""
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            text = evaluation.description or f"check {evaluation.check_name} failed"
            return (
                f"data check {evaluation.asset_key.to_user_string()}."
                f"{evaluation.check_name} failed: {text}"
            )
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            # Dagster wraps the asset's exception: report the first one of ours, whose
            # message names the file, column and row (not the library error under it).
            cause = event.step_failure_data.error
            while cause.cause and cause.cls_name.startswith("Dagster"):
                cause = cause.cause
            if cause.cls_name == "DagsterExecutionInterruptedError":  # its message is its name
                return f"{event.step_key} was interrupted by a stop signal (SIGINT or SIGTERM)"
            line = f"{event.step_key} failed: {_first_line(cause)}"
            if _out_of_memory(event.step_failure_data.error):
                line += f"; {out_of_memory_hint(warehouse)}"
            return line
    if not result.success:
        return "the run failed"
    return None


def _out_of_memory(error: SerializableErrorInfo | None) -> bool:
    """Whether DuckDB's out-of-memory error is in the chain of a step's error."""
    while error is not None:
        if error.cls_name.endswith("OutOfMemoryException"):
            return True
        error = error.cause or error.context
    return False


def exports_failure(result: dg.ExecuteInProcessResult) -> str | None:
    """When the run failed in writing the exports, after the month was committed, the first
    line of that error (which says so); else None."""
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            cause = event.step_failure_data.error
            while cause is not None:
                if cause.cls_name == "ExportsFailed":
                    return _first_line(cause)
                cause = cause.cause
    return None


def _first_line(error: SerializableErrorInfo) -> str:
    """An error's first line, without the class name of ours Dagster puts before it.

    A Java error reaching Python through Py4J says on its first line only which call
    failed ("An error occurred while calling o463.collectToPython."); what failed is the
    Java exception's innermost cause, further down (a missing native library, a full
    disk). It is added, so the run's one line names it (a review, 2026-12-06)."""
    lines = error.message.strip().splitlines()
    line = re.sub(r"^pipelines\.[\w.]+: ", "", lines[0])
    if error.cls_name == "Py4JJavaError":
        causes = [c for c in lines[1:] if re.match(r"(: |Caused by: )\S", c)]
        if causes:
            line += " " + re.sub(r"^(: |Caused by: )", "", causes[-1])
    return line


def materialization_metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    metadata: dict[str, dict[str, object]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        metadata[mat.asset_key.to_user_string()] = {
            k: getattr(v, "value", v) for k, v in mat.metadata.items()
        }
    return metadata


def step_seconds(result: dg.ExecuteInProcessResult) -> dict[str, float]:
    """Wall time of each asset step of the run, in execution order."""
    return {
        event.step_key: event.event_specific_data.duration_ms / 1000
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_SUCCESS
    }
