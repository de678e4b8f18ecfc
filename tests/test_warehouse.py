"""The warehouse session (pipelines.warehouse.configure) and what it costs on disk."""

from __future__ import annotations

from pipelines.warehouse import connect, fetch_value, transaction

MONTH_ROWS = 300_000  # a few row groups (122,880 rows each)


def used_blocks(con) -> int:
    con.execute("CHECKPOINT")
    return int(fetch_value(con, "SELECT used_blocks FROM pragma_database_size()"))


def insert_month(con, month: str) -> None:
    con.execute(
        "INSERT INTO t SELECT $month, i, md5(i::VARCHAR || $month) FROM range($rows) r(i)",
        {"month": month, "rows": MONTH_ROWS},
    )


def test_a_month_replaced_whole_gives_its_blocks_back_without_vacuum(tmp_path):
    """Checkpoints skip vacuum tasks (they rewrote each month's row groups at every
    asset's close). A month replaced whole must still free its row groups for reuse,
    or every rerun and restatement would grow the file by a month."""
    con = connect(tmp_path / "w.duckdb")
    assert fetch_value(con, "SELECT current_setting('max_vacuum_tasks')") == 0
    con.execute("CREATE TABLE t (month VARCHAR, i BIGINT, payload VARCHAR)")
    for month in ("2026-01", "2026-02"):
        insert_month(con, month)
    before = used_blocks(con)
    for _ in range(6):
        with transaction(con):
            con.execute("DELETE FROM t WHERE month = '2026-02'")
            insert_month(con, "2026-02")
        used_blocks(con)
    after = used_blocks(con)
    assert fetch_value(con, "SELECT count(*) FROM t") == 2 * MONTH_ROWS
    # Had the replaced rows kept their blocks, six replacements would hold six months
    # more: four times the blocks of before.
    assert after <= before * 1.25, (before, after)
