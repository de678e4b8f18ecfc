"""A 2 GB CSV streams through ingest in bounded memory (DuckDB spills past its limit)."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from tests.helpers import MERCHANT_COLUMNS, merchant, write_csv

ROWS = 20_000_000  # about 2 GB of CSV
RSS_LIMIT_GB = 6.0

INGEST = """
import json, resource, sys
from pathlib import Path
from pipelines.datasets import MERCHANTS, ORDERS
from pipelines.ingest import ingest_month
from pipelines.warehouse import connect
landing = Path(sys.argv[1])
con = connect(Path(sys.argv[2]))
ingest_month(con, landing, MERCHANTS, "2026-01")
report = ingest_month(con, landing, ORDERS, "2026-01")
print(json.dumps({"accepted": report.rows_accepted, "read": report.rows_read,
                  "quarantined": report.rows_quarantined,
                  "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


@pytest.mark.slow
def test_two_gigabyte_csv_ingests_in_bounded_memory(tmp_path):
    landing = tmp_path / "landing"
    write_csv(
        landing, "merchants", "2026-01", [merchant(f"M{i}") for i in range(100)], MERCHANT_COLUMNS
    )
    folder = landing / "orders" / "month=2026-01"
    folder.mkdir(parents=True)
    big = folder / "big.csv"
    duckdb.sql(f"""
        COPY (
            SELECT 'O' || lpad(i::VARCHAR, 12, '0') AS order_id, 'M' || (i % 100) AS merchant_id,
                   'B' || (i % 977123) AS buyer_id,
                   strftime(TIMESTAMP '2026-01-01' + to_seconds(i % 2000000), '%Y-%m-%dT%H:%M:%SZ')
                       AS created_at,
                   strftime(TIMESTAMP '2026-01-02' + to_seconds(i % 2000000), '%Y-%m-%dT%H:%M:%SZ')
                       AS ended_at,
                   CASE WHEN i % 10 = 0 THEN 'cancelled' ELSE 'completed' END AS status,
                   printf('%.2f', (i % 50000) / 100.0) AS amount_usd,
                   'a deliberately long free-text column to make each row about 100 bytes' AS note
            FROM range({ROWS}) t(i)
        ) TO '{big}' (HEADER)
    """)
    assert big.stat().st_size > 1.9e9
    result = subprocess.run(
        [sys.executable, "-c", INGEST, str(landing), str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["read"] == ROWS and report["accepted"] == ROWS
    assert report["rss_gb"] < RSS_LIMIT_GB, report
