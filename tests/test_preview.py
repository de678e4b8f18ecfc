"""Projected grades (spec §11): ``grading preview --as-of``, on a copy of the warehouse."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from assets.cli import main
from assets.runner import grade_months
from pipelines.grading import GRADE_COLUMNS, GradingError
from pipelines.months import grading_window
from pipelines.policy import load_policy
from pipelines.policy_rollback import PolicyRedefined
from pipelines.preview import SCRATCH_PREFIX, PreviewError, preview_month, preview_text
from pipelines.preview_store import ORDER_BY, PROJECTED_TABLES, STORED_TABLES
from pipelines.reporting.summary import tier_table
from pipelines.rules.credit import credit_points_earned
from pipelines.warehouse import connect, fetch_frame, fetch_rows
from tests.helpers import (
    CONFORMANCE,
    cli_command,
    mounted_tmpfs,
    published_state,
    run_killed_at,
)
from tests.test_policy_calendar import SHIPPED, policy_text, write_policy

MONTH = "2026-03"


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("preview-landing")
    shutil.copytree(CONFORMANCE / "landing", root / "landing")
    return root / "landing"


@pytest.fixture(scope="module")
def graded_feb(landing, tmp_path_factory) -> Path:
    """A warehouse graded through 2026-02: March is still to come."""
    root = tmp_path_factory.mktemp("feb")
    grade_months(landing, root / "w.duckdb", root / "outputs", "2026-02")
    return root / "w.duckdb"


@pytest.fixture(scope="module")
def graded_mar(landing, tmp_path_factory) -> Path:
    """A warehouse graded through 2026-03: March's final, published grades."""
    root = tmp_path_factory.mktemp("mar")
    grade_months(landing, root / "w.duckdb", root / "outputs", MONTH)
    return root / "w.duckdb"


def published_grades(warehouse: Path, month: str) -> pl.DataFrame:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_frame(
            con,
            f"SELECT {', '.join(GRADE_COLUMNS)} FROM main.merchant_grades "
            "WHERE month = $month ORDER BY merchant_id",
            {"month": month},
        )
    finally:
        con.close()


def test_window_as_of_a_day_ends_on_that_day() -> None:
    window = grading_window(MONTH, 90, date(2026, 3, 15))
    assert window.cutoff == datetime(2026, 3, 16)
    assert window.window_start == datetime(2025, 12, 16)  # the cutoff less 90 days
    assert not window.ends_at_month_end
    assert grading_window(MONTH, 90, date(2026, 3, 31)) == grading_window(MONTH, 90)
    with pytest.raises(ValueError, match="not a day of 2026-03"):
        grading_window(MONTH, 90, date(2026, 4, 1))


def published_table(warehouse: Path, table: str, month: str, schema: str = "main"):
    """The month's rows of one table, every column, in the order of its exports."""
    con = connect(warehouse, read_only=True)
    try:
        return fetch_frame(
            con,
            f"SELECT * FROM {schema}.{table} WHERE month = $month ORDER BY {ORDER_BY[table]}",
            {"month": month},
        )
    finally:
        con.close()


@pytest.mark.parametrize("fixture", ["graded_feb", "graded_mar"])
def test_preview_as_of_the_last_day_gives_the_final_grades(
    fixture, landing, graded_mar, request
) -> None:
    warehouse = request.getfixturevalue(fixture)
    preview = preview_month(landing, warehouse, "2026-03-31")
    final = published_grades(graded_mar, MONTH)
    assert final.height == 169
    assert_frame_equal(preview.grades, final, check_dtypes=False)
    assert set(preview.tables) == set(PROJECTED_TABLES)
    for table in PROJECTED_TABLES:  # every column of every graded table, and the quarantine
        expected = published_table(graded_mar, table, MONTH)
        assert expected.height > 0, table
        projected = preview.tables[table].sort(ORDER_BY[table].split(", "))
        assert_frame_equal(projected, expected, check_dtypes=False)


