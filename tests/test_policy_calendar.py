"""Policies over time (spec §10): each month is graded under the policy in force for it.

A policy file says the month it takes effect from (``effective_from``); a policy folder is
the calendar. Adding a policy regrades its months on and leaves earlier months, their rows
and their run keys, as they were; regrading an earlier month under another policy is an
explicit ``--policy-override``, logged as a restatement.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import pipelines.policy as policies
from assets.cli import main as cli_main
from assets.partitions import monthly_partitions
from assets.runner import grade_months
from pipelines.months import EARLIEST_GRADEABLE_MONTH
from pipelines.policy import DEFAULT_POLICY_PATH, PolicyError
from pipelines.policy_rollback import PolicyRollback
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import (
    CONFORMANCE,
    cli_command,
    materialize_month,
    published_state,
    run_args,
    run_killed_at,
    without_configured_start,
)

SHIPPED = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
EXCELLENT_ORDERS = "min_assessed_orders = 90"


def policy_text(version: str, effective_from: str | None, no_excellent: bool = False) -> str:
    """The shipped policy's numbers under another version and start; ``no_excellent``: no
    merchant can reach excellent (its minimum of assessed orders is out of reach)."""
    for line in ('policy_version = "2026.1"\n', EXCELLENT_ORDERS):
        assert line in SHIPPED, f"test setup: {line!r} is not in the shipped policy"
    text = policy_text_from(SHIPPED, effective_from)
    text = text.replace('policy_version = "2026.1"\n', f'policy_version = "{version}"\n')
    if no_excellent:
        text = text.replace(EXCELLENT_ORDERS, "min_assessed_orders = 100000")
    return text


def policy_text_from(text: str, effective_from: str | None) -> str:
    """A policy file's ``text`` in force from ``effective_from`` (None: from the start),
    whatever start it said before: the line follows ``policy_version``."""
    start = f'effective_from = "{effective_from}"\n' if effective_from else ""
    text = re.sub(r"(?m)^effective_from = .*\n", "", text)
    version = re.search(r"(?m)^policy_version = .*\n", text)
    assert version, "test setup: no policy_version line"
    return text[: version.end()] + start + text[version.end() :]


def write_policy(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def skipped(results) -> list[str]:
    return [r.month for r in results if r.unchanged_since]


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_rows(con, sql)
    finally:
        con.close()


def month_rows(state: dict, months: tuple[str, ...]) -> dict:
    """The published rows and export digests of ``months`` only."""
    tables = {
        table: [row for row in rows if any(str(v) in months for v in row[:2])]
        for table, rows in state["tables"].items()
    }
    files = {k: v for k, v in state["files"].items() if any(f"month={m}" in k for m in months)}
    return {"tables": tables, "files": files}


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", path)
    return path


# --- the calendar ------------------------------------------------------------------------


def test_shipped_calendar_holds_2026_1_from_the_first_month() -> None:
    calendar = policies.load_calendar()
    assert [p.version for p in calendar.policies] == ["2026.1"]
    assert calendar.policies[0].effective_from is None  # in force from the start
    for month in (
        EARLIEST_GRADEABLE_MONTH,
        "2019-12",
        monthly_partitions.get_first_partition_key(),
    ):
        assert calendar.policy_for(month) == policies.load_policy()


def test_a_landing_that_starts_before_2024_is_graded_under_the_shipped_policy(
    tmp_path: Path,
) -> None:
    """Spec §9 grades every month from the landing folder's earliest; §10's shipped calendar
    holds 2026.1 from the first month. The shipped file said 2024-01 (the partitions' old
    fixed start), so a landing that began in 2019 was refused before anything ran."""
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    environ = without_configured_start(dict(os.environ))
    environ["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    generate = ["generate", "--out", str(landing), "--merchants", "60"]
    generate += ["--months", "2019-12..2020-02", "--orders-per-month", "5000", "--seed", "3"]
    subprocess.run(cli_command(*generate), env=environ, check=True, capture_output=True)
    run = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--create"]
    run += ["--outputs", str(tmp_path / "out"), "--through", "2020-02", "--no-dashboard"]
    graded = subprocess.run(cli_command(*run), env=environ, capture_output=True, text=True)
    assert graded.returncode == 0, graded.stderr[-2000:]
    sql = "SELECT month, any_value(policy_version), count(*) FROM main.merchant_grades GROUP BY 1"
    months = sorted(query(warehouse, sql))
    assert [(month, version) for month, version, _ in months] == [
        ("2019-12", "2026.1"),
        ("2020-01", "2026.1"),
        ("2020-02", "2026.1"),
    ]
    assert all(merchants > 0 for _, _, merchants in months)


def test_each_month_gets_the_latest_policy_in_force(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    write_policy(folder, "a.toml", policy_text("2026.1", "2024-01"))
    write_policy(folder, "b.toml", policy_text("2026.2", "2026-03"))
    write_policy(folder, "c.toml", policy_text("2027.1", "2027-01"))
    calendar = policies.load_calendar(folder)
    assert {m: calendar.policy_for(m).version for m in ("2024-01", "2026-02", "2026-03")} == {
        "2024-01": "2026.1",
        "2026-02": "2026.1",
        "2026-03": "2026.2",
    }
    assert calendar.policy_for("2027-05").version == "2027.1"


def test_a_file_without_effective_from_is_in_force_from_the_start(tmp_path: Path) -> None:
    path = write_policy(tmp_path, "old.toml", policy_text("2025.9", None))
    calendar = policies.load_calendar(path)
    assert calendar.policy_for("1999-01").version == "2025.9"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"a.toml": ("2026.1", "2026-01"), "b.toml": ("2026.2", "2026-01")},
            r"a\.toml and .*b\.toml both take effect from 2026-01",
        ),
        (
            {"a.toml": ("2026.1", "2024-01"), "b.toml": ("2026.1", "2026-07")},
            r"a\.toml and .*b\.toml both have policy_version '2026\.1'",
        ),
        ({"a.toml": ("2026.1", "2026-13")}, r"a\.toml: 'effective_from' must be a month"),
        ({}, r"holds no \*\.toml policy file"),
    ],
)
def test_an_ambiguous_or_broken_calendar_is_refused(tmp_path: Path, files, message) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    for name, (version, start) in files.items():
        write_policy(folder, name, policy_text(version, start))
    with pytest.raises(PolicyError, match=message):
        policies.load_calendar(folder)


def test_a_month_no_policy_is_in_force_for_is_refused_before_anything_runs(
    tmp_path: Path, landing: Path
) -> None:
    late = write_policy(tmp_path, "late.toml", policy_text("2026.2", "2026-02"))
    warehouse = tmp_path / "w.duckdb"
    with pytest.raises(PolicyError, match=r"no policy of .*late\.toml is in force for 2026-01"):
        grade_months(landing, warehouse, tmp_path / "out", "2026-03", policy_file=late)
    assert not warehouse.exists()


# --- grading through the calendar --------------------------------------------------------


def test_a_new_policy_regrades_from_its_month_and_leaves_earlier_months_untouched(
    tmp_path: Path, landing: Path
) -> None:
    folder = tmp_path / "policies"
    write_policy(folder, "policy-2026.1.toml", SHIPPED)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03", policy_file=folder)
    before = published_state(warehouse, outputs)
    keys_before = query(warehouse, "SELECT month, run_key FROM main.run_log ORDER BY month")
    excellent_in_march = "SELECT count(*) FILTER (tier = 'excellent') FROM main.merchant_grades"
    assert query(warehouse, f"{excellent_in_march} WHERE month = '2026-03'")[0][0] > 0

    write_policy(folder, "policy-2026.2.toml", policy_text("2026.2", "2026-03", no_excellent=True))
    results = grade_months(landing, warehouse, outputs, "2026-03", policy_file=folder)

    assert skipped(results) == ["2026-01", "2026-02"]
    earlier = ("2026-01", "2026-02")
    assert month_rows(published_state(warehouse, outputs), earlier) == month_rows(before, earlier)
    log = query(
        warehouse,
        "SELECT month, run_key, policy_version, restated, restatement_reason "
        "FROM main.run_log ORDER BY published_at",
    )
    assert [(m, k) for m, k, *_ in log[:2]] == keys_before[:2]  # January, February as they were
    assert [(m, v, r, why) for m, _, v, r, why in log[3:]] == [
        ("2026-03", "2026.2", True, "policy 2026.1 -> 2026.2; grades changed")
    ]
    versions = query(
        warehouse,
        "SELECT month, list(DISTINCT policy_version), count(*) FILTER (tier = 'excellent') "
        "FROM main.merchant_grades GROUP BY month ORDER BY month",
    )
    assert [(m, v) for m, v, _ in versions] == [
        ("2026-01", ["2026.1"]), ("2026-02", ["2026.1"]), ("2026-03", ["2026.2"]),
    ]  # fmt: skip
    assert versions[2][2] == 0  # March graded under 2026.2's numbers

    again = grade_months(landing, warehouse, outputs, "2026-03", policy_file=folder)
    assert skipped(again) == ["2026-01", "2026-02", "2026-03"]


def test_a_policy_override_is_an_explicit_restatement_an_ordinary_run_keeps(
    tmp_path: Path, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03")
    newer = write_policy(tmp_path, "p.toml", policy_text("2026.2", "2026-07", no_excellent=True))
    # January alone, under a policy that is not in force for it: asked for explicitly.
    run = ["run", "--landing", str(landing), "--warehouse", str(warehouse)]
    run += ["--outputs", str(outputs), "--from", "2026-01", "--through", "2026-01"]
    code = cli_main([*run, "--policy-override", str(newer)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2026-01 restated (policy override 2026.2" in out
    log = query(
        warehouse,
        "SELECT month, policy_version, restated, restatement_reason, policy_override "
        "FROM main.run_log ORDER BY published_at",
    )
    assert log[-1] == ("2026-01", "2026.2", True, "policy override 2026.2; grades changed", True)
    status = dict(query(warehouse, "SELECT month, stale FROM main.month_status"))
    assert status == {"2026-01": False, "2026-02": True, "2026-03": True}

    # An ordinary run keeps January's restatement and regrades what built on it.
    results = grade_months(landing, warehouse, outputs, "2026-03")
    assert skipped(results) == ["2026-01"]
    version_sql = "SELECT month, any_value(policy_version) FROM main.merchant_grades GROUP BY ALL"
    versions = dict(query(warehouse, version_sql))
    assert versions == {"2026-01": "2026.2", "2026-02": "2026.1", "2026-03": "2026.1"}
    assert not any(dict(query(warehouse, "SELECT month, stale FROM main.month_status")).values())

    # Regrading January (--force here; changed files would do the same) would undo the
    # restatement: refused, as only another restatement may move it.
    before = published_state(warehouse, outputs)
    with pytest.raises(
        PolicyRollback, match=r"2026-01 was restated, on purpose, under policy 2026\.2"
    ):
        grade_months(landing, warehouse, outputs, "2026-03", force=True)
    assert published_state(warehouse, outputs) == before


def test_a_restatement_killed_in_its_exports_is_refused_with_how_to_finish_them(
    tmp_path: Path, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """January restated under an override and killed between two exports: a routine run
    regrades it (its exports are not complete), which would undo the restatement, so it
    is refused, and the refusal says how to finish the exports without moving the grades."""
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02")
    newer = write_policy(tmp_path, "p.toml", policy_text("2026.2", "2026-07", no_excellent=True))
    restate = run_args(landing, warehouse, outputs, "2026-01", "--from", "2026-01")
    restate += ["--policy-override", str(newer), "--no-dashboard"]
    run_killed_at("exports:between_swaps", "2026-01", cli_command(*restate))

    assert cli_main(run_args(landing, warehouse, outputs, "2026-02")) == 1
    error = capsys.readouterr().err
    assert "2026-01 was restated, on purpose, under policy 2026.2" in error
    assert "Its Parquet exports are not recorded as complete" in error
    assert (
        "grading run --from 2026-01 --through 2026-01 --policy-override with the file of "
        "policy 2026.2"
    ) in error
    assert cli_main(restate) == 0  # what the note says: the restatement, again
    results = grade_months(landing, warehouse, outputs, "2026-02")
    assert skipped(results) == ["2026-01"]
    exported = query(
        warehouse,
        f"SELECT DISTINCT policy_version FROM '{outputs}/merchant_grades/month=2026-01/*.parquet'",
    )
    assert exported == [("2026.2",)]


# --- a published month is never moved back to an older policy ----------------------------


def newer_policy_calendar(folder: Path, start: str) -> Path:
    """The shipped policy, and 2026.2 (no merchant excellent) from ``start``."""
    write_policy(folder, "policy-2026.1.toml", SHIPPED)
    write_policy(folder, "policy-2026.2.toml", policy_text("2026.2", start, no_excellent=True))
    return folder


def run_log(warehouse: Path) -> list[tuple]:
    return query(warehouse, "SELECT * FROM main.run_log ORDER BY ALL")


def test_a_calendar_without_a_month_s_newer_policy_is_refused_not_a_silent_restatement(
    tmp_path: Path, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = newer_policy_calendar(tmp_path / "policies", "2026-02")
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02", policy_file=folder)
    before, log_before = published_state(warehouse, outputs), run_log(warehouse)
    version = "SELECT DISTINCT policy_version FROM main.merchant_grades WHERE month = '2026-02'"
    assert query(warehouse, version) == [("2026.2",)]

    # A routine run that forgot --policy (the shipped calendar lacks 2026.2) ...
    assert cli_main(run_args(landing, warehouse, outputs, "2026-02")) == 1
    error = capsys.readouterr().err
    assert "2026-02 was published under policy 2026.2" in error
    assert "does not hold 2026.2" in error and "regrade it under 2026.1 instead" in error
    assert "grading run --from 2026-02 --through 2026-02 --policy-override" in error
    # ... and a calendar that now starts 2026.2 after the month, with --force.
    newer_policy_calendar(folder, "2026-03")
    args = run_args(landing, warehouse, outputs, "2026-02", "--policy", str(folder))
    args += ["--from", "2026-02", "--force"]
    assert cli_main(args) == 1
    assert "starts 2026.2 only from 2026-03" in capsys.readouterr().err
    assert published_state(warehouse, outputs) == before
    assert run_log(warehouse) == log_before

    # Moving it back on purpose is an override, logged as a restatement.
    restate = ["--from", "2026-02", "--policy-override", str(DEFAULT_POLICY_PATH)]
    assert cli_main(run_args(landing, warehouse, outputs, "2026-02", *restate)) == 0
    last = query(
        warehouse,
        "SELECT month, policy_version, restated, policy_override FROM main.run_log "
        "ORDER BY published_at DESC LIMIT 1",
    )
    assert last == [("2026-02", "2026.1", True, True)]


def test_the_publish_asset_refuses_an_older_policy_for_a_published_month(tmp_path: Path) -> None:
    folder = newer_policy_calendar(tmp_path / "policies", "2026-01")
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"

    def materialize(policy_file: str):
        landing = CONFORMANCE / "landing"
        return materialize_month(landing, warehouse, outputs, "2026-01", policy_file)

    assert materialize(str(folder)).success
    before, log_before = published_state(warehouse, outputs), run_log(warehouse)

    result = materialize("")  # the schedule's default: the shipped calendar
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["published_month"]
    message = failures[0].step_failure_data.error.cause.message
    assert "2026-01 was published under policy 2026.2" in message
    assert published_state(warehouse, outputs) == before
    assert run_log(warehouse) == log_before


def test_a_month_is_not_graded_past_an_earlier_one_a_newer_policy_regrades(
    tmp_path: Path, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new policy from February, and March graded alone: March was published under
    2026.2 while February stayed under 2026.1, with nothing stale and nothing said (found
    by a review, 2026-12-06). Spec §10: the new policy regrades every month from its
    start, so March alone is refused, on the CLI and in a Dagster run of the month,
    naming February; a run from February grades both. ``grading summary`` names the
    months due before that run, and none after it."""
    folder = tmp_path / "policies"
    write_policy(folder, "policy-2026.1.toml", SHIPPED)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03", policy_file=folder)
    newer_policy_calendar(folder, "2026-02")
    before, log_before = published_state(warehouse, outputs), run_log(warehouse)

    summary = ["summary", "--warehouse", str(warehouse), "--policy", str(folder)]
    assert cli_main(summary) == 0
    due = capsys.readouterr().out.split(f"due for a newer policy of {folder}:\n")[1]
    assert due.splitlines()[:3] == [
        "  2026-02  published under 2026.1, the calendar gives 2026.2 (in force from 2026-02)",
        "  2026-03  published under 2026.1, the calendar gives 2026.2 (in force from 2026-02)",
        f"  (regrade them in order: grading run --from 2026-02 --through 2026-03, with "
        f"--policy {folder})",
    ]
    assert cli_main(summary[:3]) == 0  # the shipped calendar gives them no newer policy
    assert "due for a newer policy of" in (shipped := capsys.readouterr().out)
    assert shipped.split("due for a newer policy of ")[1].split("\n")[0].endswith(": none")

    march_alone = ["--from", "2026-03", "--policy", str(folder)]
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", *march_alone)) == 1
    error = capsys.readouterr().err
    assert (
        "2026-03 cannot be graded before 2026-02: 2026-02 was published under policy "
        "2026.1, and the policy calendar"
    ) in error
    assert "gives it 2026.2 (in force from 2026-02)" in error
    assert "grade from 2026-02 (grading run --from 2026-02 --through 2026-03)" in error
    result = materialize_month(landing, warehouse, outputs, "2026-03", str(folder))
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["published_month"]
    assert "2026-03 cannot be graded before 2026-02" in (
        failures[0].step_failure_data.error.cause.message
    )
    assert published_state(warehouse, outputs) == before
    assert run_log(warehouse) == log_before

    from_february = ["--from", "2026-02", "--policy", str(folder)]
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", *from_february)) == 0
    assert query(
        warehouse,
        "SELECT month, list(DISTINCT policy_version) FROM main.merchant_grades "
        "GROUP BY month ORDER BY month",
    ) == [("2026-01", ["2026.1"]), ("2026-02", ["2026.2"]), ("2026-03", ["2026.2"])]
    capsys.readouterr()
    assert cli_main(summary) == 0
    assert f"due for a newer policy of {folder}: none\n" in capsys.readouterr().out


