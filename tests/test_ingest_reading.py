"""How landing files are read and cast: CSV read with explicit settings and counted record
for record, booleans, exact money, empty files, and one rule for CSV and Parquet values."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.datasets import DATASETS, FEEDBACK, MERCHANTS, ORDERS, SERVICE_METRICS
from pipelines.ingest import IngestError, ingest_month
from pipelines.ingest.reading import CSV_MAX_LINE_BYTES
from pipelines.policy import load_policy
from pipelines.rules.credit import credit_points_earned
from pipelines.warehouse import fetch_frame, fetch_rows, fetch_value
from tests.helpers import (
    CONFORMANCE,
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    merchant,
    order,
    write_csv,
)

JAN = "2026-01"
MONTHS = ("2026-01", "2026-02", "2026-03")
POLICY = load_policy()
CREATED = 1767225600000000  # 2026-01-01T00:00:00Z in microseconds
ENDED = 1768046400000000  # 2026-01-10T12:00:00Z


def month_folder(landing: Path, dataset: str, month: str = JAN) -> Path:
    folder = landing / dataset / f"month={month}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def with_merchants(con, landing: Path, *ids: str) -> None:
    write_csv(landing, "merchants", JAN, [merchant(i) for i in ids], MERCHANT_COLUMNS)
    ingest_month(con, landing, MERCHANTS, JAN)


def write_parquet(
    landing: Path,
    dataset: str,
    columns: dict,
    name: str = "part-0.parquet",
    row_group_size: int | None = None,
):
    table = pa.table(columns)
    pq.write_table(table, month_folder(landing, dataset) / name, row_group_size=row_group_size)


def orders_parquet(
    landing: Path,
    ids: list[str],
    merchants: list[str],
    amounts: pa.Array,
    row_group_size: int | None = None,
):
    n = len(ids)
    write_parquet(
        landing,
        "orders",
        {
            "order_id": ids,
            "merchant_id": merchants,
            "buyer_id": ["B1"] * n,
            "created_at": pa.array([CREATED] * n, pa.timestamp("us", "UTC")),
            "ended_at": pa.array([ENDED] * n, pa.timestamp("us", "UTC")),
            "status": ["completed"] * n,
            "amount_usd": amounts,
        },
        row_group_size=row_group_size,
    )


def csv_records(path: Path) -> int:
    """A CSV file's data records, counted by Python's csv module (not by DuckDB); a
    blank line is no record."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return max(sum(1 for row in csv.reader(handle, strict=True) if row) - 1, 0)


def landed_records(landing: Path, dataset: str, month: str) -> int:
    folder = landing / dataset / f"month={month}"
    if not folder.is_dir():
        return 0
    return sum(
        csv_records(p) if p.suffix == ".csv" else pq.ParquetFile(p).metadata.num_rows
        for p in folder.iterdir()
        if p.suffix in (".csv", ".parquet")
    )


def accounted_records(con, dataset: str, month: str) -> tuple[int, int]:
    """(rows read as logged, stored + quarantined + collapsed exact copies)."""
    read, copies = fetch_rows(
        con,
        "SELECT rows_read, exact_copies FROM raw.ingest_log WHERE dataset = $d AND month = $m",
        {"d": dataset, "m": month},
    )[0]
    stored = fetch_value(con, f"SELECT count(*) FROM raw.{dataset} WHERE month = $m", {"m": month})
    quarantined = fetch_value(
        con,
        "SELECT count(*) FROM raw.quarantine WHERE dataset = $d AND month = $m",
        {"d": dataset, "m": month},
    )
    return read, stored + quarantined + copies


# --- 1. Booleans mean what they say ---------------------------------------------------


def test_upper_case_false_is_false_in_csv(con, landing):
    rows = [
        merchant("M1", real_name_verified="FALSE", collection_account_set="TRUE"),
        merchant("M2", real_name_verified="False", collection_account_set="true"),
        merchant("M3", real_name_verified="1", collection_account_set="0"),
    ]
    write_csv(landing, "merchants", JAN, rows, MERCHANT_COLUMNS)
    ingest_month(con, landing, MERCHANTS, JAN)
    got = fetch_rows(
        con,
        "SELECT merchant_id, real_name_verified, collection_account_set "
        "FROM raw.merchants ORDER BY 1",
    )
    assert got == [("M1", False, True), ("M2", False, True), ("M3", True, False)]


def test_parquet_string_booleans_follow_the_same_rule(con, landing):
    ids = ["M1", "M2", "M3", "M4"]
    table = {c: [merchant(i)[c] for i in ids] for c in MERCHANT_COLUMNS}
    table["product_count"] = pa.array([50] * 4, pa.int64())
    table["real_name_verified"] = ["FALSE", "TRUE", "0", "false"]
    table["collection_account_set"] = ["TRUE", "False", "1", "True"]
    write_parquet(landing, "merchants", table)
    ingest_month(con, landing, MERCHANTS, JAN)
    got = fetch_rows(
        con,
        "SELECT real_name_verified, collection_account_set FROM raw.merchants ORDER BY merchant_id",
    )
    assert got == [(False, True), (True, False), (False, True), (False, True)]


# --- 3. CSV reading never guesses ----------------------------------------------------


