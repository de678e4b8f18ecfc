"""An incomplete month is refused before anything of it is written (issue item 8).

A month whose merchants, orders or feedback folder is missing or empty, such as the
running month on the schedule's day, stops before any asset writes: through the CLI and
the runner, through a Dagster launch of the job (the first ingest asset refuses), and on
the schedule, which skips the month with the reason instead of failing it half way.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.cli import main as cli_main
from assets.definitions import ALL_ASSETS, build_definitions, monthly_grading_schedule
from assets.ingest import ingest_assets
from assets.resources import GradingSettings, WarehouseResource
from assets.runner import RunFailed, grade_months
from pipelines import landing as landing_layout
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE

JAN, FEB = "2026-01", "2026-02"


def landing_copy(tmp_path: Path, months: tuple[str, ...] = (JAN, FEB)) -> Path:
    """The conformance landing reduced to ``months``."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    for folder in landing.glob("*/month=*"):
        if folder.name.removeprefix("month=") not in months:
            shutil.rmtree(folder)
    return landing


def written_months(warehouse: Path) -> dict[str, list[tuple]]:
    """What each table holds by month: ingest log, raw rows, ledger, published grades."""
    con = connect(warehouse, read_only=True)
    try:
        return {
            table: fetch_rows(con, f"SELECT DISTINCT month FROM {table} ORDER BY 1")
            for table in (
                "raw.ingest_log",
                "raw.merchants",
                "raw.orders",
                "work.credit_ledger",
                "main.merchant_grades",
            )
        }
    finally:
        con.close()


def test_month_gaps_names_missing_and_empty_folders(tmp_path):
    landing = landing_copy(tmp_path, (JAN,))
    shutil.rmtree(landing / "orders" / f"month={JAN}")
    merchants = landing / "merchants" / f"month={JAN}"
    shutil.rmtree(merchants)
    merchants.mkdir()
    (merchants / "_SUCCESS").write_text("")  # a marker and a hidden file are not data
    (merchants / ".part-0.csv.crc").write_text("x")
    assert landing_layout.month_gaps(landing, JAN) == {
        "merchants": f"merchants/month={JAN} is empty",
        "orders": f"orders/month={JAN} is missing",
    }
    with pytest.raises(landing_layout.IncompleteMonth) as refused:
        landing_layout.require_complete_month(landing, JAN)
    assert str(refused.value).startswith(
        f"landing for {JAN} is incomplete: merchants/month={JAN} is empty; "
        f"orders/month={JAN} is missing"
    )
    assert "\n" not in str(refused.value)


def test_run_stops_before_an_incomplete_month_writes_anything(tmp_path):
    """February has its snapshot but no orders or feedback yet (the running month)."""
    landing = landing_copy(tmp_path)
    for dataset in ("orders", "feedback", "bad_orders", "service_metrics"):
        shutil.rmtree(landing / dataset / f"month={FEB}")
    warehouse = tmp_path / "w.duckdb"
    with pytest.raises(RunFailed) as failed:
        grade_months(landing, warehouse, tmp_path / "out", FEB)
    assert failed.value.month == FEB
    assert failed.value.reason.startswith(
        f"landing for {FEB} is incomplete: orders/month={FEB} is missing; "
        f"feedback/month={FEB} is missing"
    )
    assert not failed.value.published
    # January, complete, is published; nothing of February is written anywhere.
    assert written_months(warehouse) == {
        "raw.ingest_log": [(JAN,)],
        "raw.merchants": [(JAN,)],
        "raw.orders": [(JAN,)],
        "work.credit_ledger": [(JAN,)],
        "main.merchant_grades": [(JAN,)],
    }


def test_cli_says_which_folders_in_one_line_and_writes_nothing(tmp_path, capsys):
    landing = landing_copy(tmp_path, (JAN,))
    shutil.rmtree(landing / "feedback" / f"month={JAN}")
    (landing / "feedback" / f"month={JAN}").mkdir()  # the folder is there, still empty
    warehouse = tmp_path / "w.duckdb"
    code = cli_main(
        ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--through", JAN]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        f"grading: month {JAN} was not published: landing for {JAN} is incomplete: "
        f"feedback/month={JAN} is empty (in {landing}; a month is graded once its landing "
        f"is complete)"
    ]
    assert not warehouse.exists()


def resources(landing: Path, warehouse: Path, outputs: Path) -> dict:
    return {
        "warehouse": WarehouseResource(path=str(warehouse)),
        "settings": GradingSettings(landing_dir=str(landing), outputs_dir=str(outputs)),
    }