def test_a_month_restated_under_an_override_is_previewed_as_published_under_it(
    landing, tmp_path, capsys
) -> None:
    """February restated under an override that puts excellent out of reach. Found by an
    audit (2026-12-05): a preview as of its last day took the calendar's policy, and
    differed from the published grades with nothing said. The preview names the policy
    the month was published under, and ``--policy-override`` projects it as published."""
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02")
    override = write_policy(tmp_path, "p.toml", policy_text("2026.9", None, no_excellent=True))
    grade_months(landing, warehouse, outputs, "2026-02", first="2026-02", policy_override=override)
    published = published_grades(warehouse, "2026-02")
    assert "excellent" not in published["tier"].to_list()

    calendar = preview_month(landing, warehouse, "2026-02-28")
    assert calendar.policy_version == "2026.1"
    assert "excellent" in calendar.grades["tier"].to_list()
    assert calendar.published_policy == ("2026.9", True)

    as_published = preview_month(landing, warehouse, "2026-02-28", policy_override=override)
    assert as_published.policy_version == "2026.9"
    assert as_published.published_policy is None
    assert_frame_equal(as_published.grades, published, check_dtypes=False)

    args = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert main([*args, "--as-of", "2026-02-28"]) == 0
    assert (
        "note: 2026-02 was published under policy 2026.9 by --policy-override (a "
        "restatement): preview with --policy-override and that policy's file to project it "
        "as published; this projection is under 2026.1"
    ) in capsys.readouterr().out
    assert main([*args, "--as-of", "2026-02-28", "--policy-override", str(override)]) == 0
    out = capsys.readouterr().out
    assert "policy 2026.9)" in out and "note:" not in out


def test_a_month_whose_calendar_moved_on_is_previewed_under_the_new_policy_with_a_note(
    landing, graded_feb, tmp_path
) -> None:
    """February was published under 2026.1; a calendar with 2026.2 from February on
    projects it under 2026.2 (the policy its next run would grade it under), and says
    which policy the published grades are under."""
    folder = tmp_path / "calendar"
    write_policy(folder, "policy-2026.1.toml", SHIPPED)
    write_policy(folder, "policy-2026.2.toml", policy_text("2026.2", "2026-02", no_excellent=True))
    preview = preview_month(landing, graded_feb, "2026-02-28", folder)
    assert preview.policy_version == "2026.2"
    assert preview.published_policy == ("2026.1", False)
    assert (
        "note: 2026-02 was published under policy 2026.1; this projection is under 2026.2"
    ) in preview_text(preview)


def test_an_override_reusing_a_published_version_with_other_rules_is_refused(
    landing, graded_feb, tmp_path
) -> None:
    """As a run refuses it (found in review): 2026.1 with other numbers would project
    under rules no published row names, and a note comparing versions would not see it."""
    edited = write_policy(tmp_path, "p.toml", policy_text("2026.1", None, no_excellent=True))
    with pytest.raises(PolicyRedefined, match=r"policy 2026\.1 graded 2026-01, 2026-02"):
        preview_month(landing, graded_feb, "2026-03-15", policy_override=edited)