def hash_id_orders(landing: Path) -> Path:
    """Numeric order ids, some written '#91002' as shops number orders, with quoted
    commas, embedded line breaks, an exact copy and a quarantined row."""
    rows = [order(f"#9{i:04d}" if i % 3 == 0 else f"9{i:04d}") for i in range(20)]
    rows[1]["buyer_id"] = "Smith, John"
    rows[2]["buyer_id"] = "line one\nline two"
    rows[4]["buyer_id"] = 'said "hi", left'
    rows.append(dict(rows[3]))  # an exact copy of '#90003'
    rows.append(order("#99999", status="lost"))  # bad_value
    return write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)


def test_hash_ids_quoted_commas_and_line_breaks_are_all_read(con, landing):
    with_merchants(con, landing, "M1")
    path = hash_id_orders(landing)
    report = ingest_month(con, landing, ORDERS, JAN)
    assert csv_records(path) == 22
    assert accounted_records(con, "orders", JAN) == (22, 22)
    assert (report.rows_accepted, report.exact_copies, report.rows_quarantined) == (20, 1, 1)
    buyers = fetch_rows(
        con, "SELECT order_id, buyer_id FROM raw.orders WHERE buyer_id <> 'B1' ORDER BY 1"
    )
    assert buyers == [
        ("90001", "Smith, John"),
        ("90002", "line one\nline two"),
        ("90004", 'said "hi", left'),
    ]
    assert fetch_value(con, "SELECT count(*) FROM raw.orders WHERE order_id LIKE '#%'") == 7


def test_every_conformance_record_is_stored_quarantined_or_a_copy(con):
    landing = CONFORMANCE / "landing"
    for month in MONTHS:
        for dataset in DATASETS:
            ingest_month(con, landing, dataset, month)
            landed = landed_records(landing, dataset.name, month)
            assert accounted_records(con, dataset.name, month) == (landed, landed), (
                dataset.name,
                month,
            )


def write_bytes(landing: Path, data: bytes, name: str = "part-0.csv") -> Path:
    path = month_folder(landing, "orders") / name
    path.write_bytes(data)
    return path


def order_lines(*ids: str, end: str = "\n") -> list[str]:
    header = ",".join(ORDER_COLUMNS)
    rows = [f"{i},M1,B1,2026-01-01T00:00:00Z,2026-01-10T12:00:00Z,completed,20.00" for i in ids]
    return [line + end for line in (header, *rows)]


def orders_with_a_long_note(landing: Path, note_bytes: int) -> Path:
    """Three orders with an extra ``note`` column; the second's note is ``note_bytes`` long
    and holds a quoted comma and line break."""
    header = ",".join([*ORDER_COLUMNS, "note"])
    row = "{},M1,B1,2026-01-01T00:00:00Z,2026-01-10T12:00:00Z,completed,20.00,{}"
    long_note = '"' + "x" * (note_bytes - 6) + ',\nx"'
    lines = [header, row.format("O1", "short"), row.format("O2", long_note), row.format("O3", "")]
    return write_bytes(landing, ("\n".join(lines) + "\n").encode())


def test_a_value_of_several_megabytes_is_read(con, landing):
    """Found by an audit (2026-12-05): DuckDB's default limit of 2,000,000 bytes a line
    refused this valid file; the reader now takes lines up to CSV_MAX_LINE_BYTES."""
    with_merchants(con, landing, "M1")
    orders_with_a_long_note(landing, 3_000_000)
    report = ingest_month(con, landing, ORDERS, JAN)
    assert (report.rows_read, report.rows_accepted, report.rows_quarantined) == (3, 3, 0)
    assert any("note" in warning for warning in report.warnings)


def test_a_line_over_the_reader_s_limit_is_refused_naming_file_and_line(con, landing):
    with_merchants(con, landing, "M1")
    orders_with_a_long_note(landing, CSV_MAX_LINE_BYTES + 10)
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    message = str(caught.value)
    assert message.startswith("orders/month=2026-01/part-0.csv: cannot be read as csv, line 3")
    assert f"Maximum line size of {CSV_MAX_LINE_BYTES} bytes exceeded" in message
    assert fetch_value(con, "SELECT count(*) FROM raw.orders") == 0


def test_mixed_line_endings_are_refused_naming_file_and_line(con, landing):
    with_merchants(con, landing, "M1")
    lines = order_lines("O1", "O2", "O3", "O4")
    lines[3] = lines[3].replace("\n", "\r\n")  # line 4 ends otherwise than line 1
    write_bytes(landing, "".join(lines).encode())
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    message = str(caught.value)
    assert message.startswith(
        "orders/month=2026-01/part-0.csv: cannot be read as csv, line 4: "
        "its line endings change on this line"
    )
    assert "state machine reached an invalid state" in message
    assert "strict_mode = true" in message  # DuckDB's whole reason, not its first line


def test_line_ending_change_is_found_past_quoted_line_breaks(con, landing):
    with_merchants(con, landing, "M1")
    lines = order_lines("O1", "O2", "O3", end="\r\n")
    lines[1] = lines[1].replace(",B1,", ',"two\nlines",')  # not a line ending: quoted
    lines[3] = lines[3].replace("\r\n", "\n")  # physical line 5 ends with \n alone
    write_bytes(landing, "".join(lines).encode())
    with pytest.raises(IngestError, match=r"part-0\.csv: cannot be read as csv, line 5: "):
        ingest_month(con, landing, ORDERS, JAN)


