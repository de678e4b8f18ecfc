"""What a run's policies may not do to published months (spec §10), refused before anything
runs; each case was found by an audit (2026-12-05) and went through before:

- a calendar refused at a later month had already regraded the months before it;
- a policy file edited in place, under the same version, restated its months;
- ``--policy-override`` skipped checking the calendar, and a folder given to it crashed;
- a policy file without ``effective_from`` in a dated folder silently never applied
  (since 2026-12-07 the shipped policy is undated, so such a file shares its start);
- a policy with a tier of its own was graded, and left out of the run's and the
  summary's counts.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assets.cli import main as cli_main
from assets.runner import grade_months
from pipelines.months import EARLIEST_GRADEABLE_MONTH
from pipelines.policy import DEFAULT_POLICY_PATH, PolicyError, load_calendar, policy_digest
from pipelines.policy_rollback import PolicyRedefined, PolicyRollback
from tests.helpers import (
    CONFORMANCE,
    materialize_month,
    published_state,
    run_args,
    stale_months,
)
from tests.test_policy_calendar import (
    SHIPPED,
    policy_text,
    policy_text_from,
    query,
    skipped,
    write_policy,
)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", path)
    return path


def run_log(warehouse: Path) -> list[tuple]:
    return query(warehouse, "SELECT * FROM main.run_log ORDER BY ALL")


def calendar(folder: Path, *later: tuple[str, str]) -> Path:
    """A policy folder: the shipped policy, and each (version, effective_from) of ``later``
    with the shipped numbers but for excellent, which no merchant can reach."""
    shutil.rmtree(folder, ignore_errors=True)
    write_policy(folder, "policy-2026.1.toml", SHIPPED)
    for version, start in later:
        write_policy(folder, f"policy-{version}.toml", policy_text(version, start, True))
    return folder


def versions(warehouse: Path) -> dict[str, str]:
    sql = "SELECT month, any_value(policy_version) FROM main.merchant_grades GROUP BY ALL"
    return dict(query(warehouse, sql))


# --- a refusal comes before any month of the run ------------------------------------------


def test_a_calendar_refused_at_a_later_month_regrades_no_earlier_one(
    tmp_path: Path, landing: Path
) -> None:
    """March was published under 2026.3; a calendar of 2026.1 and 2026.2 (from February)
    would move February forward to 2026.2, then refuse March. The run used to publish
    February first, leaving March stale and every way on refused."""
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    folder = tmp_path / "policies"
    grade_months(landing, warehouse, outputs, "2026-03", calendar(folder, ("2026.3", "2026-03")))
    assert versions(warehouse) == {"2026-01": "2026.1", "2026-02": "2026.1", "2026-03": "2026.3"}
    before, log_before = published_state(warehouse, outputs), run_log(warehouse)

    calendar(folder, ("2026.2", "2026-02"))
    with pytest.raises(PolicyRollback, match=r"2026-03 was published under policy 2026\.3"):
        grade_months(landing, warehouse, outputs, "2026-03", folder)

    assert published_state(warehouse, outputs) == before
    assert run_log(warehouse) == log_before
    stale = query(warehouse, "SELECT month FROM main.month_status WHERE stale")
    assert stale == []


def test_a_restated_month_after_a_regraded_one_is_refused_before_the_regrade(
    tmp_path: Path, landing: Path
) -> None:
    """February restated under an override; January's files then change. Regrading January
    changes February's key, so February would be regraded under the calendar, undoing its
    restatement: refused before January is published again."""
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02")
    newer = write_policy(tmp_path, "p.toml", policy_text("2026.2", "2026-07", no_excellent=True))
    grade_months(landing, warehouse, outputs, "2026-02", first="2026-02", policy_override=newer)
    before, log_before = published_state(warehouse, outputs), run_log(warehouse)

    orders = next((landing / "orders" / "month=2026-01").iterdir())
    orders.write_text(orders.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(PolicyRollback, match=r"2026-02 was restated, on purpose, under policy"):
        grade_months(landing, warehouse, outputs, "2026-02")

    assert published_state(warehouse, outputs) == before
    assert run_log(warehouse) == log_before


def test_a_restated_month_after_a_month_whose_key_stays_is_kept_not_refused(
    tmp_path: Path, landing: Path
) -> None:
    """January is regraded only to write its missing exports: its key stays, so February,
    restated under an override, is skipped as before, not refused."""
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02")
    newer = write_policy(tmp_path, "p.toml", policy_text("2026.2", "2026-07", no_excellent=True))
    grade_months(landing, warehouse, outputs, "2026-02", first="2026-02", policy_override=newer)
    (outputs / "tier_distribution" / "month=2026-01" / "part-0.parquet").unlink()

    results = grade_months(landing, warehouse, outputs, "2026-02")

    assert skipped(results) == ["2026-02"]
    assert versions(warehouse) == {"2026-01": "2026.1", "2026-02": "2026.2"}
    assert (outputs / "tier_distribution" / "month=2026-01" / "part-0.parquet").is_file()


# --- a version means one set of rules -----------------------------------------------------


def test_a_policy_edited_in_place_is_refused_not_a_silent_restatement(
    tmp_path: Path, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    folder = calendar(tmp_path / "policies")
    assert cli_main(run_args(landing, warehouse, outputs, "2026-02", "--policy", str(folder))) == 0
    before, log_before = published_state(warehouse, outputs), run_log(warehouse)

    edited = SHIPPED.replace("min_assessed_orders = 90", "min_assessed_orders = 91")
    assert edited != SHIPPED
    write_policy(folder, "policy-2026.1.toml", edited)
    for extra in (
        ["--policy", str(folder)],
        ["--policy-override", str(folder / "policy-2026.1.toml")],
    ):
        assert cli_main(run_args(landing, warehouse, outputs, "2026-03", *extra)) == 1
        error = capsys.readouterr().err
        assert "policy 2026.1 graded 2026-01, 2026-02 with other rules or numbers" in error
        assert "give the changed rules a new policy_version" in error
        assert published_state(warehouse, outputs) == before
        assert run_log(warehouse) == log_before

    # Under a new version the change is a new policy: from its month on.
    write_policy(folder, "policy-2026.1.toml", SHIPPED)
    newer = edited.replace('policy_version = "2026.1"', 'policy_version = "2026.2"')
    write_policy(folder, "policy-2026.2.toml", policy_text_from(newer, "2026-03"))
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--policy", str(folder))) == 0
    assert versions(warehouse) == {"2026-01": "2026.1", "2026-02": "2026.1", "2026-03": "2026.2"}


def test_the_publish_asset_refuses_a_policy_edited_in_place(tmp_path: Path) -> None:
    """The schedule's and the UI's path: one month materialized by Dagster."""
    folder = calendar(tmp_path / "policies")
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"

    def materialize(month: str):
        return materialize_month(CONFORMANCE / "landing", warehouse, outputs, month, str(folder))

    assert materialize("2026-01").success
    before, log_before = published_state(warehouse, outputs), run_log(warehouse)
    write_policy(
        folder, "policy-2026.1.toml", SHIPPED.replace('level_step = "0.02"', 'level_step = "0.03"')
    )

    result = materialize("2026-02")
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["published_month"]
    assert (
        "policy 2026.1 graded 2026-01 with other rules"
        in failures[0].step_failure_data.error.cause.message
    )
    assert published_state(warehouse, outputs) == before
    assert run_log(warehouse) == log_before


def test_the_digest_that_names_a_version_s_rules_is_stable() -> None:
    """Published months keep the digest of the rules that graded them, and a run refuses a
    version whose rules' digest differs (PolicyRedefined). A change of how the digest is
    made (a field added to Policy changes its repr) would therefore refuse every existing
    warehouse's own policy: it needs a migration of main.run_log.policy_digest, and this
    value changed with it on purpose."""
    shipped = load_calendar().policy_for("2026-01")
    assert policy_digest(shipped) == (
        "b8ba4f65852e113eb797604b6d8589fec6897795c4ae523d0fa34155f82b0954"
    )
    assert issubclass(PolicyRedefined, PolicyError)


# --- the calendar is checked whatever the run ---------------------------------------------


def test_an_override_run_still_refuses_a_broken_calendar(tmp_path: Path, landing: Path) -> None:
    folder = calendar(tmp_path / "policies")
    write_policy(
        folder,
        "policy-2026.2.toml",
        policy_text("2026.2", "2026-03").replace("days = 90", "days = 0"),
    )
    warehouse = tmp_path / "w.duckdb"
    refused = r"policy-2026\.2\.toml: window\.days must be from 1 to 36,525 \(a century\), got 0"
    with pytest.raises(PolicyError, match=refused):
        grade_months(
            landing, warehouse, tmp_path / "out", "2026-01", folder,
            policy_override=DEFAULT_POLICY_PATH,
        )  # fmt: skip
    assert not warehouse.exists()


def test_a_folder_given_to_policy_override_is_refused_with_a_message(
    tmp_path: Path, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = calendar(tmp_path / "policies")
    args = run_args(landing, tmp_path / "w.duckdb", tmp_path / "out", "2026-01", "--create")
    assert cli_main([*args, "--policy-override", str(folder)]) == 1
    error = capsys.readouterr().err
    assert f"{folder} is a folder, not a policy file" in error
    assert "Traceback" not in error
    assert not (tmp_path / "w.duckdb").exists()


def test_a_second_file_without_effective_from_is_refused(tmp_path: Path) -> None:
    """The shipped policy has no effective_from (in force from the first month): a file
    added without one would share its start, and one of the two would never apply."""
    folder = calendar(tmp_path / "policies")
    write_policy(folder, "policy-2026.2.toml", policy_text("2026.2", None, no_excellent=True))
    with pytest.raises(
        PolicyError,
        match=r"policy-2026\.1\.toml and .*policy-2026\.2\.toml both take effect from the "
        r"start \(no effective_from\)",
    ):
        load_calendar(folder)


def test_a_file_without_effective_from_before_one_from_the_earliest_month_is_refused(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "policies"
    write_policy(folder, "base.toml", policy_text("2025.9", None))
    write_policy(folder, "first.toml", policy_text("2026.1", EARLIEST_GRADEABLE_MONTH))
    with pytest.raises(
        PolicyError,
        match=r"base\.toml has no effective_from, so it is in force only before 0001-02, the "
        r"first month of .*first\.toml: for no month from 0001-02, the earliest gradeable",
    ):
        load_calendar(folder)


def test_an_undated_base_policy_before_a_later_dated_one_stays_in_force_from_the_start(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "policies"
    write_policy(folder, "base.toml", policy_text("2025.9", None))
    write_policy(folder, "later.toml", policy_text("2026.2", "2026-03"))
    months = load_calendar(folder)
    assert [months.policy_for(m).version for m in ("2024-01", "2026-03")] == ["2025.9", "2026.2"]
    # A base before a policy from 2024-01 grades the months before it (the partitions
    # start at the landing's first month; it was refused as grading no month).
    write_policy(folder, "later.toml", policy_text("2026.2", "2024-01"))
    months = load_calendar(folder)
    assert [months.policy_for(m).version for m in ("2023-12", "2024-01")] == ["2025.9", "2026.2"]


# --- a policy's own tiers are counted -----------------------------------------------------


def test_a_tier_the_shipped_policy_lacks_is_counted_in_the_run_and_the_summary(
    tmp_path: Path, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A policy with a tier above excellent (the same numbers and 85 assessed orders, so
    excellent merchants become platinum) grades fine; its tier was missing from the counts,
    which then added up to fewer merchants than were graded."""
    platinum = SHIPPED.replace(
        "[tiers.excellent]",
        '[tiers.platinum]\nmin_assessed_orders = 90\nbad_order_rate_max = "0.03"\n'
        'seller_dispute_rate_max = "0.008"\npositive_feedback_rate_min = "0.97"\n'
        'dsr_item_avg_min = "4.7"\non_time_ship_rate_min = "0.95"\n'
        'response_rate_24h_min = "0.80"\n\n[tiers.excellent]',
    )
    for table, value in (
        ("tier_multiplier", '"1.6"'), ("showcase_slots", "4"),
        ("promotion_eligible", "true"), ("email_quota", "3000"),
    ):  # fmt: skip
        platinum = platinum.replace(
            f"[exposure.{table}]\n", f"[exposure.{table}]\nplatinum = {value}\n"
        )
    policy = write_policy(tmp_path, "platinum.toml", platinum)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"

    args = run_args(landing, warehouse, outputs, "2026-01", "--policy", str(policy), "--create")
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    counts = dict(query(
        warehouse, "SELECT tier, count(*) FROM main.merchant_grades GROUP BY ALL"
    ))  # fmt: skip
    assert counts.get("platinum", 0) > 0
    published = next(line for line in out.splitlines() if "2026-01 published" in line)
    assert f"platinum {counts['platinum']}" in published

    assert cli_main(["summary", "--warehouse", str(warehouse)]) == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    assert header.split()[-2:] == ["platinum", "provisional"]
    graded = int(row.split()[1])
    by_tier = [int(n) for n in re.findall(r"(\d+) \(\s*[\d.]+%\)", row)]
    assert len(by_tier) == 5
    assert graded == sum(counts.values()) == sum(by_tier)