def test_stored_preview_as_of_the_last_day_equals_the_published_month(
    landing, graded_feb, graded_mar, tmp_path
) -> None:
    """The preview schema and its export, as written by ``grading preview``, hold the rows
    that grading March publishes: the same columns, the same values."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(graded_feb, warehouse)
    outputs = tmp_path / "outputs"
    args = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert main([*args, "--as-of", "2026-03-31", "--outputs", str(outputs)]) == 0
    for table in PROJECTED_TABLES:
        expected = published_table(graded_mar, table, MONTH)
        stored = published_table(warehouse, table, MONTH, schema="preview")
        assert_frame_equal(stored, expected)
        folder = outputs / "preview" / table / f"month={MONTH}"
        exported = pl.read_parquet(folder / "*.parquet")
        assert_frame_equal(exported, expected, check_dtypes=False)
        # declared as the published exports are: every column optional
        assert all(f.nullable for f in pq.read_schema(folder / "part-0.parquet")), table


def test_preview_mid_month_counts_only_records_before_the_next_day(
    landing, graded_feb, graded_mar
) -> None:
    preview = preview_month(landing, graded_feb, "2026-03-15").grades
    final = published_grades(graded_mar, MONTH)
    policy = load_policy()
    con = connect(graded_mar, read_only=True)  # its raw.* holds every landed row
    try:
        assessed = fetch_frame(
            con,
            "SELECT m.merchant_id, count(o.order_id) AS assessed_orders "
            "FROM raw.merchants m LEFT JOIN raw.orders o ON o.merchant_id = m.merchant_id "
            "AND o.ended_at >= TIMESTAMP '2025-12-16' AND o.ended_at < TIMESTAMP '2026-03-16' "
            "WHERE m.month = '2026-03' AND m.status = 'active' GROUP BY ALL",
        )
        march_feedback = fetch_frame(
            con,
            "SELECT merchant_id, buyer_id, stars, feedback_at, order_amount_usd "
            "FROM raw.feedback WHERE month = '2026-03' AND feedback_at < TIMESTAMP '2026-03-16'",
        )
        feb_credit = fetch_frame(
            con,
            "SELECT merchant_id, credit_points AS feb_points FROM work.credit_ledger "
            "WHERE month = '2026-02'",
        )
    finally:
        con.close()
    earned = credit_points_earned(march_feedback.lazy(), policy).collect()
    expected_credit = (
        preview.select("merchant_id")
        .join(feb_credit, on="merchant_id", how="left")
        .join(earned, on="merchant_id", how="left")
        .select(
            "merchant_id",
            (pl.col("feb_points").fill_null(0) + pl.col("points").fill_null(0)).alias(
                "credit_points"
            ),
        )
    )
    assert_frame_equal(
        preview.select("merchant_id", "assessed_orders"),
        assessed.sort("merchant_id"),
        check_dtypes=False,
    )
    assert_frame_equal(
        preview.select("merchant_id", "credit_points"), expected_credit, check_dtypes=False
    )
    # the second half of March is not in it: fewer orders and other points than at month end
    assert (preview["assessed_orders"] <= final["assessed_orders"]).all()
    assert (preview["assessed_orders"] != final["assessed_orders"]).any()
    assert (preview["credit_points"] != final["credit_points"]).any()


def warehouse_state(warehouse: Path) -> dict:
    """Every row of every table (published, raw, work, journal, run_log) and the file itself."""
    stat = warehouse.stat()
    state = {
        "bytes": hashlib.sha256(warehouse.read_bytes()).hexdigest(),
        "mtime_ns": stat.st_mtime_ns,
        **published_state(warehouse, warehouse.parent / "outputs"),
    }
    state["all_rows"] = all_rows(warehouse)
    return state


def unpublished_state(warehouse: Path) -> dict:
    """Every row of every table outside the preview schema (main.* with run_log and the
    run keys, raw, work, journal) and the published exports: what a preview must not move."""
    state = published_state(warehouse, warehouse.parent / "outputs")
    state["all_rows"] = all_rows(warehouse, but_schema="preview")
    return state


def all_rows(warehouse: Path, but_schema: str = "") -> dict[str, list[tuple]]:
    """Every row of every table of the warehouse, sorted, except those of ``but_schema``."""
    con = connect(warehouse, read_only=True)
    try:
        tables = fetch_rows(
            con,
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE schema_name <> $but ORDER BY ALL",
            {"but": but_schema},
        )
        return {
            f"{schema}.{table}": fetch_rows(con, f'SELECT * FROM {schema}."{table}" ORDER BY ALL')
            for schema, table in tables
        }
    finally:
        con.close()


def test_preview_never_changes_a_published_table(landing, graded_feb, tmp_path, monkeypatch):
    """A stored preview, a second one and a blocked one: every published table, the run log
    with its run keys, raw/work/journal and the published exports stay row- and
    byte-equal; the preview lands only in the preview schema and outputs/preview/."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(graded_feb, warehouse)
    shutil.copytree(graded_feb.parent / "outputs", tmp_path / "outputs")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = unpublished_state(warehouse)
    assert {"raw.orders", "main.run_log", "work.credit_ledger"} <= set(before["all_rows"])
    assert before["tables"]["merchant_grades"] and before["files"], "setup: published data"
    assert [r for r in before["all_rows"]["main.run_log"] if r[7]], "setup: run keys"
    outputs = tmp_path / "outputs"
    out = tmp_path / "projected.parquet"
    args = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    for as_of in ("2026-03-20", "2026-03-10"):
        code = main([*args, "--as-of", as_of, "--out", str(out), "--outputs", str(outputs)])
        assert code == 0
        assert unpublished_state(warehouse) == before
    assert list(scratch.iterdir()) == []  # the copy is gone
    assert pl.read_parquet(out).filter(pl.col("month") == MONTH).height == 169
    stored = published_table(warehouse, "merchant_grades", MONTH, schema="preview")
    assert stored.height == 169  # one preview per month: the second replaced the first
    assert (outputs / "preview" / "at_risk" / f"month={MONTH}" / "part-0.parquet").is_file()

    noisy = noisy_copy(landing, tmp_path / "noisy")
    blocked = ["preview", "--landing", str(noisy), "--warehouse", str(warehouse)]
    assert main([*blocked, "--as-of", "2026-03-20", "--outputs", str(outputs)]) == 1
    assert unpublished_state(warehouse) == before


