"""A month is never graded on an outdated past: a corrected or stale month before it.

Found by an audit of corrections: `grading run --from M` built M on what the warehouse
held for the months before it, even after one of them was corrected in the landing
folder (its new files never ingested) or was stale (its regrade had failed, or a month
before it had moved). M was then published, or skipped as unchanged, with grades a run
over the same landing from its first month does not give, and the summary called it
current. The same held for a month run alone through Dagster (the schedule, the UI).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assets.runner import RunFailed, grade_months
from tests.helpers import (
    CONFORMANCE,
    failed_steps,
    materialize_month,
    private_copy,
    published_state,
    stale_months,
    step_failures,
)


def correct_a_star(landing: Path, month: str) -> None:
    """A buyer's 4-star feedback of ``month`` corrected to 1 star: the merchant's credit
    points move, so the months from ``month`` on grade differently."""
    feedback = landing / "feedback" / f"month={month}" / "part-a.csv"
    header, first, *rest = feedback.read_text().splitlines()
    cells = first.split(",")
    stars = header.split(",").index("stars")
    assert cells[stars] in ("4", "5"), first
    cells[stars] = "1"
    feedback.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")


def fresh_tables(landing: Path, root: Path, through: str) -> dict:
    """The published tables of a new warehouse graded on ``landing`` from its first month."""
    grade_months(landing, root / "w.duckdb", root / "out", through)
    return published_state(root / "w.duckdb", root / "out")["tables"]


def refused_from(landing: Path, warehouse: Path, outputs: Path, first: str, reason: str) -> dict:
    """`grading run --from first --through 2026-03` stops with ``reason`` and moves
    nothing published; returns what stayed published."""
    before = published_state(warehouse, outputs)
    with pytest.raises(RunFailed, match=reason):
        grade_months(landing, warehouse, outputs, "2026-03", first=first)
    assert published_state(warehouse, outputs) == before
    return before


def test_a_run_from_a_month_after_a_corrected_month_is_refused(published_conformance, tmp_path):
    """January corrected, then `--from 2026-02`: February and March were skipped as
    unchanged (their keys chain January's publication, not its files) and the summary
    said nothing was stale. Now the run stops, naming January and the way out, leaves
    every published row and export as it was, and the months built on January show
    stale until a run from January brings them to what a fresh run gives."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-03"), tmp_path / "g")
    correct_a_star(landing, "2026-01")

    before = refused_from(
        landing,
        warehouse,
        outputs,
        "2026-02",
        r"2026-01's landing files changed after it was graded \(feedback\), and 2026-02 "
        r"builds on it .*grade from 2026-01 \(--from 2026-01, or without --from\)",
    )

    assert stale_months(warehouse) == {"2026-01": True, "2026-02": True, "2026-03": True}

    grade_months(landing, warehouse, outputs, "2026-03")
    corrected = fresh_tables(landing, tmp_path / "fresh", "2026-03")
    assert published_state(warehouse, outputs)["tables"] == corrected
    assert corrected != before["tables"]  # the correction changes grades
    assert stale_months(warehouse) == {"2026-01": False, "2026-02": False, "2026-03": False}


def test_a_month_run_alone_after_a_correction_no_run_has_read_is_refused(
    published_conformance, tmp_path
):
    """January corrected after February was published, then March run alone by the
    schedule or the UI: it was published on January's old rows, as no run had read the
    correction. Now its publication stops, naming January and the way out; nothing
    published moves, the months built on January show stale, and grading from January
    gives what a fresh run gives."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-02"), tmp_path / "g")
    correct_a_star(landing, "2026-01")
    before = published_state(warehouse, outputs)

    alone = materialize_month(landing, warehouse, outputs, "2026-03")

    assert not alone.success
    # Refused at its first step, before a row of March is read (it used to be refused
    # only at its publication, after all its grading work).
    assert failed_steps(alone) == ["raw_merchants"]
    failures = step_failures(alone)
    assert (
        "2026-01's landing files changed after it was graded (feedback), and 2026-03 builds "
        "on it" in failures
    )
    assert "grade from 2026-01 (grading run --from 2026-01 --through 2026-03 grades" in failures
    assert published_state(warehouse, outputs) == before
    assert stale_months(warehouse) == {"2026-01": True, "2026-02": True}

    grade_months(landing, warehouse, outputs, "2026-03")
    assert published_state(warehouse, outputs)["tables"] == fresh_tables(
        landing, tmp_path / "fresh", "2026-03"
    )


def test_a_month_run_alone_after_an_earlier_month_was_added_is_refused(
    published_conformance, tmp_path
):
    """A landing month older than every graded one, added later, was not graded: March
    run alone would publish without its keys and credit, and is refused."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-02"), tmp_path / "g")
    for dataset in landing.iterdir():
        shutil.copytree(dataset / "month=2026-01", dataset / "month=2025-12")
    before = published_state(warehouse, outputs)

    alone = materialize_month(landing, warehouse, outputs, "2026-03")

    assert not alone.success
    assert (
        "2025-12 is not published, and 2026-03 builds on it (credit points carry over from "
        "month to month, and its rows are checked against the orders and keys of the months "
        "before): grade from 2025-12 (grading run --from 2025-12 --through 2026-03"
        in step_failures(alone)
    )
    assert published_state(warehouse, outputs) == before