def test_a_run_refused_by_its_policies_still_shows_a_corrected_month_stale(
    tmp_path: Path, landing: Path
) -> None:
    """January's landing corrected, then a run under the shipped calendar, refused before
    any month for moving February back to 2026.1: nothing changes, but January and the
    months built on it show stale, as a refused ``--from`` run leaves them. They showed
    current (found by a black-box review, 2026-12-05)."""
    folder = calendar(tmp_path / "policies", ("2026.2", "2026-02"))
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03", folder, dashboard=False)
    before = published_state(warehouse, outputs)
    (landing / "bad_orders" / "month=2026-01" / "added.csv").write_text(
        "order_id,merchant_id,reason,recorded_at,exempt\n"
        "O0500000001,M0500001,late_shipment,2026-01-28T12:00:00Z,false\n"
    )

    with pytest.raises(PolicyRollback, match="2026-02 was published under policy 2026.2"):
        grade_months(landing, warehouse, outputs, "2026-03", dashboard=False)

    assert published_state(warehouse, outputs) == before
    assert stale_months(warehouse) == {"2026-01": True, "2026-02": True, "2026-03": True}


# --- one calendar for the CLI, the schedule and the dashboard -----------------------------


def test_a_month_is_not_graded_under_a_calendar_the_month_before_was_not(
    tmp_path: Path, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """February was graded under 2026.2 (the CLI's --policy); the code location, without
    GRADING_POLICY, would grade March under the shipped 2026.1: refused on both paths."""
    folder = calendar(tmp_path / "policies", ("2026.2", "2026-02"))
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02", folder)
    before, log_before = published_state(warehouse, outputs), run_log(warehouse)

    result = materialize_month(landing, warehouse, outputs, "2026-03")
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["published_month"]
    message = failures[0].step_failure_data.error.cause.message
    assert "2026-03 cannot be graded under the policy calendar" in message
    assert (
        "2026-02 was published under policy 2026.2, and that calendar does not hold 2026.2"
        in message
    )

    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--from", "2026-03")) == 1
    assert "2026-03 cannot be graded under the policy calendar" in capsys.readouterr().err
    assert published_state(warehouse, outputs) == before
    assert run_log(warehouse) == log_before

    args = run_args(landing, warehouse, outputs, "2026-03", "--from", "2026-03")
    assert cli_main([*args, "--policy", str(folder)]) == 0
    assert versions(warehouse)["2026-03"] == "2026.2"


def test_grading_run_takes_its_calendar_from_grading_policy(
    tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variable the Dagster code location reads: a shell that exports it for Dagster
    and runs ``grading run`` without --policy grades under the same calendar."""
    folder = calendar(tmp_path / "policies", ("2026.2", "2026-02"))
    monkeypatch.setenv("GRADING_POLICY", str(folder))
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    assert cli_main(run_args(landing, warehouse, outputs, "2026-02", "--create")) == 0
    assert versions(warehouse) == {"2026-01": "2026.1", "2026-02": "2026.2"}


def test_explain_and_the_dashboard_take_their_calendar_from_grading_policy(
    tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``grading explain`` and ``grading dashboard`` explained under the shipped calendar
    whatever GRADING_POLICY said (found by a review, 2026-12-05): March, graded under
    2026.2, was explained against 2026.1's thresholds. Now they read the variable as
    ``run`` does, and take a calendar folder as --policy too."""
    folder = calendar(tmp_path / "policies", ("2026.2", "2026-03"))
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03", folder, dashboard=False)
    (merchant,) = query(warehouse, "SELECT min(merchant_id) FROM main.merchant_grades")[0]
    explain = ["explain", "--warehouse", str(warehouse), "--merchant", merchant]

    def explained(*args: str) -> str:
        assert cli_main([*explain, *args]) == 0
        return capsys.readouterr().out

    monkeypatch.delenv("GRADING_POLICY", raising=False)
    # Under the shipped calendar March is refused (tests/test_explain_policy.py).
    assert cli_main([*explain, "--month", "2026-03"]) == 1
    assert "2026-03 was graded under policy 2026.2, not policy 2026.1" in capsys.readouterr().err
    by_folder = explained("--month", "2026-03", "--policy", str(folder))
    assert by_folder.splitlines()[0].endswith("graded under policy 2026.2)")
    assert "the thresholds above are policy" not in by_folder
    # February, under 2026.1 in both calendars, reads the same either way.
    assert explained("--month", "2026-02", "--policy", str(folder)) == explained(
        "--month", "2026-02"
    )

    monkeypatch.setenv("GRADING_POLICY", str(folder))
    assert explained("--month", "2026-03") == by_folder
    assert cli_main(["dashboard", "--warehouse", str(warehouse), "--out", str(tmp_path / "d")]) == 0
    page = (tmp_path / "d" / "index.html").read_text(encoding="utf-8")
    assert "policy: <b>2026.2</b>" in page
    assert "Months shown were graded under policy" in page  # January and February: 2026.1


def test_the_dashboard_takes_the_policy_of_the_latest_month_it_shows(
    tmp_path: Path, landing: Path
) -> None:
    """Regrading January alone builds the dashboard with the run's last month, January;
    it shows March, graded under 2026.2, and is drawn against 2026.2's thresholds."""
    folder = calendar(tmp_path / "policies", ("2026.2", "2026-03"))
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03", folder, dashboard=False)
    grade_months(landing, warehouse, outputs, "2026-01", folder, first="2026-01", force=True)
    page = (outputs / "dashboard" / "index.html").read_text(encoding="utf-8")
    assert "months: <b>2026-01..2026-03</b>" in page
    assert "policy: <b>2026.2</b>" in page


def test_a_version_edited_before_the_refusal_passes_as_its_months_now_stand(
    tmp_path: Path, landing: Path
) -> None:
    """A warehouse whose policy file was edited in place before this was refused holds both
    digests in its history: the file its months were last published under passes, the
    earlier one is refused (found in review)."""
    import duckdb

    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    folder = calendar(tmp_path / "policies")
    grade_months(landing, warehouse, outputs, "2026-01", folder)
    # History as the old code left it: January first published under other numbers.
    con = duckdb.connect(str(warehouse))
    con.execute(
        "INSERT INTO main.run_log BY NAME SELECT * REPLACE ("
        "published_at - INTERVAL 1 DAY AS published_at, 'edited-earlier' AS policy_digest) "
        "FROM main.run_log"
    )
    con.close()
    assert skipped(grade_months(landing, warehouse, outputs, "2026-01", folder)) == ["2026-01"]


def test_a_month_regraded_after_an_earlier_one_is_refused_naming_it(
    tmp_path: Path, landing: Path
) -> None:
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02")
    newer = write_policy(tmp_path, "p.toml", policy_text("2026.2", "2026-07", no_excellent=True))
    grade_months(landing, warehouse, outputs, "2026-02", first="2026-02", policy_override=newer)
    orders = next((landing / "orders" / "month=2026-01").iterdir())
    orders.write_text(orders.read_text(encoding="utf-8") + "\n", encoding="utf-8")

    with pytest.raises(PolicyRollback) as refused:
        grade_months(landing, warehouse, outputs, "2026-02")
    assert "regrades 2026-02 because it regrades 2026-01 first" in str(refused.value)
    assert "grading run --through 2026-01" in str(refused.value)

    # The way out it names: January alone, then February's restatement again.
    assert skipped(grade_months(landing, warehouse, outputs, "2026-01")) == []
    grade_months(landing, warehouse, outputs, "2026-02", first="2026-02", policy_override=newer)
    assert versions(warehouse) == {"2026-01": "2026.1", "2026-02": "2026.2"}


def test_a_month_restated_under_one_override_is_regraded_under_another(
    tmp_path: Path, landing: Path
) -> None:
    """February restated under override A, then run again under override B (other rules,
    the same inputs): its key under A no longer speaks for it, so it is regraded under B,
    not skipped as unchanged."""
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-02")
    first = write_policy(tmp_path, "a.toml", policy_text("2026.2", "2026-07", no_excellent=True))
    grade_months(landing, warehouse, outputs, "2026-02", first="2026-02", policy_override=first)
    assert versions(warehouse) == {"2026-01": "2026.1", "2026-02": "2026.2"}

    second = write_policy(tmp_path, "b.toml", policy_text("2026.3", "2026-07"))
    results = grade_months(
        landing, warehouse, outputs, "2026-02", first="2026-02", policy_override=second
    )

    assert skipped(results) == []
    assert versions(warehouse) == {"2026-01": "2026.1", "2026-02": "2026.3"}
