"""Bad landing input: each case gets a clear error or a documented, tested behaviour."""

from __future__ import annotations

import re
import shutil

import pytest

from assets.runner import RunFailed, grade_months
from pipelines.datasets import MERCHANTS, ORDERS
from pipelines.ingest import IngestError, ingest_month
from pipelines.landing import LandingError, landing_months
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE, MERCHANT_COLUMNS, ORDER_COLUMNS, merchant, order, write_csv

JAN = "2026-01"


def folder(landing, dataset="orders", month=JAN):
    path = landing / dataset / f"month={month}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def with_merchant(con, landing):
    write_csv(landing, "merchants", JAN, [merchant("M1")], MERCHANT_COLUMNS)
    ingest_month(con, landing, MERCHANTS, JAN)


def test_empty_file_is_refused_naming_it(con, landing):
    with_merchant(con, landing)
    (folder(landing) / "empty.csv").write_bytes(b"")
    with pytest.raises(IngestError, match=r"orders/month=2026-01/empty\.csv"):
        ingest_month(con, landing, ORDERS, JAN)


def test_header_only_file_adds_no_rows(con, landing):
    with_merchant(con, landing)
    write_csv(landing, "orders", JAN, [], ORDER_COLUMNS)
    report = ingest_month(con, landing, ORDERS, JAN)
    assert (report.rows_read, report.rows_accepted, report.quarantined) == (0, 0, {})


def test_extra_column_is_ignored_with_a_warning(con, landing):
    with_merchant(con, landing)
    write_csv(landing, "orders", JAN, [{**order("O1"), "coupon": "X"}], [*ORDER_COLUMNS, "coupon"])
    report = ingest_month(con, landing, ORDERS, JAN)
    assert report.rows_accepted == 1
    assert report.warnings == ["orders/month=2026-01/part-0.csv: extra columns ignored: coupon"]


def test_non_utf8_csv_is_refused_naming_the_file(con, landing):
    with_merchant(con, landing)
    path = write_csv(landing, "orders", JAN, [order("O1", buyer_id="Jos\u00e9")], ORDER_COLUMNS)
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(IngestError, match=r"orders/month=2026-01/part-0\.csv: cannot be read"):
        ingest_month(con, landing, ORDERS, JAN)


def test_month_folder_that_is_not_a_month_is_refused(landing):
    folder(landing, month="2026-13")
    with pytest.raises(LandingError, match=r"month=2026-13: not a month folder"):
        landing_months(landing)


def test_unsupported_file_type_is_refused(con, landing):
    with_merchant(con, landing)
    (folder(landing) / "orders.json").write_text("[]")
    with pytest.raises(IngestError, match=r"unsupported file type '\.json'"):
        ingest_month(con, landing, ORDERS, JAN)


def test_landing_and_outputs_paths_with_spaces_and_quotes(tmp_path):
    root = tmp_path / 'it\'s a "folder" with spaces'
    shutil.copytree(CONFORMANCE / "landing", root / "landing")
    grade_months(root / "landing", root / "w h.duckdb", root / "out 'x'", "2026-01")
    con = connect(root / "w h.duckdb", read_only=True)
    assert fetch_rows(con, "SELECT count(*) FROM main.merchant_grades")[0][0] == 149
    con.close()
    assert (root / "out 'x'" / "merchant_grades" / "month=2026-01" / "part-0.parquet").is_file()


