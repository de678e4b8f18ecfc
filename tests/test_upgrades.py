"""A warehouse graded by an earlier version of grading, then run and read by this one.

An operator upgrades the code between months and goes on with the same warehouse,
outputs and landing folder. A review (2026-12-06) graded months with earlier commits and
went on with this one: months the old rules graded otherwise stayed published as
unchanged, ``--from`` published a month on top of them, and every reading command ended
in a traceback on a warehouse whose schema was behind. The earlier version is stood in
for here by this code under an earlier ``RULES_VERSION`` (the run key and the recorded
rules version are what an earlier version leaves), and by a schema column dropped.
"""

from __future__ import annotations

import shutil
from contextlib import closing
from pathlib import Path

import pytest

from assets.cli import main as cli_main
from assets.runner import grade_months
from pipelines import rules_version
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE, materialize_month, run_args, step_failures

EARLIER_RULES = "2026.12.3"


@pytest.fixture
def graded_by_earlier_rules(tmp_path, monkeypatch) -> tuple[Path, Path, Path]:
    """January and February graded under the earlier rules version; March still to come."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    with monkeypatch.context() as earlier:
        earlier.setattr(rules_version, "RULES_VERSION", EARLIER_RULES)
        grade_months(landing, warehouse, outputs, "2026-02", dashboard=False)
    return landing, warehouse, outputs


def rules_versions(warehouse: Path) -> list[tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_rows(
            con,
            "SELECT month, rules_version FROM main.run_log "
            "QUALIFY row_number() OVER (PARTITION BY month ORDER BY published_at DESC) = 1 "
            "ORDER BY month",
        )
    finally:
        con.close()


def test_a_publication_records_the_rules_that_graded_it(graded_by_earlier_rules) -> None:
    _, warehouse, _ = graded_by_earlier_rules
    assert rules_versions(warehouse) == [("2026-01", EARLIER_RULES), ("2026-02", EARLIER_RULES)]
    assert rules_version.RULES_VERSION != EARLIER_RULES


def test_from_after_an_upgrade_is_refused_until_the_months_before_are_regraded(
    graded_by_earlier_rules, capsys
) -> None:
    """``--from 2026-03`` would build March on what the earlier rules made of January and
    February (the review saw wrong bad-order counts published): refused, naming the month
    to grade from. A run from the first month regrades every month, none skipped."""
    landing, warehouse, outputs = graded_by_earlier_rules
    args = run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")
    assert cli_main([*args, "--from", "2026-03"]) == 1
    err = capsys.readouterr().err
    assert (
        f"2026-01 was graded by an earlier version of grading (rules {EARLIER_RULES}; this "
        f"one's are {rules_version.RULES_VERSION})" in err
    )
    assert "--from 2026-01" in err
    assert [m for m, _ in rules_versions(warehouse)] == ["2026-01", "2026-02"]

    assert cli_main(["summary", "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "graded by an earlier version of grading: 2026-01, 2026-02\n" in out
    assert "grade them again: grading run --through 2026-02" in out
    explain = ["explain", "--warehouse", str(warehouse), "--merchant", "M0500001"]
    assert cli_main(explain) == 0
    assert capsys.readouterr().out.startswith(
        f"Note: 2026-02 was graded by an earlier version of grading (rules {EARLIER_RULES}; "
    )

    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "unchanged" not in out and "graded 3 month(s)" in out
    assert cli_main(["summary", "--warehouse", str(warehouse)]) == 0
    assert "earlier version" not in capsys.readouterr().out
    assert cli_main(explain) == 0
    assert not capsys.readouterr().out.startswith("Note:")
    assert rules_versions(warehouse) == [
        (month, rules_version.RULES_VERSION) for month in ("2026-01", "2026-02", "2026-03")
    ]


def test_a_month_run_alone_by_dagster_after_an_upgrade_publishes_nothing(
    graded_by_earlier_rules,
) -> None:
    """The schedule or the UI materializing March alone builds on February as the
    warehouse holds it: refused as ``--from`` is, before March is published."""
    landing, warehouse, outputs = graded_by_earlier_rules
    result = materialize_month(landing, warehouse, outputs, "2026-03")
    assert not result.success
    assert "2026-01 was graded by an earlier version of grading" in step_failures(result)
    assert [m for m, _ in rules_versions(warehouse)] == ["2026-01", "2026-02"]


def test_publications_recorded_before_the_rules_version_was_kept_are_no_base(
    graded_by_earlier_rules, capsys
) -> None:
    landing, warehouse, outputs = graded_by_earlier_rules
    with closing(connect(warehouse)) as con:
        con.execute("UPDATE main.run_log SET rules_version = NULL")
    args = run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard", "--from", "2026-02")
    assert cli_main(args) == 1
    assert "2026-01 was graded by an earlier version of grading (rules before 2026.12.4;" in (
        capsys.readouterr().err
    )


def test_reading_a_warehouse_whose_schema_is_behind_says_what_to_do(tmp_path, capsys) -> None:
    """``summary``, ``explain`` and ``dashboard`` on a warehouse an earlier version made
    (here: without main.run_log's rules_version) ended in tracebacks naming a missing
    column or table. Reading cannot bring it up to date; one line says what does, and
    after a run every reader works."""
    landing = CONFORMANCE / "landing"
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-01", dashboard=False)
    with closing(connect(warehouse)) as con:  # as a warehouse from before the column
        con.execute("ALTER TABLE main.run_log DROP COLUMN rules_version")
    readers = [
        ["summary", "--warehouse", str(warehouse)],
        ["explain", "--warehouse", str(warehouse), "--merchant", "M0500001", "--month", "2026-01"],
        ["dashboard", "--warehouse", str(warehouse), "--out", str(tmp_path / "dash")],
    ]
    capsys.readouterr()
    for reader in readers:
        assert cli_main(reader) == 1, reader
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [
            f"grading: warehouse {warehouse} was made by an earlier version of grading, and "
            f"reading it does not bring it up to date: run `grading run` on it once (it "
            f"updates the warehouse and regrades the months this version grades otherwise), "
            f"then read it again"
        ], reader

    assert cli_main(run_args(landing, warehouse, outputs, "2026-01", "--no-dashboard")) == 0
    for reader in readers:
        assert cli_main(reader) == 0, reader


def test_an_archived_month_stands_as_graded_and_the_next_one_is_graded_from(
    graded_by_earlier_rules, capsys
) -> None:
    """January's orders archived (a month the landing can no longer grade): it stands as
    graded whatever the rules, as it stands when its files changed. Refused, every way
    out failed as an incomplete month (a review, 2026-12-06). February, still gradable,
    is the month to grade from."""
    landing, warehouse, outputs = graded_by_earlier_rules
    shutil.rmtree(landing / "orders" / "month=2026-01")
    args = run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")
    assert cli_main([*args, "--from", "2026-03"]) == 1
    err = capsys.readouterr().err
    assert "2026-02 was graded by an earlier version of grading" in err
    assert "--from 2026-02" in err
    assert cli_main([*args, "--from", "2026-02"]) == 0
    assert rules_versions(warehouse) == [
        ("2026-01", EARLIER_RULES),
        ("2026-02", rules_version.RULES_VERSION),
        ("2026-03", rules_version.RULES_VERSION),
    ]


def test_the_deadline_check_reads_a_warehouse_whose_schema_is_behind(tmp_path) -> None:
    """The daily deadline check reads only what every version keeps: after an upgrade it
    goes on reading the warehouse until the next run brings the schema up to date (a
    review: refused, it failed every day until the monthly run)."""
    from assets.deadline import first_publications
    from assets.resources import WarehouseResource

    warehouse = tmp_path / "w.duckdb"
    grade_months(CONFORMANCE / "landing", warehouse, tmp_path / "out", "2026-01", dashboard=False)
    with closing(connect(warehouse)) as con:
        con.execute("ALTER TABLE main.run_log DROP COLUMN rules_version")
    assert list(first_publications(WarehouseResource(path=str(warehouse)))) == ["2026-01"]
