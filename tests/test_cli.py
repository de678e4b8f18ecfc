"""The ``grading`` command line: argument handling, the messages it refuses with, and
what it prints (its help, its version, a run's progress, the summary).

Runs that grade months through the CLI otherwise live with the behaviour they test
(test_dagster.py and others); the two here grade one month to test the CLI's own output.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from assets.cli import build_parser
from assets.cli import main as cli_main
from assets.instance import quiet_instance
from assets.partitions import monthly_partitions
from assets.runner import grade_months
from pipelines.months import add_months
from tests.helpers import CONFORMANCE, run_args
from tests.test_restatement_log import flip_first_feedback_stars

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--through", "2026-13"], "not a month"),
        (["--through", "2025-06"], "before the landing folder's first month"),
    ],
)
def test_cli_refuses_bad_months(tmp_path, capsys, args, message):
    code = cli_main(
        [
            "run",
            "--landing",
            str(CONFORMANCE / "landing"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            *args,
        ]
    )
    assert code == 1
    assert message in capsys.readouterr().err


def month_folders(landing: Path, *months: str) -> Path:
    for month in months:
        (landing / "merchants" / f"month={month}").mkdir(parents=True)
    return landing


def test_a_month_not_ended_yet_is_refused_with_the_preview_named(tmp_path, capsys):
    """Its cutoff is still ahead, so rows that count may still land (spec §2)."""
    last = monthly_partitions.get_last_partition_key()
    running = add_months(last, 1)
    landing = month_folders(tmp_path / "landing", last, running)
    args = run_args(landing, tmp_path / "w.duckdb", tmp_path / "out", running, "--create")
    assert cli_main(args) == 1
    error = capsys.readouterr().err
    assert f"{running} is outside the gradeable months" in error
    assert "a month is graded once it has ended" in error
    assert "grading preview --as-of YYYY-MM-DD" in error
    assert "GRADING_FIRST_MONTH" not in error
    assert not (tmp_path / "w.duckdb").exists()


def test_a_month_before_the_configured_first_is_refused_with_the_setting_named(tmp_path, capsys):
    first = monthly_partitions.get_first_partition_key()  # GRADING_FIRST_MONTH (conftest)
    before = add_months(first, -1)
    landing = month_folders(tmp_path / "landing", before, first)
    args = run_args(landing, tmp_path / "w.duckdb", tmp_path / "out", first, "--create")
    assert cli_main(args) == 1
    error = capsys.readouterr().err
    assert f"{before} is outside the gradeable months {first}.." in error
    assert f"set GRADING_FIRST_MONTH to grade months before {first}" in error
    assert "preview" not in error
    assert not (tmp_path / "w.duckdb").exists()


# --- issue 19 §8: version, help, GRADING_* defaults, refusals, quiet runs, summary ---

GRADING_VARIABLES = ("GRADING_LANDING", "GRADING_WAREHOUSE", "GRADING_OUTPUTS")
# The three lines `grading run` prints for one month.
PROGRESS = re.compile(r"^(\[1/1\] 2026-01 grading \.\.\.|        2026-01 published: |graded 1 )")


@pytest.fixture
def no_grading_variables(monkeypatch):
    for variable in GRADING_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every ``grading`` subcommand's parser, by name."""
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli_main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"grading {metadata.version('merchant-grading')}"


def test_every_option_of_every_subcommand_has_help(no_grading_variables):
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    undocumented = [f"subcommand {c.dest}" for c in commands._choices_actions if not c.help]
    for name, command in {"grading": parser, **subcommands(parser)}.items():
        undocumented += [
            f"{name} {'/'.join(action.option_strings) or action.dest}"
            for action in command._actions
            if not (action.help or "").strip()
        ]
    assert len(subcommands(parser)) >= 6
    assert undocumented == []


def test_help_has_no_restructuredtext_backticks(no_grading_variables):
    parser = build_parser()
    pages = {"grading": parser.format_help()}
    pages |= {f"grading {n}": p.format_help() for n, p in subcommands(parser).items()}
    raw = {name: page for name, page in pages.items() if "`" in page}
    assert raw == {}, f"raw backticks in: {sorted(raw)}"
    assert "Merchant grading" in pages["grading"]