def test_preview_prints_a_projected_checked_summary(landing, graded_feb, tmp_path, capsys):
    out = tmp_path / "projected.csv"
    warehouse = tmp_path / "w.duckdb"  # the preview is stored: not in the shared fixture
    shutil.copyfile(graded_feb, warehouse)
    args = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert main([*args, "--as-of", "2026-03-15", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "stored in the warehouse's preview schema" in printed
    assert "projected: 2026-03 as of 2026-03-15" in printed
    assert "9 data checks passed" in printed
    assert "at risk: " in printed and "merchants projected below their 2026-02 tier" in printed
    assert "records before 2026-03-16 00:00 UTC; window 2025-12-16..2026-03-15" in printed
    assert "2026-03       169" in printed
    assert "not landed yet" not in printed
    written = pl.read_csv(out)
    assert written.columns == list(GRADE_COLUMNS)
    assert written.height == 169


def test_the_projected_table_counts_the_projected_provisional_merchants(
    landing, graded_feb
) -> None:
    """The provisional column of the projected tier table is the projection's own
    provisional merchants: those with fewer assessed orders than the policy's minimum in
    the window as of the day (spec §5), as ``grading summary`` counts a published month."""
    preview = preview_month(landing, graded_feb, "2026-03-15")
    minimum = load_policy().provisional_min_assessed_orders
    provisional = preview.grades.filter(pl.col("assessed_orders") < minimum).height
    assert provisional > 0, "the fixture has merchants too new to be assessed mid-month"
    (row,) = [line for line in preview_text(preview).splitlines() if line.startswith("2026-03 ")]
    assert row.split()[1] == str(preview.grades.height)
    assert row.split()[-1] == str(provisional)


def test_preview_names_the_datasets_not_landed_yet(landing, graded_feb, tmp_path, capsys):
    """A month part landed is projected from what is there (spec §11), and says what is
    not: missing bad orders or feedback would otherwise look like none."""
    partial = tmp_path / "landing"
    shutil.copytree(landing, partial)
    for dataset in ("bad_orders", "service_metrics"):
        shutil.rmtree(partial / dataset / "month=2026-03")
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(graded_feb, warehouse)
    args = ["preview", "--landing", str(partial), "--warehouse", str(warehouse)]
    assert main([*args, "--as-of", "2026-03-15"]) == 0
    assert (
        "not landed yet, counted as empty: bad_orders/month=2026-03 is missing; "
        "service_metrics/month=2026-03 is missing"
    ) in capsys.readouterr().out


@pytest.mark.parametrize("as_of", ["2026-3-15", "2026-02-30", "tomorrow", ""])
def test_as_of_not_a_date_is_refused(as_of, landing, graded_feb, capsys) -> None:
    args = ["preview", "--landing", str(landing), "--warehouse", str(graded_feb)]
    assert main([*args, "--as-of", as_of]) == 1
    assert f"grading: --as-of: not a date: {as_of!r} (expected YYYY-MM-DD" in (
        capsys.readouterr().err
    )


def test_month_with_no_landing_is_refused(landing, graded_feb) -> None:
    with pytest.raises(PreviewError, match=r"nothing has landed for 2026-05 in .*landing"):
        preview_month(landing, graded_feb, "2026-05-02")


def test_month_without_its_merchants_snapshot_is_refused(landing, graded_feb, tmp_path) -> None:
    partial = tmp_path / "landing"
    shutil.copytree(landing, partial)
    shutil.rmtree(partial / "merchants" / "month=2026-03")
    with pytest.raises(PreviewError, match="merchants/month=2026-03 is missing"):
        preview_month(partial, graded_feb, "2026-03-10")


def test_month_before_not_graded_is_refused(landing, tmp_path) -> None:
    empty = tmp_path / "none.duckdb"
    with pytest.raises(GradingError, match="2026-02 is not graded in the warehouse"):
        preview_month(landing, empty, "2026-03-10")
    # the first month needs no history; a missing warehouse is not created
    assert preview_month(landing, empty, "2026-01-31").grades.height > 0
    assert not empty.exists()
    assert not empty.with_name("none.duckdb.lock").exists()


def test_a_month_before_without_feedback_is_graded_all_the_same(landing, tmp_path) -> None:
    """January published with no feedback at all has no credit-ledger rows: it is still
    graded, and February can be previewed."""
    quiet = tmp_path / "landing"
    shutil.copytree(landing, quiet)
    january = quiet / "feedback" / "month=2026-01"
    header = (january / "part-a.csv").read_text().splitlines()[0]
    shutil.rmtree(january)
    january.mkdir()
    (january / "part-a.csv").write_text(header + "\n")
    warehouse = tmp_path / "w.duckdb"
    grade_months(quiet, warehouse, tmp_path / "outputs", "2026-01")
    preview = preview_month(quiet, warehouse, "2026-02-15")
    assert preview.grades.height > 0


def test_a_month_before_left_by_a_killed_run_is_not_graded(landing, tmp_path) -> None:
    """A run killed after grading January leaves January open in the journal, with its
    unpublished ledger rows: February's preview rolls them back on its copy and refuses,
    as the next run would put January back before grading anything."""
    warehouse = tmp_path / "w.duckdb"
    command = cli_command(
        "run", "--landing", str(landing), "--warehouse", str(warehouse),
        "--out", str(tmp_path / "outputs"), "--through", "2026-01",
    )  # fmt: skip
    run_killed_at("grading:after_grades", "2026-01", command)
    con = connect(warehouse, read_only=True)
    try:
        assert fetch_rows(con, "SELECT count(*) FROM work.credit_ledger")[0][0] > 0
        assert fetch_rows(con, "SELECT count(*) FROM main.run_log")[0][0] == 0
    finally:
        con.close()
    with pytest.raises(GradingError, match="2026-01 is not graded in the warehouse"):
        preview_month(landing, warehouse, "2026-02-15")


def test_a_gap_in_the_warehouse_is_refused_when_the_landing_holds_only_the_month(
    landing, tmp_path
) -> None:
    """January is published, February never was, and the landing now holds March alone:
    March would be projected without February's credit and window days. A run refuses
    that, and so does the preview."""
    warehouse = tmp_path / "w.duckdb"
    grade_months(landing, warehouse, tmp_path / "outputs", "2026-01")
    march_only = tmp_path / "landing"
    for dataset in (d for d in landing.iterdir() if d.is_dir()):
        shutil.copytree(dataset / "month=2026-03", march_only / dataset.name / "month=2026-03")
    with pytest.raises(GradingError, match="2026-02 is not graded in the warehouse"):
        preview_month(march_only, warehouse, "2026-03-10")


def test_a_preview_on_a_corrected_month_not_graded_again_is_refused(
    landing, graded_feb, tmp_path
) -> None:
    """January corrected in the landing folder after it was graded: March's projection
    would roll on January's outdated credit, so it is refused, naming January, as a
    run from March is."""
    corrected = tmp_path / "landing"
    shutil.copytree(landing, corrected)
    feedback = corrected / "feedback" / "month=2026-01" / "part-a.csv"
    header, first, *rest = feedback.read_text().splitlines()
    feedback.write_text("\n".join([header, first.replace(",4,", ",1,"), *rest]) + "\n")
    with pytest.raises(
        GradingError,
        match=r"2026-01's landing files changed after it was graded \(feedback\), and 2026-03 "
        r"builds on it: grade through 2026-02 \(grading run --through 2026-02\)",
    ):
        preview_month(corrected, graded_feb, "2026-03-10")


def test_summary_prints_the_same_table_after_its_refactor(graded_feb, capsys) -> None:
    assert main(["summary", "--warehouse", str(graded_feb)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        *("month", "graded", "excellent", "good", "passing", "failing", "provisional")
    ]
    assert lines[2].startswith("2026-02       147         3 (  2.0%)        23 ( 15.6%)")


def test_summary_counts_each_month_s_provisional_merchants(graded_feb, capsys) -> None:
    """The provisional column: per month, the published merchants with fewer assessed
    orders than the policy's minimum (spec §5), not the assessed ones."""
    minimum = load_policy().provisional_min_assessed_orders
    con = connect(graded_feb, read_only=True)
    try:
        expected = dict(
            fetch_rows(
                con,
                "SELECT month, count(*) FILTER (WHERE assessed_orders < $minimum) "
                "FROM main.merchant_grades GROUP BY month",
                {"minimum": minimum},
            )
        )
    finally:
        con.close()
    assert expected["2026-01"] > 0 and expected["2026-02"] > 0
    assert main(["summary", "--warehouse", str(graded_feb)]) == 0
    rows = {
        line.split()[0]: line.split()
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("2026-")
    }
    assert {month: int(row[-1]) for month, row in rows.items()} == expected


def test_summary_columns_are_the_tiers_it_is_given() -> None:
    """The tier names live in the policy: a policy with other names gets other columns."""
    frame = pl.DataFrame({"month": ["2026-02"] * 2, "tier": ["gold", "tin"], "merchants": [1, 3]})
    lines = tier_table(frame, {"2026-02": 1}, tiers=("gold", "tin")).splitlines()
    assert lines[0].split() == ["month", "graded", "gold", "tin", "provisional"]
    assert lines[1].split() == ["2026-02", "4", "1", "(", "25.0%)", "3", "(", "75.0%)", "1"]


def write_negative_amounts(landing: Path) -> None:
    """200 orders of 5,000+ with a negative amount: a run would not publish March (> 1%)."""
    bad = "\n".join(
        f"OBAD{i:05d},M0500001,B1,2026-03-01 00:00:00,2026-03-02 00:00:00,completed,-1.00"
        for i in range(200)
    )
    (landing / "orders" / "month=2026-03" / "part-c.csv").write_text(
        "order_id,merchant_id,buyer_id,created_at,ended_at,status,amount_usd\n" + bad + "\n"
    )


def noisy_copy(landing: Path, copy: Path) -> Path:
    """A copy of the landing with write_negative_amounts' orders: March's preview is
    blocked by the orders' quarantine ratio."""
    shutil.copytree(landing, copy)
    write_negative_amounts(copy)
    return copy


def test_preview_is_blocked_by_the_quarantine_ratio_check_like_a_month(
    landing, graded_feb, tmp_path, capsys
) -> None:
    """The checks a run of the month runs, run on the preview: the same check blocks both,
    and the month's earlier preview is removed, with the reason logged."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(graded_feb, warehouse)
    outputs = tmp_path / "outputs"
    args = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert main([*args, "--as-of", "2026-03-10", "--outputs", str(outputs)]) == 0
    noisy = noisy_copy(landing, tmp_path / "landing")
    args = ["preview", "--landing", str(noisy), "--warehouse", str(warehouse)]
    assert main([*args, "--as-of", "2026-03-12", "--outputs", str(outputs)]) == 1
    error = capsys.readouterr().err
    assert "the preview of 2026-03 as of 2026-03-12 is blocked: data check " in error
    assert "raw_orders.expectations failed" in error and "quarantine" in error
    con = connect(warehouse, read_only=True)
    try:
        log = fetch_rows(con, "SELECT as_of, status, reason FROM preview.preview_log ORDER BY 1")
        left = fetch_rows(con, "SELECT count(*) FROM preview.merchant_grades")[0][0]
    finally:
        con.close()
    assert [(str(d), s) for d, s, _ in log] == [
        ("2026-03-10", "projected"),
        ("2026-03-12", "blocked"),
    ]
    assert "raw_orders.expectations failed" in log[1][2]
    assert left == 0
    assert not (outputs / "preview" / "merchant_grades" / "month=2026-03").exists()


def test_a_new_preview_removes_the_earlier_preview_s_files_wherever_they_were_written(
    landing, graded_feb, tmp_path, monkeypatch
) -> None:
    """A preview made without ``--outputs``, or to another folder, left the month's earlier
    preview files in place: Parquet with no as-of day, passing for the current projection
    while the tables held another (a review, 2026-12-06). The files now go with the rows,
    wherever they were written, a blocked preview's included."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(graded_feb, warehouse)
    first, second = tmp_path / "first", tmp_path / "second"

    def files(outputs: Path) -> list[str]:
        root = outputs / "preview"
        return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))

    def preview(as_of: str, *more: str, source: Path = landing) -> int:
        args = ["preview", "--landing", str(source), "--warehouse", str(warehouse)]
        return main([*args, "--as-of", as_of, *more])

    assert preview("2026-03-15", "--outputs", str(first)) == 0
    assert files(first) == [f"{t}/month={MONTH}/part-0.parquet" for t in sorted(STORED_TABLES)]
    assert preview("2026-03-10") == 0  # no --outputs: nothing exported, and nothing stale
    assert files(first) == []
    stored = published_table(warehouse, "merchant_grades", MONTH, "preview")
    assert stored.height > 0

    monkeypatch.chdir(tmp_path)  # a relative folder, then the same one by another path
    assert preview("2026-03-12", "--outputs", "second") == 0
    assert len(files(second)) == len(STORED_TABLES)
    assert preview("2026-03-13", "--outputs", str(first)) == 0
    assert files(second) == [] and len(files(first)) == len(STORED_TABLES)
    exported = pl.read_parquet(first / "preview" / "merchant_grades" / f"month={MONTH}")
    assert_frame_equal(exported, published_table(warehouse, "merchant_grades", MONTH, "preview"))

    noisy = noisy_copy(landing, tmp_path / "noisy")
    assert preview("2026-03-14", source=noisy) == 1  # blocked, without --outputs
    assert files(first) == [] and files(second) == []
    con = connect(warehouse, read_only=True)
    try:
        assert fetch_rows(con, "SELECT count(*) FROM preview.exported") == [(0,)]
    finally:
        con.close()


def test_earlier_preview_files_that_cannot_be_removed_stop_the_next_preview(
    landing, graded_feb, tmp_path, capsys
) -> None:
    """A preview whose month's earlier files cannot be removed (their folder now read-only)
    stops with one line naming the folder, and changes nothing: the earlier rows, their
    files and the record of where they went all stay, so a later preview, once the folder
    is writable again, still removes them. Ignored, the files stayed behind and were
    forgotten, passing for the current projection."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(graded_feb, warehouse)
    with mounted_tmpfs(tmp_path / "disk", "64M") as disk:
        args = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
        assert main([*args, "--as-of", "2026-03-15", "--outputs", str(disk)]) == 0
        folder = disk / "preview" / "merchant_grades" / f"month={MONTH}"
        exported = pl.read_parquet(folder)
        stored = published_table(warehouse, "merchant_grades", MONTH, "preview")
        capsys.readouterr()
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True)
        assert remounted.returncode == 0, remounted.stderr

        assert main([*args, "--as-of", "2026-03-10"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("grading: Read-only file system: ")
        assert str(disk / "preview") in err[0]
        assert_frame_equal(pl.read_parquet(folder), exported)
        assert_frame_equal(published_table(warehouse, "merchant_grades", MONTH, "preview"), stored)
        con = connect(warehouse, read_only=True)
        try:
            recorded = fetch_rows(con, "SELECT month, outputs FROM preview.exported")
        finally:
            con.close()
        assert recorded == [(MONTH, str(disk))]

        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert main([*args, "--as-of", "2026-03-10"]) == 0
        assert not folder.exists()


def test_at_risk_compares_with_a_published_month_that_graded_no_merchant(tmp_path) -> None:
    """February published with every merchant suspended has no grade row; the latest
    published month was read from the grades, so March's preview compared with January and
    listed merchants with no current tier as at risk (a review, 2026-12-06). It compares
    with February, where no one had a tier to fall from."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    snapshot = landing / "merchants" / "month=2026-02"
    for path in snapshot.iterdir():
        read, write = (
            (pl.read_parquet, pl.DataFrame.write_parquet)
            if path.suffix == ".parquet"
            else (lambda f: pl.read_csv(f, infer_schema=False), pl.DataFrame.write_csv)
        )
        write(read(path).with_columns(status=pl.lit("suspended")), path)
    warehouse = tmp_path / "w.duckdb"
    grade_months(landing, warehouse, tmp_path / "outputs", "2026-02")
    assert published_table(warehouse, "merchant_grades", "2026-02").height == 0
    assert published_table(warehouse, "merchant_grades", "2026-01").height > 0

    preview = preview_month(landing, warehouse, "2026-03-15")
    assert preview.grades.height > 0
    assert preview.compared_month == "2026-02"
    assert preview.at_risk.height == 0


def below_february(preview, warehouse: Path) -> pl.DataFrame:
    """The projected merchants whose tier is below their published February tier (the
    policy's tiers, top first), by merchant id: who the preview must list at risk."""
    rank = {t: i for i, t in enumerate(load_policy().tier_names)}
    february = published_table(warehouse, "merchant_grades", "2026-02")
    return (
        preview.grades.join(february, on="merchant_id", suffix="_feb")
        .filter(pl.col("tier").replace_strict(rank) > pl.col("tier_feb").replace_strict(rank))
        .sort("merchant_id")
    )


@pytest.mark.parametrize("graded", ["graded_feb", "graded_mar"])
def test_preview_at_risk_lists_who_is_projected_below_their_february_tier(
    landing, graded, request
) -> None:
    """March previewed as of the 15th, with February the last month published, or with
    March itself published already: who is at risk is judged against the latest month
    published BEFORE March (February), never against March's own publication."""
    warehouse = request.getfixturevalue(graded)
    preview = preview_month(landing, warehouse, "2026-03-15")
    assert preview.compared_month == "2026-02"
    expected = below_february(preview, warehouse)
    assert expected.height > 0, "the fixture has merchants projected to fall"
    risk = preview.at_risk
    assert risk["merchant_id"].to_list() == expected["merchant_id"].to_list()
    assert set(risk["published_month"].to_list()) == {"2026-02"}
    assert risk["published_tier"].to_list() == expected["tier_feb"].to_list()
    assert risk["projected_tier"].to_list() == expected["tier"].to_list()
    assert risk["deciding"].list.len().min() > 0
    assert risk["bad_orders"].to_list() == expected["bad_orders"].to_list()
    assert (
        f"at risk: {expected.height} merchants projected below their 2026-02 tier"
        in preview_text(preview)
    )


def test_unreadable_file_stops_the_preview_with_the_ingest_error(
    landing, graded_feb, tmp_path, capsys
) -> None:
    broken = tmp_path / "landing"
    shutil.copytree(landing, broken)
    (broken / "orders" / "month=2026-03" / "part-c.csv").write_text(
        "order_id,merchant_id,buyer_id,created_at,ended_at,status,amount_usd\n"
        "OX1,M0500001,B1,2026-03-01 00:00:00,not a time,completed,1.00\n"
    )
    before = warehouse_state(graded_feb)
    args = ["preview", "--landing", str(broken), "--warehouse", str(graded_feb)]
    assert main([*args, "--as-of", "2026-03-10"]) == 1
    error = capsys.readouterr().err
    assert "orders/month=2026-03/part-c.csv" in error and "ended_at" in error
    assert warehouse_state(graded_feb) == before


def test_out_of_another_type_is_refused_before_any_work(tmp_path, capsys) -> None:
    out = tmp_path / "projected.json"
    args = ["preview", "--landing", str(tmp_path / "no-landing"), "--warehouse", "w.duckdb"]
    assert main([*args, "--as-of", "2026-03-10", "--out", str(out)]) == 1
    assert f"--out {out}: expected a .parquet or .csv file name" in capsys.readouterr().err
    assert not out.exists()


def test_a_killed_preview_s_warehouse_copy_is_deleted_by_the_next_preview(
    landing, graded_feb, tmp_path, monkeypatch
) -> None:
    """SIGKILL leaves the preview's copy of the warehouse in the temporary folder (no
    cleanup runs); the next preview deletes it. A folder of a process still running, and
    one not named by this module, stay."""
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch_root))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    command = cli_command(
        "preview", "--landing", str(landing), "--warehouse", str(graded_feb),
        "--as-of", "2026-03-15",
    )  # fmt: skip
    run_killed_at("ingest:rows_stored", "2026-03", command)
    left = list(scratch_root.glob(f"{SCRATCH_PREFIX}*"))
    assert len(left) == 1 and (left[0] / "warehouse.duckdb").is_file()
    running = scratch_root / f"{SCRATCH_PREFIX}{os.getpid()}-abc"
    other = scratch_root / f"{SCRATCH_PREFIX}kept"
    running.mkdir()
    other.mkdir()
    assert preview_month(landing, graded_feb, "2026-03-15").grades.height > 0
    assert sorted(scratch_root.iterdir()) == sorted([running, other])