# --- credit under a policy that counts feedback otherwise --------------------------------


def credit_policy_text(version: str, effective_from: str) -> str:
    """The shipped policy under another version and start, counting feedback otherwise:
    only 5 stars is positive, orders under $20 earn nothing, two periods a month."""
    text = policy_text(version, effective_from)
    for old, new in (
        ("positive_min_stars = 4", "positive_min_stars = 5"),
        ('min_order_amount_usd = "5.00"', 'min_order_amount_usd = "20.00"'),
        ("period_start_days = [1, 11, 21]", "period_start_days = [1, 16]"),
    ):
        assert old in text, f"test setup: {old!r} is not in the shipped policy"
        text = text.replace(old, new)
    return text


def test_a_month_counts_all_its_credit_history_under_its_own_policy(
    tmp_path: Path, landing: Path
) -> None:
    """Spec §10 and §3: from the month a policy that counts feedback otherwise takes
    effect, a month's credit points are all feedback history before its cutoff counted
    under that policy, January's included, not January's points as 2026.1 counted them
    plus the rest; January itself keeps 2026.1's. The grades equal a fresh warehouse's,
    and a month published before the change (graded again as its policy changed) too."""
    from pipelines.months import grading_window
    from pipelines.rules.credit import credit_points_earned
    from pipelines.warehouse import fetch_frame

    def recounted(con, month: str, policy) -> dict[str, int]:
        """All feedback before the month's cutoff, counted by the rules under ``policy``."""
        cutoff = grading_window(month, policy.window_days).cutoff
        rows = fetch_frame(
            con,
            "SELECT merchant_id, buyer_id, stars, feedback_at, order_amount_usd "
            "FROM raw.feedback WHERE month <= $m AND feedback_at < $cutoff",
            {"m": month, "cutoff": cutoff},
        )
        points = credit_points_earned(rows.lazy(), policy).collect()
        return dict(points.select("merchant_id", "points").iter_rows())

    from pipelines.policy import load_policy

    folder = tmp_path / "policies"
    write_policy(folder, "policy-2026.1.toml", SHIPPED)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03", policy_file=folder)
    text = credit_policy_text("2026.2", "2026-02")
    write_policy(folder, "policy-2026.2.toml", text)
    grade_months(landing, warehouse, outputs, "2026-03", policy_file=folder)
    fresh = tmp_path / "fresh"
    grade_months(landing, fresh / "w.duckdb", fresh / "out", "2026-03", policy_file=folder)

    shipped = load_policy(folder / "policy-2026.1.toml")
    newer = load_policy(folder / "policy-2026.2.toml")
    con = connect(warehouse, read_only=True)
    try:
        for month, policy in (("2026-01", shipped), ("2026-02", newer), ("2026-03", newer)):
            expected = recounted(con, month, policy)
            published = dict(
                fetch_rows(
                    con,
                    "SELECT merchant_id, credit_points FROM main.merchant_grades WHERE month = $m",
                    {"m": month},
                )
            )
            assert published == {m: expected.get(m, 0) for m in published}, month
        # the rule change moves points: March under 2026.1's rule would differ
        assert recounted(con, "2026-03", shipped) != recounted(con, "2026-03", newer)
    finally:
        con.close()
    grades = "SELECT * EXCLUDE (policy_version) FROM main.merchant_grades ORDER BY ALL"
    assert query(warehouse, grades) == query(fresh / "w.duckdb", grades)