def test_ragged_row_is_refused_naming_file_and_line(con, landing):
    with_merchants(con, landing, "M1")
    lines = order_lines("O1", "O2", "O3")
    lines[2] = lines[2].replace("\n", ",extra\n")
    write_bytes(landing, "".join(lines).encode())
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    message = str(caught.value)
    assert message.startswith(  # what is wrong on the first line: a one-line report says it
        "orders/month=2026-01/part-0.csv: cannot be read as csv, line 3: "
        "Expected Number of Columns: 7 Found: 8\n"
    )


def test_non_utf8_bytes_are_refused_naming_file_line_column_and_row(con, landing):
    """DuckDB names the line only; the error names the column and the row too (found by
    an audit), past valid multi-byte text and a quoted line break. (DuckDB's line counts
    the header and the records: the quoted line break does not move it.)"""
    with_merchants(con, landing, "M1")
    lines = order_lines("O1", "O2", "O3")
    lines[1] = lines[1].replace(",B1,", ',"B\u00e9\nB",')
    data = "".join(lines).encode().replace(b"O3,M1,B1", b"O3,M1,Jos\xe9")
    write_bytes(landing, data)
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    message = str(caught.value)
    assert message.startswith(
        "orders/month=2026-01/part-0.csv: cannot be read as csv, line 4: "
        "column 'buyer_id', row 3: value 'Jos\\xe9' is not UTF-8 text (Invalid unicode "
        "(byte sequence mismatch) detected. This file is not utf-8 encoded.)\n"
    )


def test_non_utf8_bytes_in_parquet_text_are_refused_naming_column_and_row(con, landing):
    """DuckDB's error names neither (found by an audit)."""
    with_merchants(con, landing, "M1")
    buyers = pa.array([b"B1", "B\u00e9".encode(), b"B\xe9\xff1"], pa.binary()).view(pa.string())
    orders_parquet(landing, ["O1", "O2", "O3"], ["M1"] * 3, pa.array([Decimal("20.00")] * 3))
    table = pq.read_table(month_folder(landing, "orders") / "part-0.parquet")
    table = table.set_column(table.schema.get_field_index("buyer_id"), "buyer_id", buyers)
    pq.write_table(table, month_folder(landing, "orders") / "part-0.parquet")
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    assert str(caught.value).startswith(
        "orders/month=2026-01/part-0.parquet: cannot be read as parquet: "
        "column 'buyer_id', row 3: value 'B\\xe9\\xff1' is not UTF-8 text\n"
    )


def test_a_parquet_encoding_duckdb_cannot_read_names_the_column(con, landing):
    """A decimal written as fixed-length bytes with BYTE_STREAM_SPLIT (valid Parquet since
    format 2.11): DuckDB cannot read it, and its error names neither the column nor its
    type (found by an audit). A double with the same encoding is read."""
    with_merchants(con, landing, "M1")
    orders_parquet(landing, ["O1", "O2"], ["M1"] * 2, pa.array([Decimal("20.00")] * 2))
    path = month_folder(landing, "orders") / "part-0.parquet"
    table = pq.read_table(path)
    table = table.set_column(
        table.schema.get_field_index("amount_usd"),
        "amount_usd",
        pa.array([Decimal("20.00"), Decimal("5.00")], pa.decimal128(12, 2)),
    ).append_column("weight", pa.array([1.5, 2.5]))
    pq.write_table(
        table, path, use_dictionary=False, use_byte_stream_split=["amount_usd", "weight"]
    )
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    assert str(caught.value).startswith(
        "orders/month=2026-01/part-0.parquet: cannot be read as parquet: column "
        "'amount_usd' (FIXED_LEN_BYTE_ARRAY) is stored with the BYTE_STREAM_SPLIT encoding, "
        "which DuckDB cannot read for that type; write it with another encoding (PLAIN, "
        "say)\nBYTE_STREAM_SPLIT encoding is only supported for"
    )


def test_a_damaged_parquet_page_names_its_column(con, landing):
    """A data page damaged in storage: DuckDB says only "Snappy decompression failure",
    naming no column (found by an audit); each column is then read alone to find it.
    Nothing of the month is stored."""
    with_merchants(con, landing, "M1")
    n = 3000
    orders_parquet(landing, [f"O{i}" for i in range(n)], ["M1"] * n,
                   pa.array([Decimal("20.00")] * n))  # fmt: skip
    path = month_folder(landing, "orders") / "part-0.parquet"
    pq.write_table(pq.read_table(path), path, compression="snappy", use_dictionary=False)
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert chunk.path_in_schema == "order_id"
    data = bytearray(path.read_bytes())
    middle = chunk.data_page_offset + chunk.total_compressed_size // 2
    data[middle : middle + 40] = bytes(b ^ 0xFF for b in data[middle : middle + 40])
    path.write_bytes(bytes(data))

    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)

    assert str(caught.value).startswith(
        "orders/month=2026-01/part-0.parquet: cannot be read as parquet: column 'order_id' "
        "cannot be read on its own: "
    )
    assert str(caught.value).splitlines()[0].endswith("Snappy decompression failure")
    assert con.execute("SELECT count(*) FROM raw.orders").fetchone() == (0,)