def test_run_error_names_file_column_and_row_not_the_library_error(tmp_path):
    """Through the Dagster job, the reason is the ingest's own message, not DuckDB's."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    bad = order("O-bad", "M1", amount_usd="12.x")
    write_csv(landing, "orders", JAN, [bad], ORDER_COLUMNS, name="zz-bad.csv")
    with pytest.raises(RunFailed) as failed:
        grade_months(landing, tmp_path / "w.duckdb", tmp_path / "out", JAN)
    assert failed.value.reason == (
        "raw_orders failed: orders/month=2026-01/zz-bad.csv: column 'amount_usd', row 1: "
        "value '12.x' cannot be read as decimal"
    )


def test_window_sums_past_64_bits_stop_the_month_naming_the_merchant_and_metric(tmp_path):
    """Each count is in range, their window sum is not: the month stopped with DuckDB's
    cast error naming nothing of the data (a review, 2026-12-06). It is now named, and
    nothing of the month is published."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    huge = "6000000000000000000"
    rows = "".join(f"M0500001,2026-01-{d},{huge},0,0,0,0,0\n" for d in ("08", "09"))
    folder = landing / "service_metrics" / f"month={JAN}"
    header = (folder / "part-a.csv").read_text().splitlines()[0]
    (folder / "zz-huge.csv").write_text(header + "\n" + rows)
    warehouse = tmp_path / "w.duckdb"
    with pytest.raises(RunFailed) as failed:
        grade_months(landing, warehouse, tmp_path / "out", JAN, dashboard=False)
    assert failed.value.reason.startswith(
        "merchant_grades failed: service_metrics 2026-01: messages_received of merchant "
        "'M0500001' over the window (2025-11-03 00:00:00 to before 2026-02-01 00:00:00, "
    )
    total = re.search(r"sums to (\d+), past the largest count", failed.value.reason)
    assert total and int(total.group(1)) > 12 * 10**18 > 2**63 - 1
    con = connect(warehouse, read_only=True)
    try:
        assert fetch_rows(con, "SELECT count(*) FROM main.merchant_grades") == [(0,)]
    finally:
        con.close()


# Counts whose fivefold is past 64 bits: the largest count with 5 x count within BIGINT,
# and the sum just over 5 x it (bad_value), then a count one larger (5 x it past BIGINT).
LARGEST_FIVEFOLD = 1_844_674_407_370_955_161
HUGE_DSR_ROWS = [
    ["M0500001", "2026-01-08", 0, 0, 2 * 10**18, 2 * 10**18, 0, 0],
    ["M0500001", "2026-01-09", 0, 0, 5 * LARGEST_FIVEFOLD + 1, LARGEST_FIVEFOLD, 0, 0],
    ["M0500004", "2026-01-04", 0, 0, 9 * 10**18, LARGEST_FIVEFOLD + 1, 0, 0],
]


def landing_with_huge_dsr_counts(tmp_path):
    """January of the fixture with HUGE_DSR_ROWS added to its service metrics (days the
    merchants have no row on)."""
    landing = tmp_path / "landing"
    for dataset in ("merchants", "orders", "feedback", "bad_orders", "service_metrics"):
        shutil.copytree(
            CONFORMANCE / "landing" / dataset / f"month={JAN}",
            landing / dataset / f"month={JAN}",
        )
    folder = landing / "service_metrics" / f"month={JAN}"
    header = (folder / "part-a.csv").read_text().splitlines()[0]
    lines = [",".join(str(v) for v in row) for row in HUGE_DSR_ROWS]
    (folder / "zz-huge.csv").write_text("\n".join([header, *lines]) + "\n")
    return landing


def test_dsr_counts_whose_fivefold_is_past_64_bits_are_judged_not_overflowed(tmp_path):
    """Spec §1: dsr_item_sum outside [count, 5 x count] is bad_value. 5 x count was taken
    in 64 bits, so any count over 1,844,674,407,370,955,161 stopped the month with
    DuckDB's overflow, naming nothing (found in review, 2026-12-06). Now the row over 5 x
    its count is quarantined, and the rows within are graded."""
    landing = landing_with_huge_dsr_counts(tmp_path)
    warehouse = tmp_path / "w.duckdb"
    grade_months(landing, warehouse, tmp_path / "out", JAN, dashboard=False)
    con = connect(warehouse, read_only=True)
    try:
        stored = fetch_rows(
            con,
            "SELECT metric_date::VARCHAR, dsr_item_sum FROM raw.service_metrics "
            "WHERE dsr_item_count > 10**18 ORDER BY 1",
        )
        quarantined = fetch_rows(
            con,
            "SELECT reason, record->>'metric_date' FROM main.quarantine "
            "WHERE source_file LIKE '%zz-huge.csv'",
        )
        graded = fetch_rows(
            con,
            "SELECT merchant_id, dsr_item_avg FROM main.merchant_grades "
            "WHERE merchant_id IN ('M0500001', 'M0500004') ORDER BY 1",
        )
    finally:
        con.close()
    assert stored == [("2026-01-04", 9 * 10**18), ("2026-01-08", 2 * 10**18)]
    assert quarantined == [("bad_value", "2026-01-09")]
    # Each huge day outweighs the merchant's other days: 2e18 / 2e18 and 9e18 / 1.84e18.
    assert [(m, round(avg, 3)) for m, avg in graded] == [("M0500001", 1.0), ("M0500004", 4.879)]