def test_a_month_refused_at_its_first_step_still_shows_its_own_files_changed(
    published_conformance, tmp_path
):
    """February corrected, and an older month added to the landing: February run alone
    is refused at its first step (2025-12 is not graded), before the ingest of its
    feedback has noted the corrected file. The refusal notes every dataset's files, so
    February shows stale as its own files say (found by a review)."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-02"), tmp_path / "g")
    for dataset in landing.iterdir():
        shutil.copytree(dataset / "month=2026-01", dataset / "month=2025-12")
    correct_a_star(landing, "2026-02")

    alone = materialize_month(landing, warehouse, outputs, "2026-02")

    assert failed_steps(alone) == ["raw_merchants"]
    assert "2025-12 is not published" in step_failures(alone)
    assert stale_months(warehouse) == {"2026-01": False, "2026-02": True}


@pytest.mark.parametrize("archived", [["orders"], ["merchants", "orders", "feedback"]])
def test_a_month_run_alone_after_an_earlier_datasets_folder_was_archived_publishes(
    published_conformance, tmp_path, archived
):
    """A dataset's month folder removed whole after it was graded is archived, as a whole
    month is: March run alone publishes on January's ingested rows, as graded with them,
    and nothing is marked stale. (It was refused as a change, and January marked stale.)"""
    landing, warehouse, outputs = private_copy(published_conformance("2026-02"), tmp_path / "g")
    for dataset in archived:
        shutil.rmtree(landing / dataset / "month=2026-01")

    assert materialize_month(landing, warehouse, outputs, "2026-03").success

    graded_whole = published_conformance("2026-03")
    assert (
        published_state(warehouse, outputs)["tables"]
        == published_state(graded_whole / "w.duckdb", graded_whole / "out")["tables"]
    )
    assert stale_months(warehouse) == {"2026-01": False, "2026-02": False, "2026-03": False}


@pytest.mark.parametrize("dataset", ["bad_orders", "service_metrics"])
def test_an_optional_folder_removed_from_a_month_that_can_be_graded_is_a_change(
    published_conformance, tmp_path, dataset
):
    """A run from the landing's first month grades a month whose bad-orders (or service
    metrics) folder is gone as one without such records; so a run from a later month
    must not build on it as graded with them. ``--from`` called March current while a
    full run restated January's grades without them (found by a black-box review,
    2026-12-05). Refused, naming the dataset, the months built on it shown stale; the
    way out the refusal names gives what a fresh run of that landing gives."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-02"), tmp_path / "g")
    shutil.rmtree(landing / dataset / "month=2026-01")

    alone = materialize_month(landing, warehouse, outputs, "2026-03")

    assert not alone.success
    assert f"2026-01's landing files changed after it was graded ({dataset})" in (
        step_failures(alone)
    )
    assert stale_months(warehouse) == {"2026-01": True, "2026-02": True}

    grade_months(landing, warehouse, outputs, "2026-03")
    fresh = grade_months(landing, tmp_path / "fresh.duckdb", tmp_path / "fresh", "2026-03")
    assert len(fresh) == 3
    assert (
        published_state(warehouse, outputs)["tables"]
        == published_state(tmp_path / "fresh.duckdb", tmp_path / "fresh")["tables"]
    )