def test_grading_variables_are_the_path_options_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADING_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("GRADING_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("GRADING_OUTPUTS", str(tmp_path / "out"))
    parser = build_parser()
    run = parser.parse_args(["run", "--through", "2026-01"])
    assert (run.landing, run.warehouse, run.outputs) == (
        tmp_path / "landing",
        tmp_path / "w.duckdb",
        tmp_path / "out",
    )
    for command in (["summary"], ["dashboard", "--out", "d"], ["explain", "--merchant", "M1"]):
        assert parser.parse_args(command).warehouse == tmp_path / "w.duckdb"
    preview = parser.parse_args(["preview", "--as-of", "2026-01-10"])
    assert (preview.landing, preview.warehouse) == (tmp_path / "landing", tmp_path / "w.duckdb")
    given = parser.parse_args(["summary", "--warehouse", "other.duckdb"])
    assert given.warehouse == Path("other.duckdb")  # an option given wins


def test_a_run_reads_its_landing_folder_from_grading_landing(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GRADING_LANDING", str(CONFORMANCE / "landing"))
    monkeypatch.setenv("GRADING_WAREHOUSE", str(tmp_path / "w.duckdb"))
    assert cli_main(["run", "--through", "2025-06"]) == 1
    assert "before the landing folder's first month 2026-01" in capsys.readouterr().err


def test_path_options_are_still_required_without_their_variables(no_grading_variables, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli_main(["summary"])
    assert stopped.value.code == 2
    assert "--warehouse" in capsys.readouterr().err


def test_a_warehouse_in_a_missing_folder_is_refused_without_create(tmp_path, capsys):
    typo = tmp_path / "dta" / "w.duckdb"
    code = cli_main(run_args(CONFORMANCE / "landing", typo, tmp_path / "out", "2026-01"))
    err = capsys.readouterr().err
    assert code == 1
    assert f"the warehouse's folder {typo.parent} does not exist" in err
    assert "--create" in err
    assert not typo.parent.exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("folder", ["runs?1", "runs%201"])
def test_a_dagster_home_its_storage_would_misread_is_refused(tmp_path, capsys, monkeypatch, folder):
    """Dagster's SQLite storage does not quote the ``sqlite:///`` URLs of its files: '?'
    ends the path and ``%20`` is decoded to a space, so the run failed on "no such table:
    event_logs", or would have kept its records in another folder."""
    home = tmp_path / folder
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    warehouse = tmp_path / "w.duckdb"
    code = cli_main(run_args(CONFORMANCE / "landing", warehouse, tmp_path / "out", "2026-01"))
    assert code == 1
    assert f"Dagster home {home}: Dagster cannot keep its run records" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []


def test_a_landing_file_is_not_a_folder(tmp_path, capsys):
    landing = tmp_path / "landing.csv"
    landing.write_text("merchant_id\n")
    code = cli_main(run_args(landing, tmp_path / "w.duckdb", tmp_path / "out", "2026-01"))
    assert code == 1
    assert f"landing folder {landing} is not a folder" in capsys.readouterr().err


def test_a_run_with_create_prints_only_its_progress_under_a_fresh_dagster_home(tmp_path):
    """A DAGSTER_HOME without dagster.yaml used to print Dagster's telemetry notice and
    welcome banner in the middle of the first month; --create starts a new warehouse in
    a new folder."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    warehouse = tmp_path / "new" / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if k not in GRADING_VARIABLES}
    env |= {"DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("CI", None)  # Dagster stays quiet on CI machines anyway
    args = run_args(CONFORMANCE / "landing", warehouse, tmp_path / "out", "2026-01", "--create")
    result = subprocess.run(
        [sys.executable, "-m", "assets.cli", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    lines = result.stdout.splitlines()
    banners = [line for line in lines if re.search(r"telemetry|welcome|slack|Warning", line, re.I)]
    assert banners == []
    progress = [i for i, line in enumerate(lines) if PROGRESS.match(line)]
    assert len(progress) == 3, lines
    assert progress == list(range(progress[0], progress[0] + 3)), lines  # nothing between
    assert progress[-1] == len(lines) - 1, lines  # nothing after
    assert warehouse.is_file()


def test_telemetry_a_dagster_yaml_enables_is_announced_as_the_instance_opens(
    tmp_path, monkeypatch, capfd
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # where Dagster keeps its notice id
    monkeypatch.delenv("CI", raising=False)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    assert quiet_instance(tmp_path).telemetry_enabled
    assert "Telemetry" in capfd.readouterr().err  # before the run, not during it
    unset = tmp_path / "unset"
    unset.mkdir()
    (unset / "dagster.yaml").write_text("run_queue:\n  max_concurrent_runs: 1\n")
    assert not quiet_instance(unset).telemetry_enabled
    assert "Telemetry" not in capfd.readouterr().err


@pytest.fixture(scope="module")
def restated_and_stale(tmp_path_factory) -> Path:
    """January and February graded, then January restated: February is stale."""
    root = tmp_path_factory.mktemp("restated")
    landing = root / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse = root / "w.duckdb"
    grade_months(landing, warehouse, root / "out", "2026-02")
    flip_first_feedback_stars(landing, "2026-01")
    grade_months(landing, warehouse, root / "out", "2026-01")
    return warehouse


def test_summary_shows_stale_and_restated_months(restated_and_stale, monkeypatch, capsys):
    monkeypatch.setenv("GRADING_WAREHOUSE", str(restated_and_stale))
    assert cli_main(["summary"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "stale months: 2026-02" in lines
    assert "restated months:" in lines
    (restated,) = (line for line in lines if line.startswith("  2026-01  "))
    assert re.match(
        r"  2026-01  1 time\(s\), last at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: inputs changed",
        restated,
    )
    assert not any(line.startswith("  2026-02  ") for line in lines)


def test_summary_names_a_month_s_latest_restatement_and_the_last_stale_month(
    tmp_path, monkeypatch, capsys
):
    """January restated twice (corrected stars, then an override) after March was
    published: the summary gives January's latest reason, not its first, and the way out
    grades through the LAST stale month (March), which brings every stale month back."""
    from tests.test_policy_calendar import policy_text, write_policy

    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03")
    flip_first_feedback_stars(landing, "2026-01")
    grade_months(landing, warehouse, outputs, "2026-01")
    override = write_policy(tmp_path, "p.toml", policy_text("2026.9", None, no_excellent=True))
    grade_months(landing, warehouse, outputs, "2026-01", first="2026-01", policy_override=override)

    monkeypatch.setenv("GRADING_WAREHOUSE", str(warehouse))
    assert cli_main(["summary"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "stale months: 2026-02, 2026-03" in lines
    (hint,) = (line for line in lines if "grade them again" in line)
    assert "grading run --through 2026-03," in hint
    (restated,) = (line for line in lines if line.startswith("  2026-01  "))
    assert re.match(
        r"  2026-01  2 time\(s\), last at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: "
        r"policy override 2026\.9; grades changed$",
        restated,
    )