@pytest.mark.parametrize("names", ["Buyer_ID,buyer_ID ", "buyer_id,Buyer_ID", "Buyer_ID,buyer_id"])
def test_a_column_named_twice_is_refused_not_picked(con, landing, names):
    """In any spelling: the exact one is not picked over the other either."""
    with_merchants(con, landing, "M1")
    lines = order_lines("O1")
    lines[0] = lines[0].replace("buyer_id", names)
    lines[1] = lines[1].replace(",B1,", ",B1,B2,")
    write_bytes(landing, "".join(lines).encode())
    with pytest.raises(IngestError, match=r"required column 'buyer_id' appears 2 times"):
        ingest_month(con, landing, ORDERS, JAN)


def order_o1_ingested(con, landing: Path) -> None:
    """Merchant M1 and its order O1, ingested: a feedback file's rows then find them."""
    with_merchants(con, landing, "M1")
    orders_parquet(landing, ["O1"], ["M1"], pa.array([Decimal("20.00")], pa.decimal128(12, 2)))
    ingest_month(con, landing, ORDERS, JAN)


@pytest.mark.parametrize("second", ["stars", "Stars"])
def test_a_parquet_column_named_twice_is_refused_not_picked(con, landing, second):
    """DuckDB names a repeated Parquet column ``stars_1`` (``Stars_1``); the file's own
    names are what the columns are matched by, so the second copy is seen."""
    order_o1_ingested(con, landing)
    names = ["order_id", "merchant_id", "buyer_id", "stars", second, "feedback_at"]
    arrays = [["O1"], ["M1"], ["B1"], [1], [5], pa.array([ENDED], pa.timestamp("us", "UTC"))]
    pq.write_table(
        pa.Table.from_arrays(arrays, names=names), month_folder(landing, "feedback") / "f.parquet"
    )
    with pytest.raises(IngestError, match=r"f\.parquet: required column 'stars' appears 2 times"):
        ingest_month(con, landing, FEEDBACK, JAN)
    assert fetch_value(con, "SELECT count(*) FROM raw.feedback") == 0


@pytest.mark.parametrize("name", ["file_row_number", "File_Row_Number"])
def test_a_parquet_column_named_file_row_number_is_an_extra_column(con, landing, name):
    """DuckDB cannot add its row number beside a column of that name (a binder error):
    such a file's rows are numbered in the order they are read, and the column is an
    extra one, ignored with a warning. Many row groups, so the order is put to the test."""
    with_merchants(con, landing, "M1")
    n = 30_000
    ids = [f"O{i:06d}" for i in range(n)]
    table = pa.table(
        {
            "order_id": ids,
            "merchant_id": ["M1"] * n,
            "buyer_id": ["B1"] * n,
            "created_at": pa.array([CREATED] * n, pa.timestamp("us", "UTC")),
            "ended_at": pa.array([ENDED] * n, pa.timestamp("us", "UTC")),
            "status": ["completed"] * n,
            "amount_usd": ["-1.00" if i == 20_001 else "20.00" for i in range(n)],
            name: [f"x{i}" for i in range(n)],
        }
    )
    pq.write_table(table, month_folder(landing, "orders") / "part-0.parquet", row_group_size=1000)
    report = ingest_month(con, landing, ORDERS, JAN)
    assert f"part-0.parquet: extra columns ignored: {name}" in " ".join(report.warnings)
    rows = fetch_rows(con, "SELECT order_id, source_row FROM raw.orders")
    assert len(rows) == n - 1
    assert all(row == int(order_id[1:]) + 1 for order_id, row in rows)
    quarantined = fetch_rows(con, "SELECT reason, source_row FROM raw.quarantine")
    assert quarantined == [("bad_value", 20_002)]


@pytest.mark.parametrize(
    "buyer",
    [
        pa.array([["B1"]]),
        pa.array([{"id": "B1"}]),
        pa.array([[("k", "B1")]], pa.map_(pa.string(), pa.string())),
    ],
    ids=["list", "struct", "map"],
)
def test_a_nested_parquet_column_is_refused_not_cast_to_text(con, landing, buyer):
    """A list of one id is not that id: its cast to text (``[B1]``) would be stored."""
    order_o1_ingested(con, landing)
    columns = {
        "order_id": ["O1"],
        "merchant_id": ["M1"],
        "buyer_id": buyer,
        "stars": [5],
        "feedback_at": pa.array([ENDED], pa.timestamp("us", "UTC")),
    }
    write_parquet(landing, "feedback", columns)
    with pytest.raises(IngestError, match=r"part-0\.parquet: column 'buyer_id' cannot be cast"):
        ingest_month(con, landing, FEEDBACK, JAN)


def test_a_parquet_variant_column_is_refused_not_cast_to_text(con, landing):
    """A Parquet VARIANT can hold anything, a list or an object too: not one value of the
    contract's type, so it is refused like the nested types."""
    order_o1_ingested(con, landing)
    path = month_folder(landing, "feedback") / "part-0.parquet"
    con.execute(
        f"COPY (SELECT 'O1' AS order_id, 'M1' AS merchant_id, 'B1'::VARIANT AS buyer_id, "
        f"5 AS stars, make_timestamptz({ENDED}) AS feedback_at) TO '{path}'"
    )
    with pytest.raises(IngestError, match=r"part-0\.parquet: column 'buyer_id' cannot be cast"):
        ingest_month(con, landing, FEEDBACK, JAN)


# --- 6. Exact money --------------------------------------------------------------------

# The case: 4.99999999999 was rounded to 5.0000000000 and earned credit.
BELOW, ABOVE = "4.99999999999", "5.00000000001"
# One step of the storage scale (18 decimals) from $5, and a step finer than it.
STEP_BELOW, STEP_ABOVE = "4.999999999999999999", "5.000000000000000001"
FINER_BELOW, FINER_ABOVE = "4.9999999999999999999", "5.0000000000000000001"


