"""The warehouse session (pipelines.warehouse) and what it costs on disk."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from pipelines import warehouse as warehouse_module
from pipelines.warehouse import (
    ROW_GROUP_ROWS,
    compact_on_close,
    connect,
    deleted_rows,
    fetch_rows,
    fetch_value,
    transaction,
)

LARGE_MONTH = 300_000  # a few row groups of 122,880 rows: a month of its own
SMALL_MONTH = 5_000  # months share one row group


def insert_month(con, month: str, rows: int) -> None:
    con.execute(
        "INSERT INTO t SELECT $month, i, md5(i::VARCHAR || $month) FROM range($rows) r(i)",
        {"month": month, "rows": rows},
    )


def replace_month(con, month: str, rows: int) -> None:
    with transaction(con):
        con.execute("DELETE FROM t WHERE month = $month", {"month": month})
        insert_month(con, month, rows)
    con.execute("CHECKPOINT")


def table_with_two_months(path, rows: int):
    con = connect(path)
    con.execute("CREATE TABLE t (month VARCHAR, i BIGINT, payload VARCHAR)")
    for month in ("2026-01", "2026-02"):
        insert_month(con, month, rows)
    con.execute("CHECKPOINT")
    return con


def used_blocks(con) -> int:
    return int(fetch_value(con, "SELECT used_blocks FROM pragma_database_size()"))


def stored_rows(con) -> int:
    """Rows the table's storage holds, deleted ones included."""
    return int(
        fetch_value(
            con,
            "SELECT sum(count) FROM pragma_storage_info('t') "
            "WHERE column_id = 0 AND segment_type <> 'VALIDITY'",
        )
    )


def test_a_large_month_replaced_gives_its_blocks_back_without_vacuum(tmp_path):
    """Checkpoints skip vacuum tasks but at the month's last close (they rewrote each
    month's row groups at every asset's close). A month of its own row groups replaced
    whole must still free them, or every rerun would hold another month of blocks."""
    con = table_with_two_months(tmp_path / "w.duckdb", LARGE_MONTH)
    assert fetch_value(con, "SELECT current_setting('max_vacuum_tasks')") == 0
    before = used_blocks(con)
    for _ in range(6):
        replace_month(con, "2026-02", LARGE_MONTH)
    assert fetch_value(con, "SELECT count(*) FROM t") == 2 * LARGE_MONTH
    assert stored_rows(con) == 2 * LARGE_MONTH
    # Had the replaced rows kept their blocks, six replacements would hold six months
    # more: four times the blocks of before.
    assert used_blocks(con) <= before * 1.25, (before, used_blocks(con))
    con.close()


def close_as_the_months_last_writer(con, compact: bool = True) -> bool:
    con.execute("CREATE TABLE runs AS SELECT 1 AS run")  # the month's last write
    compacting = compact and compact_on_close(con)
    con.close()
    return compacting


def test_deleted_rows_counts_the_rows_a_table_keeps_beyond_its_own(tmp_path):
    """Small months share a row group, so a replaced one stays behind as deleted rows."""
    con = table_with_two_months(tmp_path / "w.duckdb", SMALL_MONTH)
    assert deleted_rows(con) == 0
    for _ in range(3):
        replace_month(con, "2026-02", SMALL_MONTH)
    assert fetch_value(con, "SELECT count(*) FROM t") == 2 * SMALL_MONTH
    assert deleted_rows(con) == stored_rows(con) - 2 * SMALL_MONTH > 0
    con.close()


def test_fewer_deleted_rows_than_a_row_group_skip_the_vacuum(tmp_path):
    """A first run deletes only its few repeated and rejected rows, a replaced small
    month one month's rows: the close then skips the vacuum (~1.7 s at 10M orders)."""
    path = tmp_path / "w.duckdb"
    con = table_with_two_months(path, SMALL_MONTH)
    replace_month(con, "2026-02", SMALL_MONTH)
    kept = deleted_rows(con)
    assert 0 < kept < ROW_GROUP_ROWS
    assert not close_as_the_months_last_writer(con)

    con = connect(path)
    assert deleted_rows(con) == kept
    con.close()


@pytest.mark.parametrize("compact", [True, False])
def test_a_row_group_of_deleted_rows_is_dropped_by_the_compacting_close(tmp_path, compact):
    """Deleted rows spread over row groups that keep live rows stay on disk until a
    vacuum: once a table holds a row group's worth, the compacting close (the published
    month's) merges them away. Without it, every one stays."""
    path = tmp_path / "w.duckdb"
    con = table_with_two_months(path, LARGE_MONTH)
    con.execute("DELETE FROM t WHERE i % 2 = 0")
    before = deleted_rows(con)
    assert before == LARGE_MONTH >= ROW_GROUP_ROWS
    assert close_as_the_months_last_writer(con, compact) == compact

    con = connect(path)
    assert fetch_value(con, "SELECT count(*) FROM t") == LARGE_MONTH
    if compact:
        assert deleted_rows(con) < ROW_GROUP_ROWS
    else:
        assert deleted_rows(con) == before
    con.close()


