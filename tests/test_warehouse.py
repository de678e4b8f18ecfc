"""The warehouse session (pipelines.warehouse) and what it costs on disk."""

from __future__ import annotations

from pipelines.warehouse import compact_on_close, connect, fetch_value, transaction

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


def test_a_small_month_replaced_is_dropped_by_the_compacting_close(tmp_path):
    """Small months share a row group, so a replaced one stays behind as deleted rows
    until a vacuum: the compacting close (the published month's) drops them."""
    path = tmp_path / "w.duckdb"
    con = table_with_two_months(path, SMALL_MONTH)
    for _ in range(20):
        replace_month(con, "2026-02", SMALL_MONTH)
    assert fetch_value(con, "SELECT count(*) FROM t") == 2 * SMALL_MONTH
    assert stored_rows(con) > 2 * SMALL_MONTH  # deleted rows kept without a vacuum
    con.execute("CREATE TABLE runs AS SELECT 1 AS run")  # the month's last write
    compact_on_close(con)
    con.close()

    con = connect(path)
    assert fetch_value(con, "SELECT count(*) FROM t") == 2 * SMALL_MONTH
    assert stored_rows(con) == 2 * SMALL_MONTH
    con.close()