def amounts_landing(con, landing: Path, kind: str, below: str, above: str) -> None:
    """Merchants MB and MA, one order each (amount ``below`` and ``above``) in the format
    ``kind``, and a five-star feedback on each; merchants and orders ingested."""
    with_merchants(con, landing, "MB", "MA")
    ids, merchants = ["OB", "OA"], ["MB", "MA"]
    if kind == "csv":
        rows = [
            order(i, m, amount_usd=a)
            for i, m, a in zip(ids, merchants, (below, above), strict=True)
        ]
        write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    elif kind == "double":
        orders_parquet(landing, ids, merchants, pa.array([float(below), float(above)]))
    else:  # a Parquet decimal finer than the storage scale
        values = [Decimal(below), Decimal(above)]
        orders_parquet(landing, ids, merchants, pa.array(values, pa.decimal128(38, 20)))
    feedback = [
        [i, m, "B1", "5", "2026-01-20T00:00:00Z"] for i, m in zip(ids, merchants, strict=True)
    ]
    write_csv(landing, "feedback", JAN, feedback, FEEDBACK_COLUMNS)


def merchant_points(con) -> dict[str, int]:
    feedback = fetch_frame(
        con, "SELECT merchant_id, buyer_id, stars, feedback_at, order_amount_usd FROM raw.feedback"
    )
    points = credit_points_earned(feedback.lazy(), POLICY).collect()
    earned = dict(zip(points["merchant_id"], points["points"], strict=True))
    return {m: earned.get(m, 0) for m in ("MB", "MA")}


@pytest.mark.parametrize("kind", ["csv", "double", "decimal"])
def test_amounts_just_below_and_above_five_dollars_keep_their_side(con, landing, kind):
    amounts_landing(con, landing, kind, BELOW, ABOVE)
    ingest_month(con, landing, ORDERS, JAN)
    ingest_month(con, landing, FEEDBACK, JAN)
    stored = fetch_rows(con, "SELECT order_id, amount_usd FROM raw.orders ORDER BY 1")
    assert stored == [("OA", Decimal(ABOVE)), ("OB", Decimal(BELOW))]
    assert merchant_points(con) == {"MB": 0, "MA": 1}


@pytest.mark.parametrize("kind", ["csv", "decimal"])  # a DOUBLE cannot write these
def test_amounts_a_step_of_the_storage_scale_from_five_dollars_keep_their_side(con, landing, kind):
    amounts_landing(con, landing, kind, STEP_BELOW, STEP_ABOVE)
    ingest_month(con, landing, ORDERS, JAN)
    ingest_month(con, landing, FEEDBACK, JAN)
    stored = fetch_rows(con, "SELECT order_id, amount_usd FROM raw.orders ORDER BY 1")
    assert stored == [("OA", Decimal(STEP_ABOVE)), ("OB", Decimal(STEP_BELOW))]
    assert merchant_points(con) == {"MB": 0, "MA": 1}


@pytest.mark.parametrize("kind", ["csv", "decimal"])
@pytest.mark.parametrize(
    ("below", "above", "row"),
    [(FINER_BELOW, "20.00", 1), ("5.00", FINER_ABOVE, 2)],
)
def test_amount_finer_than_the_storage_scale_is_refused_not_rounded(
    con, landing, kind, below, above, row
):
    """A 19th decimal would be rounded: the value stops the month, naming file, column
    and row, as any value that cannot be read as its type does."""
    amounts_landing(con, landing, kind, below, above)
    with pytest.raises(IngestError, match=rf"column 'amount_usd', row {row}: value '"):
        ingest_month(con, landing, ORDERS, JAN)
    assert fetch_value(con, "SELECT count(*) FROM raw.orders") == 0


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("1.5e-06", "0.0000015"),
        ("2E+3", "2000"),
        ("0.10000000000000", "0.1"),
        (" 7 ", "7"),
        # 19 decimals written, 17 once the exponent moves the point: within the scale
        ("1.2345678901234567891e2", "123.45678901234567891"),
    ],
)
def test_csv_amount_notations_are_read_exactly(con, landing, text, stored):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1", amount_usd=text)], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    assert fetch_value(con, "SELECT amount_usd FROM raw.orders") == Decimal(stored)


@pytest.mark.parametrize("text", ["4_99", "1_000.50", "0_5"])
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_amount_with_an_underscore_is_refused_not_read(con, landing, text, kind):
    """DuckDB's cast reads '_' between digits (4_99 as 499, 0_5 as 5, which would earn
    credit); like an integer's 1_0, it stops the month, naming file, column and row."""
    with_merchants(con, landing, "M1")
    if kind == "csv":
        rows = [order("O1"), order("O2", amount_usd=text)]
        write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    else:
        orders_parquet(landing, ["O1", "O2"], ["M1", "M1"], pa.array(["20.00", text]))
    with pytest.raises(IngestError, match=r"column 'amount_usd', row 2: value '"):
        ingest_month(con, landing, ORDERS, JAN)
    assert fetch_value(con, "SELECT count(*) FROM raw.orders") == 0


