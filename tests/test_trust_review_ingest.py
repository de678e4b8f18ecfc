"""Adversarial review of reading and casting (trust issue items 6 and 10): values that a
cast or a reader rounds on the quiet must keep their exact meaning, or stop the month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.datasets import FEEDBACK, MERCHANTS, ORDERS, SERVICE_METRICS
from pipelines.ingest import IngestError, ingest_month
from pipelines.warehouse import fetch_rows
from tests.helpers import (
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    SERVICE_COLUMNS,
    merchant,
    order,
    write_csv,
)

JAN = "2026-01"
# The last nanosecond of January: an instant inside the month, one nanosecond before
# its cutoff.
LAST_NANOSECOND = 1_769_903_999_999_999_999


def with_merchant(con, landing: Path) -> None:
    write_csv(landing, "merchants", JAN, [merchant("M1")], MERCHANT_COLUMNS)
    ingest_month(con, landing, MERCHANTS, JAN)


def orders_parquet(landing: Path, **columns: pa.Array) -> None:
    table = {c: [str(order("O1")[c])] for c in ORDER_COLUMNS}
    table.update(columns)
    folder = landing / "orders" / f"month={JAN}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), folder / "part-0.parquet")


# --- 6. A 19th decimal is never rounded, whatever surrounds the number ---------------


@pytest.mark.parametrize(
    "amount",
    ["4.9999999999999999999\t", "4.9999999999999999999\n", "4.999_999_999_999_999_999_9"],
)
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_amount_past_the_scale_is_refused_even_with_a_tab_or_digit_separators(
    con, landing, kind, amount
):
    """DuckDB's cast skips tabs and line breaks around a number and reads '_' between
    digits, then rounds the 19th decimal: 4.9999999999999999999 became 5 (and credit)."""
    with_merchant(con, landing)
    if kind == "csv":
        write_csv(landing, "orders", JAN, [order("O1", amount_usd=amount)], ORDER_COLUMNS)
    else:
        orders_parquet(landing, amount_usd=pa.array([amount]))
    with pytest.raises(IngestError, match=r"column 'amount_usd', row 1: value "):
        ingest_month(con, landing, ORDERS, JAN)


def test_parquet_decimal_wider_than_38_digits_is_refused_not_read_as_a_float(con, landing):
    """DuckDB reads a Parquet DECIMAL of more than 38 digits (Arrow decimal256, BigQuery
    BIGNUMERIC) as a DOUBLE: 4.9999999999999999999999999 arrived as 5.0 and earned credit."""
    with_merchant(con, landing)
    amounts = pa.array([Decimal("4.9999999999999999999999999")], pa.decimal256(50, 25))
    orders_parquet(landing, amount_usd=amounts)
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    message = str(caught.value)
    assert message.startswith("orders/month=2026-01/part-0.parquet: column 'amount_usd'")
    assert "DECIMAL(50,25)" in message
    assert fetch_rows(con, "SELECT * FROM raw.orders") == []


def test_a_wide_decimal_nested_in_another_column_does_not_answer_for_its_name(con, landing):
    """Only a top-level column is a file's column: an extra struct holding a field named
    ``amount_usd`` of DECIMAL(50,25) leaves the float ``amount_usd`` column readable."""
    with_merchant(con, landing)
    nested = pa.array(
        [{"amount_usd": Decimal("4.99")}], pa.struct([("amount_usd", pa.decimal256(50, 25))])
    )
    orders_parquet(landing, amount_usd=pa.array([20.5]), extra=nested)
    report = ingest_month(con, landing, ORDERS, JAN)
    assert fetch_rows(con, "SELECT amount_usd FROM raw.orders") == [(Decimal("20.5"),)]
    assert "extra columns ignored: extra" in " ".join(report.warnings)


# --- 10. One rule for timestamps in both formats ---------------------------------------


@pytest.mark.parametrize("zone", [None, "UTC"])
def test_nanosecond_parquet_timestamp_is_truncated_as_csv_text_is(con, landing, zone):
    """2026-01-31T23:59:59.999999999 is in January: the CSV text is read as ...999999; a
    Parquet TIMESTAMP_NS was rounded up to 2026-02-01 00:00 and quarantined as
    wrong_month."""
    with_merchant(con, landing)
    orders_parquet(landing, ended_at=pa.array([LAST_NANOSECOND], pa.timestamp("ns", zone)))
    report = ingest_month(con, landing, ORDERS, JAN)
    assert report.quarantined == {}
    stored = fetch_rows(con, "SELECT ended_at FROM raw.orders")
    assert stored == [(dt.datetime(2026, 1, 31, 23, 59, 59, 999999),)]


def test_nanosecond_parquet_timestamp_as_a_metric_date_keeps_its_day(con, landing):
    with_merchant(con, landing)
    table = {c: pa.array([1], pa.int64()) for c in SERVICE_COLUMNS}
    table["merchant_id"] = pa.array(["M1"])
    table["dsr_item_sum"] = pa.array([5], pa.int64())
    table["metric_date"] = pa.array([LAST_NANOSECOND], pa.timestamp("ns"))
    folder = landing / "service_metrics" / f"month={JAN}"
    folder.mkdir(parents=True)
    pq.write_table(pa.table(table), folder / "part-0.parquet")
    report = ingest_month(con, landing, SERVICE_METRICS, JAN)
    assert report.quarantined == {}
    assert fetch_rows(con, "SELECT metric_date FROM raw.service_metrics") == [
        (dt.date(2026, 1, 31),)
    ]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_metric_date_written_with_an_offset_is_the_utc_day_in_both_formats(con, landing, kind):
    """2026-01-31T23:00:00-05:00 is 2026-02-01 04:00 UTC: its day is in February, as a
    Parquet TIMESTAMPTZ of that instant says. The text cast kept the local day (Jan 31)."""
    with_merchant(con, landing)
    instant = "2026-01-31T23:00:00-05:00"
    values = ["M1", instant, 1, 1, 5, 1, 1, 1]
    if kind == "csv":
        write_csv(landing, "service_metrics", JAN, [values], SERVICE_COLUMNS)
    else:
        table = {c: pa.array([v]) for c, v in zip(SERVICE_COLUMNS, values, strict=True)}
        table["metric_date"] = pa.array(
            [dt.datetime.fromisoformat(instant)], pa.timestamp("us", "UTC")
        )
        folder = landing / "service_metrics" / f"month={JAN}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table(table), folder / "part-0.parquet")
    report = ingest_month(con, landing, SERVICE_METRICS, JAN)
    assert report.quarantined == {"wrong_month": 1}
    record = fetch_rows(con, "SELECT record->>'metric_date' FROM raw.quarantine")
    assert record == [("2026-02-01",)]


# --- 10. Text in a Parquet file without a string annotation -----------------------------


def test_parquet_text_stored_as_plain_bytes_is_read_as_text(con, landing):
    """Some writers store strings as BYTE_ARRAY without the UTF8 annotation; DuckDB then
    reads BLOB, and its cast to text wrote 'Mé1' as 'M\\xC3\\xA91' and kept the spaces of
    ' Mé1 ': the order named an unknown merchant. Text is text, as in CSV."""
    write_csv(landing, "merchants", JAN, [merchant("Mé1")], MERCHANT_COLUMNS)
    ingest_month(con, landing, MERCHANTS, JAN)
    orders_parquet(
        landing,
        order_id=pa.array([b"O1"], pa.binary()),
        merchant_id=pa.array([" Mé1 ".encode()], pa.binary()),
    )
    report = ingest_month(con, landing, ORDERS, JAN)
    assert report.quarantined == {}
    assert fetch_rows(con, "SELECT order_id, merchant_id FROM raw.orders") == [("O1", "Mé1")]


def test_parquet_plain_bytes_that_are_not_utf8_are_refused_naming_file_column_and_row(con, landing):
    with_merchant(con, landing)
    orders_parquet(landing, buyer_id=pa.array([b"Jos\xe9"], pa.binary()))
    with pytest.raises(
        IngestError,
        match=r"^orders/month=2026-01/part-0\.parquet: cannot be read as parquet: column "
        r"'buyer_id', row 1: value 'Jos\\xe9' is not UTF-8 text\n",
    ):
        ingest_month(con, landing, ORDERS, JAN)


# --- 3/9c. Nothing in a month folder is skipped in silence --------------------------------


def test_a_folder_inside_a_month_folder_is_refused_not_skipped(con, landing):
    """A writer partitioning further (orders/month=2026-01/day=02/part.csv) put rows where
    the ingest never looked: they were dropped in silence, and a month folder holding only
    such folders read as empty. Hidden folders (Spark's _temporary) are not data."""
    from pipelines.landing import month_gaps

    with_merchant(con, landing)
    write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    day = landing / "orders" / f"month={JAN}" / "day=02"
    day.mkdir()
    (day / "part-0.csv").write_text(
        (landing / "orders" / f"month={JAN}" / "part-0.csv").read_text().replace("O1", "O2")
    )
    (landing / "orders" / f"month={JAN}" / "_temporary").mkdir()
    assert day.is_dir()
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    assert str(caught.value).startswith(f"orders/month={JAN}/day=02: a folder")
    (landing / "orders" / f"month={JAN}" / "part-0.csv").unlink()
    assert "orders" not in month_gaps(landing, JAN)  # present: the ingest refuses it by name


def test_a_data_file_named_like_a_marker_is_read_not_skipped(con, landing):
    """Spec §1 reads any file name: `_late.csv` and a hidden `.more.parquet` hold rows. Only
    markers and hidden files that are not .csv or .parquet (`_SUCCESS`, `.part-0.csv.crc`)
    are left out; a month folder holding only `_late.csv` is not empty."""
    from pipelines.landing import month_gaps

    with_merchant(con, landing)
    folder = landing / "orders" / f"month={JAN}"
    plain = write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    (folder / "_late.csv").write_text(plain.read_text().replace("O1", "O2"))
    duckdb.sql(
        f"COPY (SELECT * REPLACE ('O3' AS order_id) FROM read_csv('{plain}', all_varchar=true)) "
        f"TO '{folder / '.more.parquet'}' (FORMAT parquet)"
    )
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-0.csv.crc").write_bytes(b"\x00crc")
    ingest_month(con, landing, ORDERS, JAN)
    ids = fetch_rows(con, "SELECT order_id FROM raw.orders ORDER BY order_id")
    assert ids == [("O1",), ("O2",), ("O3",)]
    plain.unlink()
    (folder / ".more.parquet").unlink()
    assert "orders" not in month_gaps(landing, JAN)


def test_csv_whose_first_line_is_blank_is_not_called_empty(con, landing):
    """A file with a blank line before its header holds rows: calling it 'empty file'
    sent the data team looking for a missing export."""
    with_merchant(con, landing)
    path = write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    path.write_text("\n" + path.read_text())
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    message = str(caught.value)
    assert message.startswith("orders/month=2026-01/part-0.csv: cannot be read as csv, line 1:")
    assert "empty file" not in message


@pytest.mark.parametrize("data", [b"\n", b"\xef\xbb\xbf", b"\r\n\r\n"])
def test_csv_of_blank_lines_only_is_an_empty_file(con, landing, data):
    with_merchant(con, landing)
    folder = landing / "orders" / f"month={JAN}"
    folder.mkdir(parents=True)
    (folder / "part-0.csv").write_bytes(data)
    with pytest.raises(IngestError, match=r"part-0\.csv: empty file \(no header line\)"):
        ingest_month(con, landing, ORDERS, JAN)


@pytest.mark.parametrize("dataset", ["orders", "feedback"])
def test_a_parquet_column_named_row_does_not_replace_the_row_number(con, landing, dataset):
    """The file's rows were numbered by a column named ``_row`` added to ``SELECT *``: a
    file with its own ``_row`` column gave its values as row numbers instead (errors and
    quarantine named rows 100 and 200 of a two-row file)."""
    with_merchant(con, landing)
    if dataset == "orders":
        orders_parquet(landing, amount_usd=pa.array(["-1"]), _row=pa.array([100]))
        ds = ORDERS
    else:
        write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
        ingest_month(con, landing, ORDERS, JAN)
        folder = landing / "feedback" / f"month={JAN}"
        folder.mkdir(parents=True)
        table = {
            "order_id": ["O1"],
            "merchant_id": ["M1"],
            "buyer_id": ["B1"],
            "stars": pa.array([9]),
            "feedback_at": ["2026-01-20T00:00:00Z"],
            "_row": pa.array([100]),
        }
        pq.write_table(pa.table(table), folder / "part-0.parquet")
        ds = FEEDBACK
    report = ingest_month(con, landing, ds, JAN)
    assert report.quarantined == {"bad_value": 1}
    assert fetch_rows(con, "SELECT source_row FROM raw.quarantine") == [(1,)]


@pytest.mark.parametrize(("delimiter", "named"), [(";", "';'"), ("\t", "tab")])
def test_a_csv_delimited_otherwise_is_refused_saying_so(con, landing, delimiter, named):
    """A semicolon- or tab-delimited file reads as one column: it is refused, and the
    message says why instead of only 'order_id is missing (found: order_id;...)'."""
    with_merchant(con, landing)
    folder = landing / "orders" / f"month={JAN}"
    folder.mkdir(parents=True)
    values = [str(v) for v in order("O1").values()]
    lines = [delimiter.join(ORDER_COLUMNS), delimiter.join(values)]
    (folder / "part-0.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    message = str(caught.value)
    assert message.startswith("orders/month=2026-01/part-0.csv: required column 'order_id'")
    assert f"delimited by {named}, not by commas" in message