def test_a_ledger_stored_before_the_recount_rule_is_not_built_on_when_its_history_mixed_rules(
    tmp_path: Path, landing: Path
) -> None:
    """A warehouse graded before 2026-12-04 rolled February's ledger on January's points
    as 2026.1 counted them, though February was counted under 2026.2's rule, and logged
    February under 2026.2 all the same. Its ledger has no ledger_rule_key. Regrading March
    alone (``--from``) must count the history again under 2026.2, not build on that mixed
    ledger: March then equals a fresh warehouse's."""
    folder = tmp_path / "policies"
    write_policy(folder, "policy-2026.1.toml", SHIPPED)
    write_policy(folder, "policy-2026.2.toml", credit_policy_text("2026.2", "2026-02"))
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03", policy_file=folder)
    fresh = tmp_path / "fresh"
    grade_months(landing, fresh / "w.duckdb", fresh / "out", "2026-03", policy_file=folder)

    # What the earlier code stored: February = January's ledger + February's points.
    con = connect(warehouse)
    try:
        con.execute("UPDATE work.feedback_counts_log SET ledger_rule_key = NULL")
        con.execute(
            "CREATE TEMP TABLE old_february AS "
            "SELECT '2026-02' AS month, merchant_id, sum(delta) AS points_delta, "
            "sum(points) AS credit_points FROM ("
            "  SELECT merchant_id, 0 AS delta, credit_points AS points "
            "  FROM work.credit_ledger WHERE month = '2026-01' "
            "  UNION ALL SELECT merchant_id, points_delta, points_delta "
            "  FROM work.credit_ledger WHERE month = '2026-02') GROUP BY merchant_id"
        )
        stored = "SELECT merchant_id, credit_points FROM {} WHERE month = '2026-02' ORDER BY 1"
        assert fetch_rows(con, stored.format("old_february")) != fetch_rows(
            con, stored.format("work.credit_ledger")
        ), "the rule change must move February's points for this test to mean anything"
        con.execute("DELETE FROM work.credit_ledger WHERE month = '2026-02'")
        con.execute("INSERT INTO work.credit_ledger BY NAME SELECT * FROM old_february")
    finally:
        con.close()

    grade_months(
        landing, warehouse, outputs, "2026-03", policy_file=folder, first="2026-03", force=True
    )
    march = (
        "SELECT * EXCLUDE (policy_version) FROM main.merchant_grades "
        "WHERE month = '2026-03' ORDER BY ALL"
    )
    assert query(warehouse, march) == query(fresh / "w.duckdb", march)