def test_a_negative_exponent_adds_decimals_and_is_refused_past_the_scale(con, landing):
    """49.9999999999999999999e-1 is 4.99999999999999999999: 20 decimals, which the
    storage scale (18) would round to 5.00, enough to earn credit."""
    with_merchants(con, landing, "M1")
    rows = [order("O1"), order("O2", amount_usd="49.9999999999999999999e-1")]
    write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    with pytest.raises(IngestError, match=r"column 'amount_usd', row 2: value '"):
        ingest_month(con, landing, ORDERS, JAN)
    assert fetch_value(con, "SELECT count(*) FROM raw.orders") == 0


def test_an_amount_of_spaces_only_is_empty_and_quarantined(con, landing):
    """Spaces only is an empty value, not one that cannot be cast: the row is a
    bad_value (an amount is required) and the month goes on."""
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1"), order("O2", amount_usd="   ")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    assert fetch_rows(con, "SELECT order_id FROM raw.orders") == [("O1",)]
    rejected = fetch_rows(con, "SELECT reason, record FROM raw.quarantine")
    assert [(why, json.loads(r)["order_id"]) for why, r in rejected] == [("bad_value", "O2")]


def test_csv_amount_in_exponent_notation_finer_than_the_scale_is_refused(con, landing):
    with_merchants(con, landing, "M1")
    amount = FINER_BELOW + "e0"
    write_csv(landing, "orders", JAN, [order("O1", amount_usd=amount)], ORDER_COLUMNS)
    with pytest.raises(IngestError, match=r"column 'amount_usd', row 1"):
        ingest_month(con, landing, ORDERS, JAN)


# --- 9c. Empty file --------------------------------------------------------------------


def test_zero_byte_csv_is_an_empty_file(con, landing):
    with_merchants(con, landing, "M1")
    write_bytes(landing, b"", name="empty.csv")
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    assert str(caught.value).startswith("orders/month=2026-01/empty.csv: empty file")
    assert "missing" not in str(caught.value)


@pytest.mark.parametrize("end", ["\n", "\r\n", ""])
def test_header_only_csv_is_a_valid_file_of_no_rows(con, landing, end):
    with_merchants(con, landing, "M1")
    write_bytes(landing, (",".join(ORDER_COLUMNS) + end).encode())
    report = ingest_month(con, landing, ORDERS, JAN)
    assert (report.rows_read, report.rows_accepted, report.quarantined) == (0, 0, {})
    assert accounted_records(con, "orders", JAN) == (0, 0)


# --- 10. One rule for both file formats -------------------------------------------------