def test_a_month_s_preview_replaced_or_blocked_leaves_the_other_months_previews(
    landing, graded_mar, tmp_path
) -> None:
    """One preview per month: March's, stored and then blocked, replaces and removes only
    March's rows and files; February's preview stays as it was stored."""
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(graded_mar, warehouse)
    outputs = tmp_path / "outputs"
    args = ["preview", "--landing", str(landing), "--warehouse", str(warehouse)]
    assert main([*args, "--as-of", "2026-02-15", "--outputs", str(outputs)]) == 0
    february = {t: published_table(warehouse, t, "2026-02", "preview") for t in STORED_TABLES}
    assert february["merchant_grades"].height > 0, "setup: February's preview is stored"
    assert main([*args, "--as-of", "2026-03-15", "--outputs", str(outputs)]) == 0
    noisy = noisy_copy(landing, tmp_path / "noisy")
    blocked = ["preview", "--landing", str(noisy), "--warehouse", str(warehouse)]
    assert main([*blocked, "--as-of", "2026-03-16", "--outputs", str(outputs)]) == 1
    for table in STORED_TABLES:
        assert_frame_equal(published_table(warehouse, table, "2026-02", "preview"), february[table])
        assert published_table(warehouse, table, MONTH, "preview").height == 0, table
        folder = outputs / "preview" / table
        assert sorted(p.name for p in folder.iterdir()) == ["month=2026-02"], table


def test_the_projection_is_checked_over_its_own_window_not_the_month_s(
    landing, graded_feb, tmp_path
) -> None:
    """A merchant with no service metrics before March 20, then 25 shipments due: as of
    March 10 it has fewer than min_shipments_due (20) in the window, so its on-time rate
    is undefined, and the data check recomputing that must read the same window (through
    the as-of day), or it blocks a correct projection. As of March 31 the rate is 20/25."""
    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    (copy / "service_metrics" / "month=2026-03" / "part-z.csv").write_text(
        "merchant_id,metric_date,messages_received,messages_replied_24h,dsr_item_sum,"
        "dsr_item_count,shipments_due,shipments_on_time\n"
        "M0500025,2026-03-20,0,0,0,0,25,20\n"
    )
    mid_month = preview_month(copy, graded_feb, "2026-03-10").grades
    rate = mid_month.filter(pl.col("merchant_id") == "M0500025")["on_time_ship_rate"]
    assert rate.to_list() == [None]
    final = preview_month(copy, graded_feb, "2026-03-31").grades
    rate = final.filter(pl.col("merchant_id") == "M0500025")["on_time_ship_rate"]
    assert [float(r) for r in rate.to_list()] == [0.8]
