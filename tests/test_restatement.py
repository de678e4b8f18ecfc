"""Reruns and restatements are logged; months after a restated month show as stale."""

from __future__ import annotations

import json
import shutil

from assets.runner import grade_months
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE


def run_log(warehouse):
    con = connect(warehouse, read_only=True)
    try:
        log = fetch_rows(
            con,
            "SELECT month, restated, old_tier_counts, new_tier_counts, "
            "input_fingerprint FROM main.run_log ORDER BY published_at",
        )
        stale = dict(fetch_rows(con, "SELECT month, stale FROM main.month_status"))
    finally:
        con.close()
    return log, stale


def test_rerun_and_restatement(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(landing, warehouse, outputs, "2026-03")
    skipped = grade_months(landing, warehouse, outputs, "2026-02")  # unchanged inputs
    assert all(r.unchanged_since for r in skipped)
    assert len(run_log(warehouse)[0]) == 3  # nothing republished
    grade_months(landing, warehouse, outputs, "2026-02", force=True)
    log, stale = run_log(warehouse)
    assert [(m, r) for m, r, *_ in log] == [
        ("2026-01", False), ("2026-02", False), ("2026-03", False),
        ("2026-01", False), ("2026-02", False),
    ]  # fmt: skip
    assert log[1][4] == log[4][4]  # same inputs, same fingerprint
    # Republished from the same inputs (same run keys): March still follows from them.
    assert stale == {"2026-01": False, "2026-02": False, "2026-03": False}

    # February's orders change: one order turns from completed to cancelled.
    orders = landing / "orders" / "month=2026-02" / "part-a.csv"
    lines = orders.read_text().splitlines()
    target = next(i for i, line in enumerate(lines) if ",completed," in line)
    lines[target] = lines[target].replace(",completed,", ",cancelled,")
    orders.write_text("\n".join(lines) + "\n")
    results = grade_months(landing, warehouse, outputs, "2026-02")
    assert [r.unchanged_since is not None for r in results] == [True, False]
    log, stale = run_log(warehouse)
    month, restated, old_counts, new_counts, fingerprint = log[-1]
    assert (month, restated) == ("2026-02", True)
    assert fingerprint != log[1][4]
    assert sum(json.loads(old_counts).values()) == sum(json.loads(new_counts).values()) == 147
    assert stale["2026-03"] is True

    grade_months(landing, warehouse, outputs, "2026-03")
    _, stale = run_log(warehouse)
    assert not any(stale.values())