def feedback_with_stars(con, landing: Path, kind: str, stars: list) -> None:
    with_merchants(con, landing, "M1")
    ids = [f"O{i}" for i in range(len(stars))]
    write_csv(landing, "orders", JAN, [order(i) for i in ids], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    if kind == "csv":
        rows = [[i, "M1", "B1", s, "2026-01-20T00:00:00Z"] for i, s in zip(ids, stars, strict=True)]
        write_csv(landing, "feedback", JAN, rows, FEEDBACK_COLUMNS)
    else:
        n = len(ids)
        write_parquet(
            landing,
            "feedback",
            {
                "order_id": ids,
                "merchant_id": ["M1"] * n,
                "buyer_id": ["B1"] * n,
                "stars": pa.array([float(s) for s in stars], pa.float64()),
                "feedback_at": pa.array([ENDED + 864_000_000_000] * n, pa.timestamp("us", "UTC")),
            },
        )


@pytest.mark.parametrize("kind", ["csv", "double"])
def test_whole_number_stars_written_with_a_fraction_are_accepted_in_both_formats(
    con, landing, kind
):
    feedback_with_stars(con, landing, kind, ["4.0", "5.00", "3"])
    ingest_month(con, landing, FEEDBACK, JAN)
    assert fetch_rows(con, "SELECT stars FROM raw.feedback ORDER BY order_id") == [(4,), (5,), (3,)]


@pytest.mark.parametrize("kind", ["csv", "double"])
def test_fractional_stars_are_refused_in_both_formats(con, landing, kind):
    feedback_with_stars(con, landing, kind, ["4.0", "4.5"])
    with pytest.raises(IngestError, match=r"column 'stars', row 2: value '4\.5'"):
        ingest_month(con, landing, FEEDBACK, JAN)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_text_values_lose_surrounding_spaces_in_both_formats(con, landing, kind):
    """' M1 ' is merchant M1; ' O1' and 'O1' are one key, so equal rows are exact copies
    and rows that differ are duplicate keys."""
    with_merchants(con, landing, "M1")
    rows = [
        order("O1", " M1 "),
        order(" O1", "M1"),  # an exact copy of the row above, once trimmed
        order("O2 ", "M1", status=" completed "),
        order("O3", "M1", amount_usd="1.00"),
        order(" O3 ", "M1", amount_usd="2.00"),  # the same key, another amount
    ]
    if kind == "csv":
        write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    else:
        table = {c: [r[c] for r in rows] for c in ORDER_COLUMNS}
        table["created_at"] = pa.array([CREATED] * len(rows), pa.timestamp("us", "UTC"))
        table["ended_at"] = pa.array([ENDED] * len(rows), pa.timestamp("us", "UTC"))
        write_parquet(landing, "orders", table)
    report = ingest_month(con, landing, ORDERS, JAN)
    stored = fetch_rows(con, "SELECT order_id, merchant_id, status FROM raw.orders ORDER BY 1")
    assert stored == [("O1", "M1", "completed"), ("O2", "M1", "completed")]
    assert report.exact_copies == 1
    assert report.quarantined == {"duplicate_key": 2}


def test_csv_reader_reads_quoted_fields_like_pythons_csv_module(con, landing):
    """The header and the rows are parsed with one dialect: a quoted header name with a
    comma and a BOM before the header are handled as Python's csv module does."""
    with_merchants(con, landing, "M1")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([*ORDER_COLUMNS, "note, free text"])
    writer.writerow(["O1", "M1", "B1", "2026-01-01T00:00:00Z", "2026-01-10T12:00:00Z"])
    buffer.seek(0)
    rows = buffer.getvalue().splitlines()
    rows[1] += ',completed,20.00,"a, b"'
    write_bytes(landing, ("\ufeff" + "\r\n".join(rows) + "\r\n").encode())
    report = ingest_month(con, landing, ORDERS, JAN)
    assert report.rows_accepted == 1
    assert report.warnings == [
        "orders/month=2026-01/part-0.csv: extra columns ignored: note, free text"
    ]


def test_a_header_s_trailing_comma_is_an_extra_column_named_by_its_number(con, landing):
    """Spreadsheets end each line with a comma: the header's last column has no name. Its
    warning said "extra columns ignored: " with nothing after it (found by an audit)."""
    with_merchants(con, landing, "M1")
    lines = [line.rstrip("\n") + ",\n" for line in order_lines("O1", "O2")]
    write_bytes(landing, "".join(lines).encode())
    report = ingest_month(con, landing, ORDERS, JAN)
    assert report.rows_accepted == 2
    assert report.warnings == [
        "orders/month=2026-01/part-0.csv: extra columns ignored: "
        "(a column without a name, number 8)"
    ]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_line_ending_change_is_found_across_megabyte_chunks(tmp_path, ending):
    """The search reads a megabyte at a time: a \\r\\n split by a chunk boundary is one
    ending, and the change is found lines and chunks later."""
    from pipelines.ingest.reading import line_ending_change

    line = b"x" * 99
    lines = [line] * 30_000  # about 3 MB
    path = tmp_path / "big.csv"
    if ending == b"\r\n":  # put a \r\n across the first 1 MiB boundary
        lines[0] = b"x" * ((1 << 20) % 101 - 1 + 101)
    path.write_bytes(ending.join(lines) + ending)
    assert line_ending_change(path) is None
    other = b"\r\n" if ending == b"\n" else b"\n"
    changed = 25_000
    path.write_bytes(
        ending.join(lines[: changed - 1])
        + ending
        + lines[changed - 1]
        + other
        + ending.join(lines[changed:])
        + ending
    )
    assert line_ending_change(path) == changed


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-01-10T12:00:00+08:00", "2026-01-10 04:00:00"),
        ("2026-01-10T12:00:00+0800", "2026-01-10 04:00:00"),
        ("2026-01-10T12:00:00+08", "2026-01-10 04:00:00"),
        ("2026-01-10T12:00:00-05:30", "2026-01-10 17:30:00"),
        ("2026-01-10T12:00:00+18:00", "2026-01-09 18:00:00"),
        ("2026-01-10T12:00:00-00:00", "2026-01-10 12:00:00"),
        ("2026-01-10 12:00:00 UTC", "2026-01-10 12:00:00"),
        ("2026-01-10T12:00:00.5Z", "2026-01-10 12:00:00.500000"),
        ("2026-01-10", "2026-01-10 00:00:00"),
        # ISO 8601 to the minute, with a zone (Spark reads these once ':00' is put in)
        ("2026-01-10T12:00Z", "2026-01-10 12:00:00"),
        ("2026-01-10 12:00Z", "2026-01-10 12:00:00"),
        ("2026-01-10T14:00+02:00", "2026-01-10 12:00:00"),
        ("2026-01-10T06:30-0530", "2026-01-10 12:00:00"),
        ("2026-01-10T20:00+08", "2026-01-10 12:00:00"),
        ("2026-01-10 12:00 UTC", "2026-01-10 12:00:00"),
        ("2026-01-10T12:00", "2026-01-10 12:00:00"),
    ],
)
def test_iso_timestamps_with_an_offset_are_read_as_their_utc_instant(con, landing, text, utc):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1", ended_at=text)], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    assert fetch_value(con, "SELECT ended_at FROM raw.orders") == datetime.fromisoformat(utc)


def test_a_metric_date_to_the_minute_with_an_offset_is_its_utc_day(con, landing):
    """A date column given as an instant takes its UTC day, to the minute as well: 01:30
    on 1 February at +02:00 is 31 January in UTC, so it belongs to January's folder."""
    with_merchants(con, landing, "M1")
    values = ["M1", "2026-02-01T01:30+02:00", 1, 1, 5, 1, 1, 1]
    write_csv(landing, "service_metrics", JAN, [values], list(SERVICE_METRICS.columns))
    ingest_month(con, landing, SERVICE_METRICS, JAN)
    assert fetch_value(con, "SELECT metric_date FROM raw.service_metrics") == date(2026, 1, 31)


