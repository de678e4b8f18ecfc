"""Ingestion (spec §1): one test per quarantine reason, copies, reruns and schema errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.datasets import BAD_ORDERS, DATASETS, FEEDBACK, MERCHANTS, ORDERS, SERVICE_METRICS
from pipelines.ingest import IngestError, ingest_month
from pipelines.ingest import classify as ingest_classify
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import (
    BAD_ORDER_COLUMNS,
    CONFORMANCE,
    FEEDBACK_COLUMNS,
    MERCHANT_COLUMNS,
    ORDER_COLUMNS,
    SERVICE_COLUMNS,
    merchant,
    order,
    write_csv,
)

JAN = "2026-01"


def quarantined(con, dataset: str, month: str = JAN) -> list[tuple[str, dict]]:
    rows = fetch_rows(
        con,
        "SELECT reason, record FROM raw.quarantine WHERE dataset = $d "
        "AND month = $m ORDER BY reason, record",
        {"d": dataset, "m": month},
    )
    return [(reason, json.loads(record)) for reason, record in rows]


def accepted(con, dataset: str, key: str, month: str = JAN) -> list[str]:
    return [
        r[0]
        for r in fetch_rows(
            con, f"SELECT {key} FROM raw.{dataset} WHERE month = $m ORDER BY 1", {"m": month}
        )
    ]


def with_merchants(con, landing: Path, *ids: str, month: str = JAN) -> None:
    write_csv(landing, "merchants", month, [merchant(i) for i in ids], MERCHANT_COLUMNS)
    ingest_month(con, landing, MERCHANTS, month)


def test_null_key_is_quarantined(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1"), order("")], ORDER_COLUMNS)
    report = ingest_month(con, landing, ORDERS, JAN)
    assert [r for r, _ in quarantined(con, "orders")] == ["null_key"]
    assert accepted(con, "orders", "order_id") == ["O1"]
    assert report.quarantined == {"null_key": 1}


@pytest.mark.parametrize(
    "overrides",
    [
        {"status": "shipped"},
        {"amount_usd": "-0.01"},
        {"created_at": "2026-01-11T00:00:00Z", "ended_at": "2026-01-10T23:59:59Z"},
        {"buyer_id": ""},
    ],
)
def test_bad_order_values_are_quarantined(con, landing, overrides):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1"), order("O2", **overrides)], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    reasons = quarantined(con, "orders")
    assert [(r, rec["order_id"]) for r, rec in reasons] == [("bad_value", "O2")]


@pytest.mark.parametrize("stars", ["0", "6"])
def test_stars_outside_one_to_five_are_bad_values(con, landing, stars):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    write_csv(
        landing,
        "feedback",
        JAN,
        [["O1", "M1", "B1", stars, "2026-01-15T00:00:00Z"]],
        FEEDBACK_COLUMNS,
    )
    ingest_month(con, landing, FEEDBACK, JAN)
    assert [r for r, _ in quarantined(con, "feedback")] == ["bad_value"]


@pytest.mark.parametrize(
    "row",
    [
        ["M1", "2026-01-05", 5, 6, 8, 2, 3, 3],  # replied > received
        ["M1", "2026-01-05", 5, 5, 8, 2, 3, 4],  # on time > due
        ["M1", "2026-01-05", 5, 5, 1, 2, 3, 3],  # dsr sum below count
        ["M1", "2026-01-05", 5, 5, 11, 2, 3, 3],  # dsr sum above 5 x count
        ["M1", "2026-01-05", -1, 0, 8, 2, 3, 3],  # negative count
    ],
)
def test_service_metric_rules(con, landing, row):
    with_merchants(con, landing, "M1")
    good = ["M1", "2026-01-04", 5, 5, 10, 2, 3, 3]  # dsr sum = 5 x count is allowed
    write_csv(landing, "service_metrics", JAN, [good, row], SERVICE_COLUMNS)
    ingest_month(con, landing, SERVICE_METRICS, JAN)
    assert [r for r, _ in quarantined(con, "service_metrics")] == ["bad_value"]
    assert len(accepted(con, "service_metrics", "metric_date")) == 1


def test_wrong_month_is_quarantined(con, landing):
    with_merchants(con, landing, "M1")
    rows = [
        order("O1", ended_at="2026-01-31T23:59:59Z"),
        order("O2", ended_at="2026-02-01T00:00:00Z"),
        order("O3", ended_at="2026-02-01T07:00:00+08:00"),
    ]  # = 2026-01-31T23:00Z
    write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    assert [(r, rec["order_id"]) for r, rec in quarantined(con, "orders")] == [
        ("wrong_month", "O2")
    ]
    assert accepted(con, "orders", "order_id") == ["O1", "O3"]


def test_duplicate_key_quarantines_every_copy(con, landing):
    with_merchants(con, landing, "M1")
    rows = [order("O1"), order("O1", amount_usd="21.00"), order("O2")]
    write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    assert [r for r, _ in quarantined(con, "orders")] == ["duplicate_key", "duplicate_key"]
    assert accepted(con, "orders", "order_id") == ["O2"]


def test_key_seen_in_an_earlier_month_keeps_the_earlier_row(con, landing):
    with_merchants(con, landing, "M1")
    with_merchants(con, landing, "M1", month="2026-02")
    write_csv(
        landing, "service_metrics", JAN, [["M1", "2026-01-05", 5, 5, 8, 2, 3, 3]], SERVICE_COLUMNS
    )
    ingest_month(con, landing, SERVICE_METRICS, JAN)
    write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    feb = [
        order("O1", ended_at="2026-02-03T00:00:00Z"),
        order("O2", ended_at="2026-02-03T00:00:00Z"),
    ]
    write_csv(landing, "orders", "2026-02", feb, ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, "2026-02")
    assert [r for r, _ in quarantined(con, "orders", "2026-02")] == ["duplicate_key"]
    assert accepted(con, "orders", "order_id", JAN) == ["O1"]
    assert accepted(con, "orders", "order_id", "2026-02") == ["O2"]


def test_exact_copies_collapse_without_quarantine(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1"), order("O2")], ORDER_COLUMNS, "a.csv")
    table = pa.table(
        {
            "order_id": ["O1"],
            "merchant_id": ["M1"],
            "buyer_id": ["B1"],
            "created_at": pa.array([1767225600000000], pa.timestamp("us", "UTC")),
            "ended_at": pa.array([1768046400000000], pa.timestamp("us", "UTC")),
            "status": ["completed"],
            "amount_usd": [20.0],
        }
    )
    pq.write_table(table, landing / "orders" / f"month={JAN}" / "b.parquet")
    report = ingest_month(con, landing, ORDERS, JAN)
    assert quarantined(con, "orders") == []
    assert accepted(con, "orders", "order_id") == ["O1", "O2"]
    assert (report.rows_read, report.exact_copies, report.rows_accepted) == (3, 1, 2)


def test_unknown_merchant(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1"), order("O2", merchant_id="M9")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    assert [(r, rec["order_id"]) for r, rec in quarantined(con, "orders")] == [
        ("unknown_merchant", "O2")
    ]


def test_merchant_from_an_earlier_snapshot_is_known(con, landing):
    with_merchants(con, landing, "M1", "M2")
    with_merchants(con, landing, "M1", month="2026-02")
    write_csv(
        landing,
        "orders",
        "2026-02",
        [order("O1", "M2", ended_at="2026-02-02T00:00:00Z")],
        ORDER_COLUMNS,
    )
    ingest_month(con, landing, ORDERS, "2026-02")
    assert quarantined(con, "orders", "2026-02") == []


def test_unknown_order_and_merchant_mismatch(con, landing):
    with_merchants(con, landing, "M1", "M2")
    write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    rows = [
        ["O1", "M1", "B1", 5, "2026-01-20T00:00:00Z"],
        ["O404", "M1", "B1", 5, "2026-01-20T00:00:00Z"],
        ["O1", "M2", "B2", 5, "2026-01-21T00:00:00Z"],
    ]
    write_csv(
        landing,
        "bad_orders",
        JAN,
        [["O404", "M1", "late_shipment", "2026-01-20T00:00:00Z", "false"]],
        BAD_ORDER_COLUMNS,
    )
    ingest_month(con, landing, BAD_ORDERS, JAN)
    assert [r for r, _ in quarantined(con, "bad_orders")] == ["unknown_order"]
    write_csv(landing, "feedback", JAN, rows[1:], FEEDBACK_COLUMNS)
    ingest_month(con, landing, FEEDBACK, JAN)
    assert [r for r, _ in quarantined(con, "feedback")] == ["unknown_order", "unknown_order"]


def test_feedback_on_an_order_that_is_not_completed(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1", status="refunded"), order("O2")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    rows = [
        ["O1", "M1", "B1", 1, "2026-01-20T00:00:00Z"],
        ["O2", "M1", "B1", 5, "2026-01-20T00:00:00Z"],
    ]
    write_csv(landing, "feedback", JAN, rows, FEEDBACK_COLUMNS)
    ingest_month(con, landing, FEEDBACK, JAN)
    assert [(r, rec["order_id"]) for r, rec in quarantined(con, "feedback")] == [
        ("order_not_completed", "O1")
    ]
    amounts = fetch_rows(con, "SELECT order_id, order_amount_usd FROM raw.feedback")
    assert [(o, float(a)) for o, a in amounts] == [("O2", 20.0)]


def test_quarantine_record_names_source_file_and_row(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1", status="lost")], ORDER_COLUMNS, "x y.csv")
    ingest_month(con, landing, ORDERS, JAN)
    rows = fetch_rows(con, "SELECT source_file, reason, record FROM raw.quarantine")
    assert rows[0][0] == "orders/month=2026-01/x y.csv"
    assert json.loads(rows[0][2])["status"] == "lost"


def test_each_row_names_its_own_file_among_several(con, landing):
    """Each stored row names its file and its row there, and each quarantined row its
    file; an exact copy in several files keeps the first file's name and row. Orders go
    straight into raw.orders (the copies are moved out after), feedback is staged: both
    ways must agree."""
    with_merchants(con, landing, "M1")
    files = ["a.csv", "b.csv", "c.csv"]
    for name in files:
        rows = [order(f"O-{name}"), order(f"Q-{name}", status="lost"), order("O-copy")]
        write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS, name)
        events = [[o, "M1", "B1", 5, "2026-01-20T00:00:00Z"] for o in (f"O-{name}", "O-copy")]
        events.append([f"Q-{name}", "M1", "B1", 9, "2026-01-20T00:00:00Z"])  # bad_value
        write_csv(landing, "feedback", JAN, events, FEEDBACK_COLUMNS, name)
    ingest_month(con, landing, ORDERS, JAN)
    ingest_month(con, landing, FEEDBACK, JAN)
    folder = "orders/month=2026-01/"
    stored = fetch_rows(con, "SELECT order_id, source_file, source_row FROM raw.orders ORDER BY 1")
    first_rows = [(f"O-{name}", folder + name, 1) for name in files]
    assert stored == [*first_rows, ("O-copy", folder + "a.csv", 3)]
    stored = fetch_rows(
        con, "SELECT order_id, source_file, source_row FROM raw.feedback ORDER BY 1"
    )
    folder = "feedback/month=2026-01/"
    first_rows = [(f"O-{name}", folder + name, 1) for name in files]
    assert stored == [*first_rows, ("O-copy", folder + "a.csv", 2)]
    folder = "orders/month=2026-01/"
    rejected = fetch_rows(
        con, "SELECT source_file, record FROM raw.quarantine WHERE dataset = 'orders' ORDER BY 1"
    )
    assert [(f, json.loads(r)["order_id"]) for f, r in rejected] == [
        (folder + name, f"Q-{name}") for name in files
    ]
    rejected = fetch_rows(  # the staged path names a quarantined row's own file too
        con,
        "SELECT source_file, source_row, reason, record FROM raw.quarantine "
        "WHERE dataset = 'feedback' ORDER BY 1",
    )
    folder = "feedback/month=2026-01/"
    assert [(f, n, why, json.loads(r)["order_id"]) for f, n, why, r in rejected] == [
        (folder + name, 3, "bad_value", f"Q-{name}") for name in files
    ]


def test_row_numbers_of_a_large_csv_are_its_lines_in_a_parallel_read(con, landing):
    """Row numbers come from ``row_number() OVER ()`` over DuckDB's CSV scan, which reads a
    large file in parallel with ``preserve_insertion_order = false``: a quarantined row
    must still name its own line. A review (2026-12-07) saw them match on a 5M-line file;
    this keeps a file of many of the reader's buffers, with a rejected row near its end,
    and each order id giving its line."""
    with_merchants(con, landing, "M1")
    rows, bad_every = 600_000, 149_999
    folder = landing / "orders" / f"month={JAN}"
    folder.mkdir(parents=True)
    con.execute(
        "COPY (SELECT 'O' || i AS order_id, 'M1' AS merchant_id, 'B' || i AS buyer_id, "
        "'2026-01-01T00:00:00Z' AS created_at, '2026-01-10T12:00:00Z' AS ended_at, "
        "'completed' AS status, CASE WHEN i % $every = 0 THEN '-1' ELSE '12.50' END "
        "AS amount_usd, repeat('x', 40) AS padding FROM range(1, $n + 1) t(i)) "
        "TO $path (HEADER)",
        {"n": rows, "every": bad_every, "path": str(folder / "big.csv")},
    )
    ingest_month(con, landing, ORDERS, JAN)
    misnumbered = fetch_rows(
        con,
        "SELECT count(*), count(*) FILTER (WHERE source_row <> CAST(order_id[2:] AS BIGINT)) "
        "FROM raw.orders",
    )
    assert misnumbered == [(rows - rows // bad_every, 0)]
    rejected = fetch_rows(
        con, "SELECT source_row, reason, record FROM raw.quarantine ORDER BY source_row"
    )
    assert [(n, why, json.loads(r)["order_id"]) for n, why, r in rejected] == [
        (i, "bad_value", f"O{i}") for i in range(bad_every, rows + 1, bad_every)
    ]


def test_rerun_changes_nothing(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(
        landing, "orders", JAN, [order("O1"), order("O1"), order("", status="x")], ORDER_COLUMNS
    )
    ingest_month(con, landing, ORDERS, JAN)
    first = (
        fetch_rows(con, "SELECT * EXCLUDE (source_file) FROM raw.orders ORDER BY ALL"),
        fetch_rows(con, "SELECT * FROM raw.quarantine ORDER BY ALL"),
    )
    ingest_month(con, landing, ORDERS, JAN)
    second = (
        fetch_rows(con, "SELECT * EXCLUDE (source_file) FROM raw.orders ORDER BY ALL"),
        fetch_rows(con, "SELECT * FROM raw.quarantine ORDER BY ALL"),
    )
    assert first == second
    assert len(first[0]) == 1


def test_missing_column_stops_with_file_and_column(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(
        landing, "orders", JAN, [order("O1")], [c for c in ORDER_COLUMNS if c != "amount_usd"]
    )
    with pytest.raises(
        IngestError,
        match=r"orders/month=2026-01/part-0\.csv: required column "
        r"'amount_usd' is missing",
    ):
        ingest_month(con, landing, ORDERS, JAN)


def test_uncastable_value_names_file_column_and_row(con, landing):
    with_merchants(con, landing, "M1")
    rows = [order("O1"), order("O2"), order("O3", amount_usd="twelve")]
    write_csv(landing, "orders", JAN, rows, ORDER_COLUMNS)
    with pytest.raises(IngestError) as caught:
        ingest_month(con, landing, ORDERS, JAN)
    message = str(caught.value)
    assert "orders/month=2026-01/part-0.csv" in message
    assert "column 'amount_usd', row 3" in message and "'twelve'" in message


def test_fractional_stars_are_a_cast_error_not_rounded(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    write_csv(
        landing,
        "feedback",
        JAN,
        [["O1", "M1", "B1", "4.5", "2026-01-20T00:00:00Z"]],
        FEEDBACK_COLUMNS,
    )
    with pytest.raises(IngestError, match="column 'stars', row 1"):
        ingest_month(con, landing, FEEDBACK, JAN)


def test_failed_ingest_keeps_the_previous_month_data(con, landing):
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    write_csv(landing, "orders", JAN, [order("O2", amount_usd="n/a")], ORDER_COLUMNS)
    with pytest.raises(IngestError):
        ingest_month(con, landing, ORDERS, JAN)
    assert accepted(con, "orders", "order_id") == ["O1"]


def test_a_bad_file_after_a_good_one_keeps_the_previous_month(con, landing):
    """Orders are stored file by file inside one transaction: the second file's cast
    error must undo the first file's rows, and the month's log stays as it was."""
    with_merchants(con, landing, "M1")
    write_csv(landing, "orders", JAN, [order("O1")], ORDER_COLUMNS)
    ingest_month(con, landing, ORDERS, JAN)
    log = fetch_rows(con, "SELECT * FROM raw.ingest_log WHERE dataset = 'orders'")
    (landing / "orders" / f"month={JAN}" / "part-0.csv").unlink()
    write_csv(landing, "orders", JAN, [order("O2"), order("O3")], ORDER_COLUMNS, "a.csv")
    write_csv(landing, "orders", JAN, [order("O4", amount_usd="n/a")], ORDER_COLUMNS, "b.csv")
    with pytest.raises(IngestError, match=r"b\.csv: column 'amount_usd', row 1"):
        ingest_month(con, landing, ORDERS, JAN)
    assert accepted(con, "orders", "order_id") == ["O1"]
    assert fetch_rows(con, "SELECT * FROM raw.ingest_log WHERE dataset = 'orders'") == log


def orders_parquet(landing: Path, name: str, ids: list[str | None], amounts: pa.Array) -> None:
    n = len(ids)
    table = pa.table(
        {
            "order_id": ids,
            "merchant_id": ["M1"] * n,
            "buyer_id": ["B1"] * n,
            "created_at": pa.array([1767225600000000] * n, pa.timestamp("us", "UTC")),
            "ended_at": pa.array([1768046400000000] * n, pa.timestamp("us", "UTC")),
            "status": ["completed"] * n,
            "amount_usd": amounts,
        }
    )
    folder = landing / "orders" / f"month={JAN}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / name)


def test_typed_parquet_rows_without_a_key_are_quarantined_and_the_rest_stored(con, landing):
    """A typed Parquet file goes straight into raw.orders; its rows without a key
    (which raw.orders cannot hold) are set aside and quarantined, copies collapse."""
    from decimal import Decimal

    with_merchants(con, landing, "M1")
    ids = ["O1", None, "O2", "", "O1"]
    amounts = pa.array([Decimal("20.50")] * 5, pa.decimal128(12, 2))
    orders_parquet(landing, "a.parquet", ids, amounts)
    report = ingest_month(con, landing, ORDERS, JAN)
    assert accepted(con, "orders", "order_id") == ["O1", "O2"]
    # The null and the blank id are both missing: otherwise equal rows, one exact copy.
    assert [r for r, _ in quarantined(con, "orders")] == ["null_key"]
    assert (report.rows_read, report.exact_copies, report.rows_accepted) == (5, 2, 2)
    rows = fetch_rows(con, "SELECT amount_usd, source_row FROM raw.orders ORDER BY source_row")
    assert rows == [(Decimal("20.5"), 1), (Decimal("20.5"), 3)]


@pytest.mark.parametrize(
    ("precision", "fails"),
    [(22, False), (23, True)],  # 20 integer digits fit DECIMAL(38,18); 21 do not
)
def test_parquet_decimal_too_wide_for_the_contract_is_a_cast_error(con, landing, precision, fails):
    from decimal import Decimal

    with_merchants(con, landing, "M1")
    largest = Decimal("9" * (precision - 2) + ".99")
    amounts = pa.array([Decimal("1.00"), largest], pa.decimal128(precision, 2))
    orders_parquet(landing, "a.parquet", ["O1", "O2"], amounts)
    if fails:
        with pytest.raises(IngestError, match=r"a\.parquet: column 'amount_usd', row 2"):
            ingest_month(con, landing, ORDERS, JAN)
    else:
        ingest_month(con, landing, ORDERS, JAN)
        stored = fetch_rows(con, "SELECT max(amount_usd) FROM raw.orders")
        assert stored == [(largest,)]


def test_columns_in_any_order_and_boolean_notations(con, landing):
    rows = [
        merchant("M1", real_name_verified="0", collection_account_set="True"),
        merchant("M2", real_name_verified="1", collection_account_set="false"),
    ]
    columns = list(reversed(MERCHANT_COLUMNS))
    write_csv(landing, "merchants", JAN, rows, columns)
    ingest_month(con, landing, MERCHANTS, JAN)
    got = fetch_rows(
        con,
        "SELECT merchant_id, real_name_verified, collection_account_set "
        "FROM raw.merchants ORDER BY 1",
    )
    assert got == [("M1", False, True), ("M2", True, False)]


def test_unreadable_parquet_names_the_file(con, landing):
    folder = landing / "merchants" / f"month={JAN}"
    folder.mkdir(parents=True)
    (folder / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(
        IngestError,
        match=r"merchants/month=2026-01/broken\.parquet: cannot be "
        r"read as parquet",
    ):
        ingest_month(con, landing, MERCHANTS, JAN)


def test_orders_looked_up_in_ranges_give_the_same_months(tmp_path, monkeypatch):
    """Feedback and bad-order records looked up in ranges of order ids, as a 100M-order
    month is, are stored, quarantined and logged exactly as in one pass: the conformance
    months, plus March rows repeating February's keys (duplicate keys across months) and
    rows without a key (in the first range)."""
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    for dataset, time_column in (("feedback", "feedback_at"), ("bad_orders", "recorded_at")):
        with open(landing / dataset / "month=2026-02" / "part-a.csv", newline="") as f:
            repeated = [{**row, time_column: "2026-03-05T00:00:00Z"} for row in csv.DictReader(f)]
        spread = repeated[:: len(repeated) // 4][:4]  # keys from across February's ids
        rows = [*spread, {**repeated[1], "order_id": ""}]  # and one without a key
        write_csv(landing, dataset, "2026-03", rows, list(repeated[0]), "part-c.csv")
    ranges_used = []
    order_id_ranges = ingest_classify.order_id_ranges

    def recorded(con, stage):
        ranges = order_id_ranges(con, stage)
        ranges_used.append(len(ranges))
        return ranges

    monkeypatch.setattr(ingest_classify, "order_id_ranges", recorded)

    def ingest_months(path: Path) -> dict[str, list[tuple]]:
        con = connect(path)
        for month in ("2026-01", "2026-02", "2026-03"):
            for dataset in DATASETS:
                ingest_month(con, landing, dataset, month)
        tables = {
            table: fetch_rows(con, f"SELECT * FROM raw.{table} ORDER BY ALL")
            for table in ("feedback", "bad_orders", "quarantine")
        }
        tables["ingest_log"] = fetch_rows(
            con, "SELECT * EXCLUDE (ingested_at) FROM raw.ingest_log ORDER BY ALL"
        )
        con.close()
        return tables

    whole = ingest_months(tmp_path / "whole.duckdb")
    assert set(ranges_used) == {1}
    ranges_used.clear()
    monkeypatch.setattr(ingest_classify, "ORDER_LOOKUP_ROWS", 100)
    in_ranges = ingest_months(tmp_path / "ranges.duckdb")
    assert max(ranges_used) >= 20
    reasons = {(dataset, reason) for dataset, _, _, reason, *_ in whole["quarantine"]}
    for dataset in ("feedback", "bad_orders"):
        assert {(dataset, "duplicate_key"), (dataset, "null_key")} <= reasons
    assert ("feedback", "unknown_order") in reasons
    assert in_ranges == whole


def test_orders_at_both_ends_of_the_months_ids_are_found(con, landing):
    """The order lookup is bounded by the staged rows' smallest and largest order id
    (the join skips history outside them): the orders at those very ids, the smallest in
    an earlier month, are found and their values copied; an id between them that is no
    order is not."""
    feb = "2026-02"
    with_merchants(con, landing, "M1")
    with_merchants(con, landing, "M1", month=feb)
    write_csv(landing, "orders", JAN, [order("O100"), order("O200")], ORDER_COLUMNS)
    feb_orders = [
        order(i, ended_at="2026-02-10T12:00:00Z", amount_usd=a)
        for i, a in (("O300", "30.00"), ("O400", "40.00"))
    ]
    write_csv(landing, "orders", feb, feb_orders, ORDER_COLUMNS)
    for month in (JAN, feb):
        ingest_month(con, landing, ORDERS, month)
    ids = ["O100", "O250", "O400"]
    rows = [[i, "M1", f"B{n}", 5, "2026-02-20T00:00:00Z"] for n, i in enumerate(ids)]
    write_csv(landing, "feedback", feb, rows, FEEDBACK_COLUMNS)
    ingest_month(con, landing, FEEDBACK, feb)
    bad = [[i, "M1", "late_shipment", "2026-02-20T00:00:00Z", "false"] for i in ids]
    write_csv(landing, "bad_orders", feb, bad, BAD_ORDER_COLUMNS)
    ingest_month(con, landing, BAD_ORDERS, feb)
    amounts = fetch_rows(
        con, "SELECT order_id, order_amount_usd FROM raw.feedback WHERE month = $m", {"m": feb}
    )
    assert sorted((o, float(a)) for o, a in amounts) == [("O100", 20.0), ("O400", 40.0)]
    assert accepted(con, "bad_orders", "order_id", feb) == ["O100", "O400"]
    for dataset in ("feedback", "bad_orders"):
        unknown = [(r, rec["order_id"]) for r, rec in quarantined(con, dataset, feb)]
        assert unknown == [("unknown_order", "O250")]