def test_a_launched_job_fails_at_its_first_ingest_before_writing(tmp_path):
    """What a launch from the Dagster UI runs: the whole job for the partition."""
    landing = landing_copy(tmp_path, (JAN,))
    shutil.rmtree(landing / "feedback" / f"month={JAN}")
    warehouse = tmp_path / "w.duckdb"
    result = dg.materialize(
        ALL_ASSETS,
        partition_key=JAN,
        resources=resources(landing, warehouse, tmp_path / "out"),
        raise_on_error=False,
    )
    assert not result.success
    assert result.get_asset_materialization_events() == []
    failures = [
        (e.step_key, str(e.step_failure_data.error))
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    assert [step for step, _ in failures] == ["raw_merchants"]
    assert f"feedback/month={JAN} is missing" in failures[0][1]
    assert not warehouse.exists()


@pytest.mark.parametrize("asset", ingest_assets, ids=lambda a: a.key.to_user_string())
def test_every_ingest_asset_checks_the_whole_month(tmp_path, asset):
    """Launched alone, each ingest asset refuses a month whose orders are missing."""
    landing = landing_copy(tmp_path, (JAN,))
    shutil.rmtree(landing / "orders" / f"month={JAN}")
    warehouse = tmp_path / "w.duckdb"
    result = dg.materialize(
        [asset],
        partition_key=JAN,
        resources=resources(landing, warehouse, tmp_path / "out"),
        raise_on_error=False,
    )
    assert not result.success
    errors = [
        str(e.step_failure_data.error)
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    assert len(errors) == 1 and f"orders/month={JAN} is missing" in errors[0]
    assert not warehouse.exists()


def test_a_month_without_bad_orders_or_service_metrics_is_graded_with_a_warning(tmp_path):
    landing = landing_copy(tmp_path, (JAN,))
    shutil.rmtree(landing / "bad_orders" / f"month={JAN}")
    service = landing / "service_metrics" / f"month={JAN}"
    shutil.rmtree(service)
    service.mkdir()
    [result] = grade_months(landing, tmp_path / "w.duckdb", tmp_path / "out", JAN)
    assert result.value("merchant_grades", "merchants_graded") == 149
    assert result.value("raw_bad_orders", "warnings")[0] == (
        f"bad_orders/month={JAN} is missing: the month is graded without bad_orders records"
    )
    assert result.value("raw_service_metrics", "warnings")[0] == (
        f"service_metrics/month={JAN} is empty: the month is graded without service_metrics records"
    )
    assert result.value("raw_orders", "warnings") == []


def test_grading_run_prints_the_ingest_warnings(tmp_path, capsys):
    """Found by an audit: the README says extra columns are ignored with a warning, but
    `grading run` printed none; the warnings were only in the Dagster event log."""
    landing = landing_copy(tmp_path, (JAN,))
    shutil.rmtree(landing / "bad_orders" / f"month={JAN}")
    orders = landing / "orders" / f"month={JAN}" / "part-a.csv"
    header, *rows = orders.read_text().splitlines()
    orders.write_text("\n".join([header + ",coupon", *(r + ",X1" for r in rows)]) + "\n")
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"

    code = cli_main(
        ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--create",
         "--outputs", str(outputs), "--through", JAN, "--no-dashboard"]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{JAN} warning: orders/month={JAN}/part-a.csv: extra columns ignored: coupon\n" in out
    assert (
        f"{JAN} warning: bad_orders/month={JAN} is missing: the month is graded without "
        "bad_orders records\n" in out
    )
    assert out.index("warning: orders/") < out.index("warning: bad_orders/")  # dataset order


def tick(landing: Path, when: dt.datetime) -> dg.ScheduleExecutionData:
    """The schedule's evaluation at ``when``, as the Dagster daemon runs it."""
    defs = build_definitions(str(landing), str(landing.parent / "w.duckdb"), "")
    context = dg.build_schedule_context(
        scheduled_execution_time=when,
        repository_def=defs.get_repository_def(),
        resources={"settings": defs.resources["settings"]},
    )
    return defs.resolve_schedule_def(monthly_grading_schedule.name).evaluate_tick(context)


def test_schedule_requests_the_month_that_ended_when_its_landing_is_complete(tmp_path):
    landing = landing_copy(tmp_path, (JAN, FEB))
    assert monthly_grading_schedule.cron_schedule == "0 2 2 * *"
    assert monthly_grading_schedule.execution_timezone == "UTC"
    data = tick(landing, dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))
    assert data.skip_message is None
    assert [r.partition_key for r in data.run_requests] == [FEB]


def test_schedule_skips_a_month_whose_landing_is_not_there_yet(tmp_path):
    landing = landing_copy(tmp_path, (JAN, FEB))
    shutil.rmtree(landing / "orders" / f"month={FEB}")
    data = tick(landing, dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))
    assert data.run_requests == []
    assert data.skip_message.startswith(
        f"landing for {FEB} is incomplete: orders/month={FEB} is missing"
    )
    # The next tick's month has no landing at all: skipped too, not run and failed.
    later = tick(landing, dt.datetime(2026, 4, 2, 2, 0, tzinfo=dt.UTC))
    assert later.run_requests == []
    assert "merchants/month=2026-03 is missing" in later.skip_message