@pytest.mark.parametrize(
    ("arrow_type", "largest"), [(pa.uint64(), 2**64 - 1), (pa.decimal128(38, 0), 2**63)]
)
def test_a_parquet_count_past_64_bits_is_refused_naming_its_row(con, landing, arrow_type, largest):
    """A UINT64 count of 2**63 stopped the month on DuckDB's "out of range for the
    destination type INT64", which names no row (recorded in review, fixed 2026-12-06).
    The largest count that fits is stored as it is."""
    with_merchants(con, landing, "M1")
    counts = [2**63 - 1, 7, largest]
    columns = {"merchant_id": ["M1"] * 3, "metric_date": [date(2026, 1, d) for d in (1, 2, 3)]}
    for name in list(SERVICE_METRICS.columns)[2:]:
        columns[name] = pa.array([1, 1, 1], arrow_type)
    columns["messages_received"] = pa.array(counts, arrow_type)
    write_parquet(landing, "service_metrics", columns)
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, SERVICE_METRICS, JAN)
    assert str(caught.value) == (
        "service_metrics/month=2026-01/part-0.parquet: column 'messages_received', "
        f"row 3: value '{largest}' cannot be read as int"
    )
    columns["messages_received"] = pa.array(counts[:2] + [3], arrow_type)
    write_parquet(landing, "service_metrics", columns)
    ingest_month(con, landing, SERVICE_METRICS, JAN)
    assert fetch_rows(con, "SELECT messages_received FROM raw.service_metrics ORDER BY 1") == [
        (3,),
        (7,),
        (2**63 - 1,),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-10T12:00:00+99:00",  # DuckDB moved it by 99 hours
        "2026-01-10T12:00:00+08:75",  # and this by 8h75m
        "2026-01-10T12:00:00+24:00",
        "2026-01-10T12:00:00+18:01",  # beyond ±18:00, which Spark refuses
        "2026-01-10T12:00+18:01",
        "2026-1-10T12:00Z",  # to the minute with a zone: zero-padded only, as Spark reads it
        "2026-01-10T12:00z",
        "2026-01-10T24:00Z",
        "2026-01-10T24:00:00",  # DuckDB's cast read these as the next day's midnight
        "2026-01-10 24:00:00Z",
        "2026-01-10T 1:00:00",  # and these as 01:00, year 26, and 12:00:05
        "\t026-01-10T12:00:00",
        "2026-01-10T12:00:5.",
        "2026-01-10T12:00:00 +08:00",
        "2026-01-10T12:00:00+08:00:30",
        "2026-01-10 12:00:00 Asia/Shanghai",
        "2026-01-10 12:00:00 EST",
        "2026-01-10 12:00:00 UTC+8",  # POSIX's sign: DuckDB read it as +08:00
    ],
)
def test_a_timestamp_outside_iso_8601_is_refused_not_shifted(con, landing, text):
    """Spec §1: ISO 8601, `Z`, no offset or a numeric one. DuckDB's own cast reads zone
    names and applies offsets out of range; such a value stops the month, naming the
    file, column and row, in a timestamp column and in the date column alike."""
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1"), order("O2", ended_at=text)], ORDER_COLUMNS)
    with pytest.raises(IngestError, match=r"part-0\.csv.*column 'ended_at', row 2"):
        ingest_month(con, landing, ORDERS, JAN)
    assert fetch_value(con, "SELECT count(*) FROM raw.orders") == 0
    values = ["M1", text.replace("2026-01-10", "2026-01-31"), 1, 1, 5, 1, 1, 1]
    write_csv(landing, "service_metrics", JAN, [values], list(SERVICE_METRICS.columns))
    with pytest.raises(IngestError, match=r"column 'metric_date', row 1"):
        ingest_month(con, landing, SERVICE_METRICS, JAN)


@pytest.mark.parametrize(
    ("row", "cause"),
    [
        ('O2,M1,"B1,2026-01-01T00:00:00Z', "Value with unterminated quote found."),
        ('O2,M1,"two\nlines",2026-01-01T00:00:00Z', "Expected Number of Columns: 7 Found: 8"),
    ],
)
def test_a_csv_read_error_says_its_cause_first_not_a_row_of_data(con, landing, row, cause):
    """DuckDB quotes the row (``Original Line:``), which may span lines; the cause is the
    line before its advice, and it opens the message the CLI shows in one line."""
    with_merchants(con, landing, "M1")
    lines = order_lines("O1", "O2", "O3")
    lines[2] = row + ",2026-01-10T12:00:00Z,completed,20.00,x\n"
    write_bytes(landing, "".join(lines).encode())
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    first = str(caught.value).split("\n")[0]
    assert first == f"orders/month=2026-01/part-0.csv: cannot be read as csv, line 3: {cause}"


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_the_first_bad_value_of_a_large_file_is_the_one_named(con, landing, kind):
    """Rows are read in parallel (a Parquet file's row groups at once), not in file
    order: the error still names the file's first bad row, here row 3 of 300,000, not
    one of the many bad rows near the end."""
    with_merchants(con, landing, "M1")
    n = 300_000
    amounts = ["20.00"] * n
    for row in (3, *range(250_000, n + 1, 7)):
        amounts[row - 1] = "not a number"
    ids = [f"O{i}" for i in range(1, n + 1)]
    if kind == "csv":
        rows = [order(oid, amount_usd=amount) for oid, amount in zip(ids, amounts, strict=True)]
        write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    else:
        orders_parquet(landing, ids, ["M1"] * n, pa.array(amounts), row_group_size=10_000)
    with pytest.raises(IngestError, match=r"column 'amount_usd', row 3: value 'not a number'"):
        ingest_month(con, landing, ORDERS, JAN)
