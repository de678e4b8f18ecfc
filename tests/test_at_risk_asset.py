"""The ``at_risk_merchants`` Dagster asset, materialized over the real definitions."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.at_risk import AtRiskConfig, at_risk_merchants
from assets.definitions import build_definitions, grade_month_job
from assets.partitions import monthly_partitions
from assets.runner import grade_months
from pipelines.preview import preview_month
from pipelines.warehouse import connect, fetch_frame, fetch_rows, fetch_value
from tests.helpers import CONFORMANCE, published_state
from tests.test_policy_calendar import policy_text, write_policy
from tests.test_preview import write_negative_amounts

PUBLISHED = "2026-02"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Landing, warehouse and outputs of the conformance data graded through February."""
    root = tmp_path_factory.mktemp("at-risk-asset")
    shutil.copytree(CONFORMANCE / "landing", root / "landing")
    grade_months(root / "landing", root / "w.duckdb", root / "outputs", PUBLISHED)
    return root / "landing", root / "w.duckdb", root / "outputs"


def materialize(graded, as_of: str) -> dg.ExecuteInProcessResult:
    landing, warehouse, outputs = graded
    defs = build_definitions(str(landing), str(warehouse), str(outputs))
    return dg.materialize(
        [at_risk_merchants],
        partition_key=PUBLISHED,
        resources=defs.resources,
        run_config=dg.RunConfig({"at_risk_merchants": AtRiskConfig(as_of=as_of)}),
        raise_on_error=False,
    )


def test_asset_is_defined_on_the_monthly_partitions_apart_from_the_monthly_job() -> None:
    spec = at_risk_merchants.specs_by_key[dg.AssetKey("at_risk_merchants")]
    assert spec.group_name == "reporting"
    assert set(spec.kinds) == {"duckdb", "polars"}
    assert at_risk_merchants.partitions_def == monthly_partitions
    assert {d.asset_key for d in spec.deps} == {dg.AssetKey("published_month")}
    defs = build_definitions("landing", "w.duckdb", "outputs")
    assert defs.resolve_assets_def("at_risk_merchants") is not None
    job = defs.resolve_job_def(grade_month_job.name)
    assert dg.AssetKey("at_risk_merchants") not in job.asset_layer.executable_asset_keys


def test_materialized_asset_stores_the_at_risk_list_and_publishes_nothing(graded) -> None:
    landing, warehouse, outputs = graded
    before = published_state(warehouse, outputs)
    result = materialize(graded, "2026-03-15")
    assert result.success
    metadata = result.asset_materializations_for_node("at_risk_merchants")[0].metadata
    expected = preview_month(landing, warehouse, "2026-03-15").at_risk
    assert expected.height > 0, "the fixture has merchants projected to fall"
    assert metadata["rows"].value == expected.height
    assert metadata["projected_month"].value == "2026-03"
    assert metadata["compared_with"].value == PUBLISHED
    assert expected["merchant_id"][0] in metadata["preview"].value
    con = connect(warehouse, read_only=True)
    try:
        stored = fetch_frame(con, "SELECT * FROM preview.at_risk ORDER BY merchant_id")
    finally:
        con.close()
    assert_frame_equal(stored, expected, check_dtypes=False)
    exported = pl.read_parquet(outputs / "preview" / "at_risk" / "month=2026-03" / "*.parquet")
    assert exported.height == expected.height
    assert published_state(warehouse, outputs) == before


def test_the_asset_projects_under_the_run_s_policy_override(graded, tmp_path) -> None:
    """A code location run with ``policy_override`` projects under it, as its months are
    graded under it: here a policy putting excellent out of reach, so February's
    excellent merchants are at risk too. The policy is shown in the metadata."""
    landing, warehouse, outputs = graded
    override = write_policy(tmp_path, "p.toml", policy_text("2026.9", None, no_excellent=True))
    defs = build_definitions(str(landing), str(warehouse), str(outputs), "", str(override))
    result = dg.materialize(
        [at_risk_merchants],
        partition_key=PUBLISHED,
        resources=defs.resources,
        run_config=dg.RunConfig({"at_risk_merchants": AtRiskConfig(as_of="2026-03-15")}),
    )
    metadata = result.asset_materializations_for_node("at_risk_merchants")[0].metadata
    assert metadata["policy_version"].value == "2026.9"
    assert metadata["note"].value == ""  # March is not published: nothing to compare
    expected = preview_month(landing, warehouse, "2026-03-15", policy_override=override).at_risk
    calendar = preview_month(landing, warehouse, "2026-03-15").at_risk
    assert expected.height > calendar.height
    assert metadata["rows"].value == expected.height


def test_as_of_outside_the_month_after_the_partition_fails_the_asset(graded) -> None:
    result = materialize(graded, "2026-04-01")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = failure.step_failure_data.error.cause.message
    assert "as_of 2026-04-01 is not a day of 2026-03, the month after partition 2026-02" in (
        message
    )


def test_a_blocked_projection_removes_the_month_s_earlier_one_and_logs_why(
    graded, tmp_path
) -> None:
    """As ``grading preview`` does: a blocked projection leaves none of the month (an
    older one must not pass for the current one), and preview_log says why."""
    landing, warehouse, outputs = graded
    copy = (tmp_path / "landing", tmp_path / "w.duckdb", tmp_path / "outputs")
    shutil.copytree(landing, copy[0])
    shutil.copyfile(warehouse, copy[1])
    shutil.copytree(outputs, copy[2])
    assert materialize(copy, "2026-03-15").success
    assert (copy[2] / "preview" / "at_risk" / "month=2026-03").is_dir(), "setup: stored"
    write_negative_amounts(copy[0])
    assert not materialize(copy, "2026-03-16").success
    con = connect(copy[1], read_only=True)
    try:
        left = {
            table: fetch_value(con, f"SELECT count(*) FROM preview.{table}")
            for table in ("merchant_grades", "at_risk")
        }
        log = fetch_rows(
            con, "SELECT as_of, status, reason FROM preview.preview_log ORDER BY made_at"
        )[-2:]  # the fixture's warehouse holds the other tests' previews before them
    finally:
        con.close()
    assert left == {"merchant_grades": 0, "at_risk": 0}
    assert [(str(as_of), status) for as_of, status, _ in log] == [
        ("2026-03-15", "projected"),
        ("2026-03-16", "blocked"),
    ]
    assert "raw_orders.expectations failed" in log[1][2]
    assert not (copy[2] / "preview" / "at_risk" / "month=2026-03").exists()