def test_an_emptied_month_folder_is_a_change(published_conformance, tmp_path):
    """A dataset's month folder left empty is a correction (its rows deleted), not an
    archive."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-02"), tmp_path / "g")
    for path in (landing / "bad_orders" / "month=2026-01").iterdir():
        path.unlink()

    alone = materialize_month(landing, warehouse, outputs, "2026-03")

    assert not alone.success
    assert "2026-01's landing files changed after it was graded (bad_orders)" in (
        step_failures(alone)
    )


def test_a_dataset_folder_added_to_a_graded_month_is_a_change(tmp_path):
    """January graded without a bad_orders folder (none had landed: graded without bad
    orders), then its bad_orders folder lands: January's bad orders now count against
    its merchants, so a run from February must not build on January as graded. The run
    is refused naming January's new dataset, and January shows stale."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    held = tmp_path / "held-bad-orders"
    shutil.move(landing / "bad_orders" / "month=2026-01", held)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-01")
    shutil.move(held, landing / "bad_orders" / "month=2026-01")

    refused_from(
        landing,
        warehouse,
        outputs,
        "2026-02",
        r"2026-01's landing files changed after it was graded \(bad_orders\), and 2026-02 "
        r"builds on it .*grade from 2026-01 \(--from 2026-01, or without --from\)",
    )

    assert stale_months(warehouse) == {"2026-01": True}


def test_a_month_is_not_graded_on_a_stale_month_before_it(published_conformance, tmp_path):
    """January corrected and regraded alone leaves February and March stale. March
    corrected and run `--from 2026-03` was published on February's ledger from before
    January's correction, and reported current. Now it is refused, by the CLI before
    its job and by the publication when run alone in Dagster."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-03"), tmp_path / "g")
    correct_a_star(landing, "2026-01")
    grade_months(landing, warehouse, outputs, "2026-01", first="2026-01")
    assert stale_months(warehouse) == {"2026-01": False, "2026-02": True, "2026-03": True}
    correct_a_star(landing, "2026-03")

    before = refused_from(
        landing,
        warehouse,
        outputs,
        "2026-03",
        r"2026-02 is stale .*, and 2026-03 builds on it .*grade from 2026-02 "
        r"\(--from 2026-02, or without --from\)",
    )

    alone = materialize_month(landing, warehouse, outputs, "2026-03")
    assert not alone.success
    assert "2026-02 is stale" in step_failures(alone)
    assert "publish 2026-02 again before 2026-03" in step_failures(alone)
    assert published_state(warehouse, outputs)["tables"] == before["tables"]

    grade_months(landing, warehouse, outputs, "2026-03")
    assert published_state(warehouse, outputs)["tables"] == fresh_tables(
        landing, tmp_path / "fresh", "2026-03"
    )


def test_a_month_published_on_a_stale_month_is_stale(published_conformance, tmp_path, monkeypatch):
    """A warehouse where March was published on a stale February (as the code before
    the refusal allowed): March's own inputs and the months before it did not move after
    its publication, but it rolled February's outdated ledger on, so it is stale too."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-03"), tmp_path / "g")
    correct_a_star(landing, "2026-01")
    grade_months(landing, warehouse, outputs, "2026-01", first="2026-01")
    monkeypatch.setattr("pipelines.publishing.refuse_stale_previous", lambda con, month: None)
    monkeypatch.setattr("pipelines.publishing.refuse_outdated_past", lambda *args: None)
    monkeypatch.setattr("assets.ingest.refuse_out_of_order", lambda *args: None)

    assert materialize_month(landing, warehouse, outputs, "2026-03").success

    assert stale_months(warehouse) == {"2026-01": False, "2026-02": True, "2026-03": True}


def test_an_archived_month_before_the_run_is_taken_as_graded(published_conformance, tmp_path):
    """A month whose landing folders are all gone (archived after it was graded) is no
    correction: a run from the month after it grades on its ingested rows."""
    landing, warehouse, outputs = private_copy(published_conformance("2026-03"), tmp_path / "g")
    before = published_state(warehouse, outputs)
    for dataset in landing.iterdir():
        shutil.rmtree(dataset / "month=2026-01")

    results = grade_months(landing, warehouse, outputs, "2026-03", first="2026-02")

    assert [r.unchanged_since is not None for r in results] == [True, True]
    assert published_state(warehouse, outputs) == before
