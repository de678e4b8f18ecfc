"""Restatement bookkeeping: what main.run_log and main.month_status say after a restatement.

A restated month moves later months' grades (credit points and the 90-day window flow
forward): each later month whose published grades changed is logged as restated, with
its tier counts before and after. A changed earlier month marks later months stale even
when its own regrade fails, until a run brings them back in line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assets.cli import main as cli_main
from assets.runner import RunFailed, grade_months
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE, ORDER_COLUMNS, write_csv

MONTHS = ("2026-01", "2026-02", "2026-03")


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return fetch_rows(con, sql)
    finally:
        con.close()


def stale(warehouse: Path) -> dict[str, bool]:
    return dict(query(warehouse, "SELECT month, stale FROM main.month_status ORDER BY month"))


def latest_log(warehouse: Path) -> dict[str, tuple]:
    """Each month's latest run_log row: restated, old and new tier counts."""
    rows = query(
        warehouse,
        "SELECT month, restated, old_tier_counts, new_tier_counts FROM main.run_log "
        "QUALIFY published_at = max(published_at) OVER (PARTITION BY month)",
    )
    return {m: (r, json.loads(old), json.loads(new)) for m, r, old, new in rows}


def latest_reasons(warehouse: Path) -> dict[str, str | None]:
    """Why each month's latest publication restated it (None: it did not)."""
    return dict(
        query(
            warehouse,
            "SELECT month, restatement_reason FROM main.run_log "
            "QUALIFY published_at = max(published_at) OVER (PARTITION BY month)",
        )
    )


@pytest.fixture
def graded(tmp_path: Path) -> tuple[Path, Path, Path]:
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, MONTHS[-1])
    assert stale(warehouse) == dict.fromkeys(MONTHS, False)
    return landing, warehouse, outputs


def flip_first_feedback_stars(landing: Path, month: str) -> None:
    """A buyer of ``month`` changes their stars (5 <-> 1): credit points move from then on."""
    path = landing / "feedback" / f"month={month}" / "part-a.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    stars = header.index("stars")
    row = next(i for i, line in enumerate(lines[1:], 1) if line.split(",")[stars] in "15")
    fields = lines[row].split(",")
    fields[stars] = "1" if fields[stars] == "5" else "5"
    lines[row] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")


def test_later_months_whose_grades_a_restatement_moved_are_logged_as_restated(
    graded, capsys: pytest.CaptureFixture[str]
) -> None:
    landing, warehouse, outputs = graded
    grades_sql = (
        "SELECT * EXCLUDE (policy_version, reasons), reasons::VARCHAR "
        "FROM main.merchant_grades ORDER BY ALL"
    )
    before = query(warehouse, grades_sql)
    flip_first_feedback_stars(landing, "2026-01")

    run = ["run", "--landing", str(landing), "--warehouse", str(warehouse)]
    code = cli_main([*run, "--outputs", str(outputs), "--through", "2026-03"])
    out = capsys.readouterr().out
    assert code == 0, out

    after = query(warehouse, grades_sql)
    moved = {row[0] for row in set(before) ^ set(after)}
    assert moved == set(MONTHS), "test setup: the changed stars must move every month"
    log = latest_log(warehouse)
    assert log["2026-01"][0] is True
    for month in ("2026-02", "2026-03"):
        restated, old_counts, new_counts = log[month]
        assert restated is True, f"{month}'s grades moved, yet it is not logged as restated"
        published = dict(
            query(
                warehouse,
                "SELECT tier, sum(merchants)::BIGINT FROM main.tier_distribution "
                f"WHERE month = '{month}' GROUP BY ALL",
            )
        )
        assert new_counts == published
        assert sum(old_counts.values()) == sum(new_counts.values()) > 0
        assert f"{month} restated (grades changed): tiers before {old_counts}" in out
    assert latest_reasons(warehouse) == {
        "2026-01": "inputs changed; grades changed",
        "2026-02": "grades changed",
        "2026-03": "grades changed",
    }
    assert not any(stale(warehouse).values())

    # Regraded again from the same inputs, nothing moves: not a restatement.
    grade_months(landing, warehouse, outputs, "2026-03", force=True)
    assert {m: r for m, (r, *_) in latest_log(warehouse).items()} == dict.fromkeys(MONTHS, False)
    assert latest_reasons(warehouse) == dict.fromkeys(MONTHS, None)


def test_a_failed_restatement_of_an_earlier_month_still_marks_later_months_stale(
    graded,
) -> None:
    landing, warehouse, outputs = graded
    # January gains an orders file of rows with an unknown status: more than the policy's
    # 1% of January's rows are quarantined, so its regrade fails and nothing is published.
    bogus = [
        {"order_id": f"X{i:05d}", "merchant_id": "M0500001", "buyer_id": "B1",
         "created_at": "2026-01-02T00:00:00Z", "ended_at": "2026-01-03T00:00:00Z",
         "status": "bogus", "amount_usd": "20.00"}
        for i in range(200)
    ]  # fmt: skip
    extra = write_csv(landing, "orders", "2026-01", bogus, ORDER_COLUMNS, name="late.csv")
    publications = query(warehouse, "SELECT count(*) FROM main.run_log")
    with pytest.raises(RunFailed) as failed:
        grade_months(landing, warehouse, outputs, "2026-03")
    assert failed.value.month == "2026-01" and not failed.value.published
    assert query(warehouse, "SELECT count(*) FROM main.run_log") == publications
    assert stale(warehouse) == dict.fromkeys(MONTHS, True)  # January itself too

    # The files go back to what was published: the next run skips every month and the
    # months are no longer stale.
    extra.unlink()
    results = grade_months(landing, warehouse, outputs, "2026-03")
    assert [r.month for r in results if r.unchanged_since] == list(MONTHS)
    assert stale(warehouse) == dict.fromkeys(MONTHS, False)

    # A change that grades: stale until the months after it are graded again.
    flip_first_feedback_stars(landing, "2026-01")
    grade_months(landing, warehouse, outputs, "2026-01")
    assert stale(warehouse) == {"2026-01": False, "2026-02": True, "2026-03": True}
    grade_months(landing, warehouse, outputs, "2026-03")
    assert stale(warehouse) == dict.fromkeys(MONTHS, False)
