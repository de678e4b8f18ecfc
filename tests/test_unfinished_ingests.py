"""An unfinished ingest (raw rows stored, no raw.ingest_log row) is found where it is, and
nowhere else: month_order.unfinished_ingests reads the log first and looks for rows only
in the dataset-months it lacks. Checked against the question asked directly of every
row (the query it replaced), on warehouse states a crash or a tampered log leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.datasets import DATASETS
from pipelines.grading import GradingError
from pipelines.month_order import refuse_unfinished_ingests, unfinished_ingests
from pipelines.months import grading_window
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import private_copy

WINDOW_DAYS = 90
DIRECT = [ds.name for ds in DATASETS if not ds.checks_order]


def every_row_answer(
    con, month: str, *, before_month: bool, window_days: int = WINDOW_DAYS
) -> list[tuple[str, str]]:
    """The months present in each directly ingested raw.<dataset>, from every row of the
    window, less those the log has: the question asked the slow way."""
    first = grading_window(month, window_days).window_months[0]
    present = " UNION ALL ".join(
        f"SELECT DISTINCT '{name}' AS dataset, month FROM raw.{name} "
        f"WHERE month BETWEEN $first AND $month"
        for name in DIRECT
    )
    rows = fetch_rows(
        con,
        f"SELECT dataset, month FROM ({present}) ANTI JOIN raw.ingest_log USING (dataset, "
        f"month) ORDER BY month, dataset",
        {"first": first, "month": month},
    )
    return [(d, m) for d, m in rows if not before_month or m < month]


@pytest.fixture
def graded(published_conformance, tmp_path: Path) -> Path:
    _, warehouse, _ = private_copy(published_conformance("2026-03"), tmp_path)
    return warehouse


def test_a_warehouse_ingested_to_the_end_has_none(graded) -> None:
    con = connect(graded)
    for before_month in (False, True):
        assert unfinished_ingests(con, "2026-03", WINDOW_DAYS, before_month=before_month) == []
        assert every_row_answer(con, "2026-03", before_month=before_month) == []
    refuse_unfinished_ingests(con, "2026-03", WINDOW_DAYS)  # does not raise
    con.close()


@pytest.mark.parametrize("dataset", DIRECT)
@pytest.mark.parametrize("unfinished_month", ["2026-01", "2026-02", "2026-03"])
def test_each_directly_ingested_dataset_month_of_the_window_is_found(
    graded, dataset, unfinished_month
) -> None:
    """What a direct ingest killed between its two transactions leaves: the month's rows
    in raw.<dataset>, no log row. Found in the month's window; the month itself only
    when the publication asks (not ``before_month``, the ingest steps' question)."""
    con = connect(graded)
    con.execute(
        "DELETE FROM raw.ingest_log WHERE dataset = $d AND month = $m",
        {"d": dataset, "m": unfinished_month},
    )
    for before_month in (False, True):
        found = unfinished_ingests(con, "2026-03", WINDOW_DAYS, before_month=before_month)
        assert found == every_row_answer(con, "2026-03", before_month=before_month)
        expected = [] if before_month and unfinished_month == "2026-03" else [
            (dataset, unfinished_month)
        ]  # fmt: skip
        assert found == expected
    with pytest.raises(GradingError, match=f"the ingest of {dataset} {unfinished_month} stopped"):
        refuse_unfinished_ingests(con, "2026-03", WINDOW_DAYS)
    con.close()


def test_a_month_before_the_window_is_not_looked_at(graded) -> None:
    """January's log row missing is found for February, whose 90-day window starts in
    December; not for March under a 31-day window, which starts on March 1st."""
    con = connect(graded)
    con.execute("DELETE FROM raw.ingest_log WHERE dataset = 'orders' AND month = '2026-01'")
    assert unfinished_ingests(con, "2026-02", WINDOW_DAYS) == [("orders", "2026-01")]
    assert unfinished_ingests(con, "2026-02", WINDOW_DAYS) == every_row_answer(
        con, "2026-02", before_month=False
    )
    assert unfinished_ingests(con, "2026-03", 31) == []
    assert every_row_answer(con, "2026-03", before_month=False, window_days=31) == []
    con.close()


def test_a_month_after_the_graded_one_is_not_looked_at(graded) -> None:
    """April's orders stored without a log row (an ingest of April killed midway) are
    not March's to refuse: only the months of March's window count."""
    con = connect(graded)
    con.execute(
        "INSERT INTO raw.orders SELECT * REPLACE ('2026-04' AS month, order_id || '-apr' "
        "AS order_id) FROM raw.orders WHERE month = '2026-03' LIMIT 5"
    )
    for before_month in (False, True):
        assert unfinished_ingests(con, "2026-03", WINDOW_DAYS, before_month=before_month) == []
    assert unfinished_ingests(con, "2026-05", WINDOW_DAYS) == [("orders", "2026-04")]
    assert unfinished_ingests(con, "2026-05", WINDOW_DAYS) == every_row_answer(
        con, "2026-05", before_month=False
    )
    con.close()


def test_a_log_row_missing_without_rows_is_not_an_unfinished_ingest(graded) -> None:
    """A dataset-month never ingested (no rows, no log row: a month not run yet, a
    dataset-month whose rows were all rolled back), and a staged dataset's month, whose
    rows and log row are written in one transaction, are not listed."""
    con = connect(graded)
    con.execute("DELETE FROM raw.service_metrics WHERE month = '2026-02'")
    con.execute("DELETE FROM raw.ingest_log WHERE month = '2026-02'")
    assert unfinished_ingests(con, "2026-03", WINDOW_DAYS) == [
        ("merchants", "2026-02"),
        ("orders", "2026-02"),
    ]
    assert unfinished_ingests(con, "2026-03", WINDOW_DAYS) == every_row_answer(
        con, "2026-03", before_month=False
    )
    con.close()
