"""A dashboard or explain reading the live warehouse during a run: both finish, the run
is not broken, and readers only ever see whole published months."""

from __future__ import annotations

import subprocess
import sys

from assets.runner import grade_months
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE


def grading(*args: str) -> list[str]:
    return [sys.executable, "-m", "assets.cli", *args]


def test_readers_during_a_run(tmp_path):
    warehouse, outputs = tmp_path / "w.duckdb", tmp_path / "out"
    grade_months(CONFORMANCE / "landing", warehouse, outputs, "2026-01")
    run = subprocess.Popen(
        grading(
            "run",
            "--landing",
            str(CONFORMANCE / "landing"),
            "--warehouse",
            str(warehouse),
            "--outputs",
            str(outputs),
            "--from",
            "2026-02",
            "--through",
            "2026-03",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    readers = []
    while run.poll() is None and len(readers) < 6:
        dashboard = subprocess.run(
            grading("dashboard", "--warehouse", str(warehouse), "--out", str(tmp_path / "dash")),
            capture_output=True,
            text=True,
            timeout=300,
        )
        explain = subprocess.run(
            grading("explain", "--warehouse", str(warehouse), "--merchant", "M0500001"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        readers.append((dashboard, explain))
    out, err = run.communicate(timeout=900)
    assert run.returncode == 0, err[-2000:]
    assert readers, "the run ended before any reader started"
    for dashboard, explain in readers:
        assert dashboard.returncode == 0, dashboard.stderr[-2000:]
        assert explain.returncode == 0, explain.stderr[-2000:]
        # A reader sees a month whole or not at all: every month it names was published.
        assert "months 2026-01.." in dashboard.stdout
    con = connect(warehouse, read_only=True)
    counts = dict(fetch_rows(con, "SELECT month, count(*) FROM main.merchant_grades GROUP BY ALL"))
    con.close()
    assert counts == {"2026-01": 149, "2026-02": 147, "2026-03": 169}
