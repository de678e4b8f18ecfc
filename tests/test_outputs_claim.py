"""An outputs folder is its warehouse's: another warehouse given it is refused, before it
deletes the months it never published (found by an audit: a mistyped --warehouse with
the real --outputs deleted the real warehouse's February and March exports)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assets.cli import main as cli_main
from pipelines import exports
from pipelines.outputs_claim import CLAIM_FILE, OutputsClaimed, warehouse_id
from pipelines.warehouse import connect, fetch_value
from tests.helpers import (
    materialize_month,
    mounted_tmpfs,
    private_copy,
    published_state,
    run_args,
    step_failures,
)


@pytest.fixture
def graded(published_conformance, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of three published months: landing, warehouse, outputs."""
    return private_copy(published_conformance("2026-03"), tmp_path / "graded")


def claim(outputs: Path) -> dict[str, str]:
    return json.loads((outputs / CLAIM_FILE).read_text())


def identity(warehouse: Path) -> str:
    con = connect(warehouse)
    try:
        return warehouse_id(con)
    finally:
        con.close()


def test_a_copied_warehouse_keeps_its_outputs_and_they_name_it(graded):
    landing, warehouse, outputs = graded
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")) == 0
    assert claim(outputs) == {
        "warehouse_id": identity(warehouse),  # the copy's identity is the original's
        "warehouse": str(warehouse.resolve()),
    }


def test_a_mistyped_new_warehouse_is_refused_the_outputs_and_nothing_moves(
    graded, tmp_path, capsys
):
    landing, warehouse, outputs = graded
    before = published_state(warehouse, outputs)
    typo = tmp_path / "typo.duckdb"  # a new file in an existing folder needs no --create
    assert cli_main(run_args(landing, typo, outputs, "2026-01", "--no-dashboard")) == 1
    message = capsys.readouterr().err
    assert f"{outputs} holds the Parquet exports of another warehouse" in message
    assert f"Give {typo} its own --outputs" in message
    assert published_state(warehouse, outputs) == before
    assert not typo.exists()


def test_another_existing_warehouse_is_refused_the_outputs_and_nothing_moves(
    graded, tmp_path, capsys
):
    """A second warehouse that published January into its own folder, then pointed at the
    first one's: refused by the run, and by the export itself (any way in)."""
    landing, warehouse, outputs = graded
    before = published_state(warehouse, outputs)
    other, other_outputs = tmp_path / "other.duckdb", tmp_path / "other_out"
    assert cli_main(run_args(landing, other, other_outputs, "2026-01", "--no-dashboard")) == 0
    assert cli_main(run_args(landing, other, outputs, "2026-01", "--no-dashboard")) == 1
    assert "holds the Parquet exports of another warehouse" in capsys.readouterr().err
    con = connect(other)
    try:
        with pytest.raises(OutputsClaimed, match="holds the Parquet exports of another"):
            exports.export_month(con, "2026-01", outputs)
    finally:
        con.close()
    assert published_state(warehouse, outputs) == before


def test_a_warehouse_deleted_to_start_over_takes_its_outputs_back(graded):
    """The recorded warehouse gone, the folder is the new one's, and the months it has not
    published are deleted as before (readers would take them as published)."""
    landing, warehouse, outputs = graded
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")) == 0
    old = claim(outputs)["warehouse_id"]
    warehouse.unlink()
    assert cli_main(run_args(landing, warehouse, outputs, "2026-01", "--no-dashboard")) == 0
    assert claim(outputs)["warehouse_id"] == identity(warehouse) != old
    assert sorted(p.name for p in (outputs / "merchant_grades").iterdir()) == ["month=2026-01"]


def test_a_moved_warehouse_keeps_its_outputs(graded, tmp_path):
    landing, warehouse, outputs = graded
    moved = tmp_path / "moved" / "w.duckdb"
    moved.parent.mkdir()
    shutil.move(warehouse, moved)
    assert cli_main(run_args(landing, moved, outputs, "2026-03", "--no-dashboard")) == 0
    assert claim(outputs)["warehouse"] == str(moved.resolve())


def test_an_unreadable_record_is_refused_by_name(graded, capsys):
    landing, warehouse, outputs = graded
    (outputs / CLAIM_FILE).write_text("{not json")
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")) == 1
    assert f"{outputs / CLAIM_FILE}: cannot read which warehouse" in capsys.readouterr().err


