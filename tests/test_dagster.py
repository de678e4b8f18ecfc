"""The real Dagster definitions: materialize months into a temporary warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.cli import main as cli_main
from assets.definitions import ALL_ASSETS, defs, grade_month_job, monthly_grading_schedule
from assets.partitions import monthly_partitions
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE, failed_steps, step_failures

STRICT_POLICY = 'max_quarantine_ratio = "0.0001"'


def resources(root: Path, policy_file: str = "") -> dict:
    from assets.resources import GradingSettings, WarehouseResource

    return {
        "warehouse": WarehouseResource(path=str(root / "warehouse.duckdb")),
        "settings": GradingSettings(
            landing_dir=str(CONFORMANCE / "landing"),
            outputs_dir=str(root / "outputs"),
            policy_file=policy_file,
        ),
    }


def strict_policy(tmp_path: Path) -> Path:
    """The default policy with a quarantine limit every month of the fixture exceeds."""
    strict = tmp_path / "strict.toml"
    default = Path("pipelines/policies/policy-2026.1.toml").read_text()
    strict.write_text(default.replace('max_quarantine_ratio = "0.01"', STRICT_POLICY))
    return strict


def counts(root: Path) -> dict[str, int]:
    con = connect(root / "warehouse.duckdb", read_only=True)
    try:
        return dict(
            fetch_rows(
                con, "SELECT month, count(*) FROM main.merchant_grades GROUP BY ALL ORDER BY ALL"
            )
        )
    finally:
        con.close()


def test_definitions_load_with_job_schedule_and_groups():
    assert defs.resolve_job_def("grade_month").name == "grade_month"
    assert monthly_grading_schedule.cron_schedule == "0 2 2 * *"
    assert monthly_grading_schedule.execution_timezone == "UTC"
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert {s.group_name for s in specs.values()} == {
        "ingest",
        "grading",
        "exposure",
        "publish",
        "reporting",
    }
    assert all(s.kinds for s in specs.values())
    assert monthly_partitions.get_partition_keys()[0] == "2024-01"


def test_month_depends_on_its_window_and_credit_history():
    graph = defs.resolve_asset_graph()
    grades = dg.AssetKey("merchant_grades")
    upstream = graph.get_parents_partitions(grades, "2026-03").parent_partitions
    orders_months = sorted(
        p.partition_key for p in upstream if p.asset_key == dg.AssetKey("raw_orders")
    )
    assert orders_months == ["2025-12", "2026-01", "2026-02", "2026-03"]
    ledger = graph.get_parents_partitions(dg.AssetKey("credit_ledger"), "2026-03").parent_partitions
    parents = {(p.asset_key.to_user_string(), p.partition_key) for p in ledger}
    assert ("credit_ledger", "2026-02") in parents
    feedback = sorted(m for a, m in parents if a == "raw_feedback")
    assert feedback[0] == "2024-01" and feedback[-1] == "2026-03"  # all credit history


def test_materialize_two_months(tmp_path):
    for month in ("2026-01", "2026-02"):
        result = dg.materialize(
            ALL_ASSETS,
            partition_key=month,
            resources=resources(tmp_path),
            selection=grade_month_job.selection,
        )
        assert result.success
        grades = result.asset_materializations_for_node("merchant_grades")[0].metadata
        assert grades["merchants_graded"].value > 100
        assert {"tier_excellent", "tier_good", "tier_passing", "tier_failing"} <= set(grades)
        orders = result.asset_materializations_for_node("raw_orders")[0].metadata
        assert orders["quarantined_duplicate_key"].value >= 2
        checks = result.get_asset_check_evaluations()
        assert len(checks) == 9 and all(c.passed for c in checks)
    assert counts(tmp_path) == {"2026-01": 149, "2026-02": 147}
    for table in ("merchant_grades", "quarantine", "tier_distribution"):
        assert (tmp_path / "outputs" / table / "month=2026-02" / "part-0.parquet").is_file()


def test_failed_check_blocks_the_month_and_keeps_earlier_months(tmp_path):
    assert dg.materialize(
        ALL_ASSETS, partition_key="2026-01", resources=resources(tmp_path)
    ).success
    before = counts(tmp_path)
    strict = strict_policy(tmp_path)
    result = dg.materialize(
        ALL_ASSETS,
        partition_key="2026-02",
        raise_on_error=False,
        resources=resources(tmp_path, str(strict)),
    )
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert "raw_orders" in {c.asset_key.to_user_string() for c in failed}
    for check in failed:
        failures = check.metadata["failures"].value
        assert [(f["expectation"], f["batch"]) for f in failures] == [
            ("expect_column_values_to_be_in_set", "quarantine_ratio")
        ]
        assert failures[0]["sample_values"] == [False]
    assert counts(tmp_path) == before == {"2026-01": 149}
    assert not (tmp_path / "outputs" / "merchant_grades" / "month=2026-02").exists()


def test_cli_failure_names_the_month_and_exits_1(tmp_path, capsys):
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    broken = landing / "orders" / "month=2026-02" / "part-a.csv"
    lines = broken.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",not-a-number"
    broken.write_text("\n".join(lines) + "\n")
    code = cli_main(
        [
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--through",
            "2026-03",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("grading: month 2026-02 was not published")
    assert "orders/month=2026-02/part-a.csv: column 'amount_usd', row 5" in err[-1]
    con = connect(tmp_path / "w.duckdb", read_only=True)
    published = fetch_rows(con, "SELECT DISTINCT month FROM main.merchant_grades ORDER BY 1")
    con.close()
    assert published == [("2026-01",)]


def test_cli_refuses_a_broken_policy_before_running(tmp_path, capsys):
    policy = tmp_path / "p.toml"
    policy.write_text(
        Path("pipelines/policies/policy-2026.1.toml")
        .read_text()
        .replace("level_lower_bounds = [3, 10,", "level_lower_bounds = [10, 3,")
    )
    code = cli_main(
        [
            "run",
            "--landing",
            str(CONFORMANCE / "landing"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--through",
            "2026-01",
            "--policy",
            str(policy),
        ]
    )
    assert code == 1
    assert "level_lower_bounds must strictly increase" in capsys.readouterr().err
    assert not (tmp_path / "w.duckdb").exists()


def test_month_without_merchants_snapshot_is_refused(tmp_path, capsys):
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    shutil.rmtree(landing / "merchants" / "month=2026-02")
    code = cli_main(
        [
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--through",
            "2026-02",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "month 2026-02 was not published" in err
    # Refused up front since the month's landing must be complete (issue item 8), not
    # at grading ("no merchants snapshot was ingested").
    assert "merchants/month=2026-02 is missing" in err


def test_a_month_after_an_unpublished_month_is_not_published(tmp_path):
    assert dg.materialize(
        ALL_ASSETS, partition_key="2026-01", resources=resources(tmp_path)
    ).success
    strict = strict_policy(tmp_path)
    blocked = dg.materialize(
        ALL_ASSETS,
        partition_key="2026-02",
        raise_on_error=False,
        resources=resources(tmp_path, str(strict)),
    )
    assert not blocked.success
    later = dg.materialize(
        ALL_ASSETS, partition_key="2026-03", raise_on_error=False, resources=resources(tmp_path)
    )
    assert not later.success
    failures = step_failures(later)
    # March stops on the missing February at its first step, before a row is read, with
    # that reason. (It used to read its rows first: with the blocked month rolled back,
    # March's feedback on February's orders was quarantined as unknown_order, and its
    # input check blocked it, a reason that did not say which month to grade first.)
    assert failed_steps(later) == ["raw_merchants"], failures
    assert (
        "2026-02 is not published, and 2026-03 builds on it (credit points carry over from "
        "month to month, and its rows are checked against the orders and keys of the months "
        "before): publish 2026-02 before 2026-03"
    ) in failures
    assert "blocking asset check" not in failures
    con = connect(tmp_path / "warehouse.duckdb", read_only=True)
    assert fetch_rows(con, "SELECT DISTINCT month FROM raw.orders ORDER BY 1") == [("2026-01",)]
    con.close()
    assert counts(tmp_path) == {"2026-01": 149}


def test_a_month_is_not_published_on_an_unfinished_ingest_of_its_window(tmp_path):
    for month in ("2026-01", "2026-02"):
        assert dg.materialize(
            ALL_ASSETS, partition_key=month, resources=resources(tmp_path)
        ).success
    con = connect(tmp_path / "warehouse.duckdb")
    # What an orders ingest leaves when it stops between storing the month's rows and
    # moving the rejected ones out: rows in raw.orders, no ingest_log row.
    con.execute("DELETE FROM raw.ingest_log WHERE dataset = 'orders' AND month = '2026-02'")
    con.close()
    march = dg.materialize(
        ALL_ASSETS, partition_key="2026-03", raise_on_error=False, resources=resources(tmp_path)
    )
    assert not march.success
    errors = [
        str(e.step_failure_data.error)
        for e in march.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    assert any("the ingest of orders 2026-02 stopped before it finished" in e for e in errors)
    assert "2026-03" not in counts(tmp_path)
    # Rerunning February completes its ingest; March then publishes.
    for month in ("2026-02", "2026-03"):
        assert dg.materialize(
            ALL_ASSETS, partition_key=month, resources=resources(tmp_path)
        ).success
    assert "2026-03" in counts(tmp_path)


def test_publish_refuses_a_month_after_an_unpublished_one(tmp_path):
    from pipelines.grading import GradingError
    from pipelines.policy import load_policy
    from pipelines.publishing import publish_month

    con = connect(tmp_path / "w.duckdb")
    con.execute(
        "INSERT INTO raw.ingest_log (dataset, month, files, rows_read, exact_copies, "
        "rows_accepted, rows_quarantined, ingested_at) "
        "VALUES ('merchants', '2026-01', 1, 1, 0, 1, 0, now()),"
        " ('merchants', '2026-02', 1, 1, 0, 1, 0, now())"
    )
    with pytest.raises(GradingError, match="2026-01 is not published, and 2026-02 builds on it"):
        publish_month(con, "2026-02", load_policy())
    con.close()
