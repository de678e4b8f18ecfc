"""Adversarial review of the run lifecycle (trust issue items 2, 5, 7, 8, 9, 11, 12).

Each test is a case a reviewer found broken: a run on data not in the repository that
left a trace, stopped with a traceback instead of a message, or disagreed with a fresh
run on the final landing folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assets import publish as publish_module
from assets.cli import main as cli_main
from assets.runner import grade_months
from pipelines import warehouse as warehouse_module
from pipelines.outputs_claim import OutputsClaimed
from tests.helpers import CONFORMANCE, private_copy, published_state, run_args, stale_months
from tests.test_exports_trust import disagreeing_tables
from tests.test_failed_month import warehouse_state


@pytest.fixture
def january(published_conformance, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of January published: landing, warehouse, outputs."""
    return private_copy(published_conformance("2026-01"), tmp_path)


def run_cli(landing: Path, warehouse: Path, outputs: Path, through: str) -> int:
    return cli_main(run_args(landing, warehouse, outputs, through))


def write_readme(folder: Path) -> None:
    (folder / "readme.txt").write_text("notes\n")


def link_to_nothing(folder: Path) -> None:
    (folder / "part-c.csv").symlink_to(folder / "not-there.csv")


@pytest.mark.parametrize(
    ("drop_in", "named"),
    [
        (write_readme, "orders/month=2026-01/readme.txt: unsupported file type '.txt'"),
        (link_to_nothing, "orders/month=2026-01/part-c.csv"),
    ],
)
def test_a_refused_file_in_a_published_month_is_named_not_a_traceback(
    january, capsys, drop_in, named
):
    """A README, or a link to a file not there, dropped into a published month's folder:
    the rerun's skip decision used to raise IngestError / FileNotFoundError out of
    `grading run` (a traceback); now the month is regraded, its ingest names the file and
    the month stays as it was."""
    landing, warehouse, outputs = january
    before, exports = warehouse_state(warehouse), published_state(warehouse, outputs)
    drop_in(landing / "orders" / "month=2026-01")

    assert run_cli(landing, warehouse, outputs, "2026-01") == 1

    error = capsys.readouterr().err
    # January was published before: the refusal says its publication stands (it read
    # "was not published", as if January had none; found by an audit).
    assert "month 2026-01 was not published again (its earlier publication stands): " in error
    assert named in error
    assert warehouse_state(warehouse) == before
    assert published_state(warehouse, outputs) == exports


def test_exports_of_months_the_warehouse_never_published_are_not_left_to_read(tmp_path):
    """Start over with a new warehouse and the old outputs folder: the old warehouse's
    February folders used to stay, so `<outputs>/<table>/*/*.parquet` read February
    rows that main.* does not hold. (While the old warehouse is still there, the folder
    is its own and the new one is refused it: tests/test_outputs_claim.py.)"""
    landing, outputs = tmp_path / "landing", tmp_path / "out"
    shutil.copytree(CONFORMANCE / "landing", landing)
    old = tmp_path / "old.duckdb"
    grade_months(landing, old, outputs, "2026-02")
    warehouse = tmp_path / "new.duckdb"
    with pytest.raises(OutputsClaimed, match="holds the Parquet exports of another warehouse"):
        grade_months(landing, warehouse, outputs, "2026-01")

    old.unlink()  # started over: the old warehouse is given up
    grade_months(landing, warehouse, outputs, "2026-01")

    assert disagreeing_tables(warehouse, outputs) == []
    assert not list(outputs.glob("*/month=2026-02"))


def test_a_warehouse_another_program_keeps_open_is_a_message_not_a_traceback(
    january, capsys, monkeypatch
):
    """A notebook keeps the warehouse open read-write: `grading run` used to end with a
    WarehouseLocked traceback from its first connection; now it says who holds it."""
    landing, warehouse, outputs = january
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
            "print('open', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        monkeypatch.setattr(warehouse_module, "LOCK_TIMEOUT_SECONDS", 0.5)
        assert run_cli(landing, warehouse, outputs, "2026-01") == 1
    finally:
        holder.kill()
        holder.wait()
    error = capsys.readouterr().err
    assert error.startswith(f"grading: warehouse {warehouse} is held by another process")
    assert "Traceback" not in error


def test_a_step_failing_after_the_publication_committed_says_the_month_was_published(
    tmp_path, capsys, monkeypatch
):
    """The Data Docs (or the closing checkpoint) fail after the month's publishing
    transaction and its exports: `grading run` used to say the month "was not
    published" while main.* and the exports held it, and the next run skipped it."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    built = publish_module.publish_data_docs

    def docs_fail_after_publishing(outputs_dir, reports, build=True, run_label=""):
        if not reports:  # the published month's call, after its transaction and exports
            raise PermissionError(f"{outputs_dir}/data_docs: permission denied")
        return built(outputs_dir, reports, build, run_label)

    monkeypatch.setattr(publish_module, "publish_data_docs", docs_fail_after_publishing)
    assert run_cli(landing, warehouse, outputs, "2026-01") == 1

    error = capsys.readouterr().err
    assert "month 2026-01 was published, but a later step failed" in error
    assert disagreeing_tables(warehouse, outputs) == []


def test_rerunning_an_earlier_month_from_the_same_files_leaves_later_months_current(
    january,
):
    """January regraded alone from the same files (`--force`, the schedule, or its
    exports rewritten): February used to show stale, and `grading run` through February
    skipped it as unchanged (its key is), so it stayed stale for good. Nothing changed:
    February is current and skipped."""
    landing, warehouse, outputs = january
    grade_months(landing, warehouse, outputs, "2026-02")
    published = published_state(warehouse, outputs)

    grade_months(landing, warehouse, outputs, "2026-01", force=True)

    assert stale_months(warehouse) == {"2026-01": False, "2026-02": False}
    results = grade_months(landing, warehouse, outputs, "2026-02")
    assert [r.unchanged_since is not None for r in results] == [True, True]
    assert stale_months(warehouse) == {"2026-01": False, "2026-02": False}
    assert published_state(warehouse, outputs) == published


def test_a_month_folder_dropped_into_the_exports_is_cleared_by_a_run_that_skips(january):
    """An extra `month=` folder of a month this warehouse never published, found by a
    run that publishes nothing (every month unchanged): cleared all the same."""
    landing, warehouse, outputs = january
    shutil.copytree(
        outputs / "merchant_grades" / "month=2026-01", outputs / "merchant_grades" / "month=2031-01"
    )

    results = grade_months(landing, warehouse, outputs, "2026-01")

    assert [r.unchanged_since is not None for r in results] == [True]
    assert disagreeing_tables(warehouse, outputs) == []