def test_amounts_of_an_older_warehouse_are_widened_to_the_exact_type(tmp_path):
    """Warehouses made with DECIMAL(38,10) amounts get 18 decimals on the next connect,
    keeping their values; a second connect changes nothing."""
    import duckdb

    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE SCHEMA raw")
    old.execute(
        "CREATE TABLE raw.orders (month VARCHAR NOT NULL, order_id VARCHAR NOT NULL, "
        "merchant_id VARCHAR, buyer_id VARCHAR, created_at TIMESTAMP, ended_at TIMESTAMP, "
        "status VARCHAR, amount_usd DECIMAL(38,10), source_file VARCHAR, source_row BIGINT)"
    )
    old.execute(
        "INSERT INTO raw.orders (month, order_id, amount_usd) VALUES ('2026-01', 'O1', 4.5)"
    )
    old.close()
    for _ in range(2):
        con = connect(path)
        types = fetch_rows(
            con,
            "SELECT table_name, data_type FROM duckdb_columns() WHERE schema_name = 'raw' "
            "AND column_name IN ('amount_usd', 'order_amount_usd') ORDER BY 1",
        )
        assert types == [("feedback", "DECIMAL(38,18)"), ("orders", "DECIMAL(38,18)")]
        assert fetch_rows(con, "SELECT amount_usd FROM raw.orders") == [(Decimal("4.5"),)]
        con.close()


def schema_script_runs(monkeypatch) -> list[str]:
    """The SQL files pipelines.warehouse loads from now on (schema.sql, when it runs it)."""
    import pipelines.warehouse as warehouse

    loaded: list[str] = []
    real = warehouse.load_sql

    def counting(name: str) -> str:
        loaded.append(name)
        return real(name)

    monkeypatch.setattr(warehouse, "load_sql", counting)
    return loaded


def test_a_warehouse_with_the_current_schema_is_not_changed_by_a_connect(tmp_path, monkeypatch):
    """schema.sql runs when something of it is missing, not at every connection: its
    CREATE OR REPLACE VIEW rewrote the catalog at each of a run's many connections."""
    path = tmp_path / "w.duckdb"
    connect(path).close()
    loaded = schema_script_runs(monkeypatch)
    connect(path).close()
    assert loaded == []


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE main.run_log DROP COLUMN policy_digest",
        "DROP TABLE journal.landing_seen",
        "CREATE OR REPLACE VIEW main.month_status AS SELECT 1 AS month",
        "ALTER TABLE raw.feedback ALTER COLUMN order_amount_usd TYPE DECIMAL(38,10)",
    ],
)
def test_a_warehouse_missing_part_of_the_schema_gets_it_back_at_connect(tmp_path, change):
    """A warehouse from an older schema (a column, a table or the view's SQL differs)
    is brought up to schema.sql as before."""
    path = tmp_path / "w.duckdb"
    con = connect(path)
    before = fetch_rows(con, CATALOG)
    con.execute(change)
    con.close()
    con = connect(path)
    assert fetch_rows(con, CATALOG) == before
    con.close()


CATALOG = (
    "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
    "WHERE NOT internal UNION ALL SELECT schema_name, view_name, NULL, sql FROM duckdb_views() "
    "WHERE NOT internal ORDER BY ALL"
)


@pytest.mark.parametrize("folder", ["plain", "blocks"])
@pytest.mark.parametrize("read_only", [False, True])
def test_a_file_that_is_not_a_warehouse_is_reported_as_such_not_as_held(
    tmp_path, monkeypatch, read_only, folder
):
    """Only DuckDB's lock conflict is waited for and reported as another process holding
    the file: a file that is not a DuckDB database (a CSV saved as the warehouse) is
    DuckDB's own error, at once, also when its path holds the word "lock" (``blocks``),
    which DuckDB's message quotes."""
    monkeypatch.setattr(warehouse_module, "LOCK_TIMEOUT_SECONDS", 2)
    path = tmp_path / folder / "w.duckdb"
    path.parent.mkdir()
    path.write_text("order_id,amount_usd\n" + "O1,10.00\n" * 200)
    with pytest.raises(duckdb.IOException, match="not a valid DuckDB database file"):
        connect(path, read_only=read_only)