def test_a_warehouse_named_by_a_relative_path_is_recorded_by_its_full_path(
    graded, tmp_path, monkeypatch, capsys
):
    """The record names the warehouse's real path, not the one it was given: a relative
    one would not be found from another working folder, and the folder would pass to any
    other warehouse, which deletes the months it never published."""
    landing, warehouse, outputs = graded
    monkeypatch.chdir(warehouse.parent)
    relative = Path(warehouse.name)
    assert cli_main(run_args(landing, relative, outputs, "2026-03", "--no-dashboard")) == 0
    assert claim(outputs)["warehouse"] == str(warehouse.resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    before = published_state(warehouse, outputs)
    typo = tmp_path / "typo.duckdb"
    assert cli_main(run_args(landing, typo, outputs, "2026-01", "--no-dashboard")) == 1
    assert f"{outputs} holds the Parquet exports of another warehouse" in capsys.readouterr().err
    assert published_state(warehouse, outputs) == before


def test_a_dagster_run_into_another_warehouse_s_outputs_publishes_nothing(graded, tmp_path):
    """The UI, a schedule or a backfill given the outputs of another warehouse: refused
    before the month's publishing transaction, not after it (the month would be published
    in this warehouse with its exports refused)."""
    landing, warehouse, outputs = graded
    before = published_state(warehouse, outputs)
    other = tmp_path / "other.duckdb"
    result = materialize_month(landing, other, outputs, "2026-01")
    assert not result.success
    assert "holds the Parquet exports of another warehouse" in step_failures(result)
    con = connect(other)
    try:
        assert fetch_value(con, "SELECT count(*) FROM main.run_log") == 0
        assert fetch_value(con, "SELECT count(*) FROM main.merchant_grades") == 0
    finally:
        con.close()
    assert published_state(warehouse, outputs) == before


@pytest.mark.parametrize("record", ["[]", '{"warehouse": "/elsewhere/w.duckdb"}'])
def test_a_record_without_a_warehouse_id_and_path_is_refused_by_name(graded, record, capsys):
    landing, warehouse, outputs = graded
    (outputs / CLAIM_FILE).write_text(record)
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")) == 1
    assert (
        f"{outputs / CLAIM_FILE}: expected a warehouse_id and a warehouse path"
        in capsys.readouterr().err
    )


def test_an_unpublished_month_s_folder_that_cannot_be_deleted_stops_the_run(graded, capsys):
    """A month folder the warehouse never published, that cannot be deleted (read-only),
    fails the month's exports with one line naming the file: its rows were left beside
    the published ones, which readers would take as published, and the run reported
    success. Deletable again, the next run takes it away and writes the exports."""
    landing, warehouse, outputs = graded
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")) == 0
    stale = outputs / "merchant_grades" / "month=2026-03"
    exported = (stale / "part-0.parquet").read_bytes()
    shutil.rmtree(stale)
    with mounted_tmpfs(stale, "16M") as disk:
        (disk / "part-0.parquet").write_bytes(exported)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        warehouse.unlink()  # started over: March is no longer this warehouse's
        capsys.readouterr()
        assert cli_main(run_args(landing, warehouse, outputs, "2026-01", "--no-dashboard")) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert err[0].startswith(
            f"grading: month 2026-01 was published in the warehouse, but its Parquet exports "
            f"under {outputs} were not written (the next run of the month rewrites them): "
        )
        assert err[0].endswith(f"Read-only file system: '{stale / 'part-0.parquet'}'")
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert cli_main(run_args(landing, warehouse, outputs, "2026-01", "--no-dashboard")) == 1
        err = capsys.readouterr().err.strip().splitlines()  # refused before the month now
        assert err == [f"grading: Device or resource busy: {stale}"]
    assert cli_main(run_args(landing, warehouse, outputs, "2026-01", "--no-dashboard")) == 0
    assert sorted(p.name for p in (outputs / "merchant_grades").iterdir()) == ["month=2026-01"]


def test_an_unpublished_month_s_folder_that_is_a_link_is_unlinked_and_its_target_kept(
    graded, tmp_path
):
    """A month folder linked in from elsewhere (an archive) that the warehouse never
    published: readers follow the link, so it goes, but what it points to is not the
    run's to delete. ``rmtree`` refuses links: the run stopped with a bare ``OSError``
    naming no reason (a review, 2026-12-06)."""
    landing, warehouse, outputs = graded
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")) == 0
    archive = tmp_path / "archive" / "month=2025-12"
    shutil.copytree(outputs / "merchant_grades" / "month=2026-01", archive)
    link = outputs / "merchant_grades" / "month=2025-12"
    link.symlink_to(archive, target_is_directory=True)
    assert cli_main(run_args(landing, warehouse, outputs, "2026-03", "--no-dashboard")) == 0
    assert not link.exists() and not link.is_symlink()
    assert (archive / "part-0.parquet").is_file()
