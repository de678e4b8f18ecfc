"""Property: every input row ends in the warehouse, in quarantine, or counted as a copy."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.datasets import MERCHANTS, ORDERS
from pipelines.ingest import ingest_month
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import MERCHANT_COLUMNS, ORDER_COLUMNS, merchant, write_csv

order_rows = st.lists(
    st.fixed_dictionaries(
        {
            "order_id": st.sampled_from(["O1", "O2", "O3", "O4", ""]),
            "merchant_id": st.sampled_from(["M1", "M2", "M9"]),
            "buyer_id": st.sampled_from(["B1", "B2"]),
            "created_at": st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-20T00:00:00+08:00"]),
            "ended_at": st.sampled_from(
                [
                    "2026-01-10T00:00:00Z",
                    "2026-02-01T00:00:00Z",
                    "2026-01-31 23:59:59",
                    "2025-12-31T23:00:00-02:00",
                ]
            ),
            "status": st.sampled_from(["completed", "cancelled", "refunded", "lost"]),
            "amount_usd": st.sampled_from(["4.99", "5.00", "-1", "120.5"]),
        }
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=order_rows, second=order_rows)
def test_every_row_lands_exactly_once(first, second):
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        con = connect(Path(tmp) / "w.duckdb")
        write_csv(
            landing, "merchants", "2026-01", [merchant("M1"), merchant("M2")], MERCHANT_COLUMNS
        )
        ingest_month(con, landing, MERCHANTS, "2026-01")
        write_csv(landing, "orders", "2026-01", first, ORDER_COLUMNS, "a.csv")
        write_csv(landing, "orders", "2026-01", second, ORDER_COLUMNS, "b.csv")
        report = ingest_month(con, landing, ORDERS, "2026-01")
        kept = fetch_rows(con, "SELECT count(*) FROM raw.orders")[0][0]
        quarantined = fetch_rows(con, "SELECT count(*) FROM raw.quarantine")[0][0]
        con.close()
    distinct_input = {tuple(sorted(r.items())) for r in first + second}
    assert report.rows_read == len(first) + len(second)
    assert kept == report.rows_accepted and quarantined == report.rows_quarantined
    assert kept + quarantined + report.exact_copies == report.rows_read
    # Distinct rows land once each; copies of a row are only ever counted.
    assert kept + quarantined <= len(distinct_input)
    assert report.rows_read - report.exact_copies >= kept + quarantined
