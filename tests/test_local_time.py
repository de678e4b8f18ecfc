"""The CLI and the Dagster code location run in UTC, whatever TZ says (pipelines/local_time.py).

Great Expectations renders the Data Docs in the process's local zone: under
``TZ=Pacific/Pago_Pago`` a validation page printed its local wall time with a ``Z``,
and under a POSIX ``TZ`` such as ``JST-9`` the index build failed and left an empty
``index.html`` while the run succeeded (a review, 2026-12-07).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.checks.data_docs import data_docs_index
from tests.helpers import CONFORMANCE, REPO_ROOT, cli_command, run_args

# UTC+9 with no daylight saving, written the POSIX way: valid for the C library, not a
# zone tzlocal can map.
POSIX_ZONE = "JST-9"


def test_data_docs_show_utc_times_when_tz_is_a_posix_zone(tmp_path: Path) -> None:
    env = {**os.environ, "TZ": POSIX_ZONE, "DAGSTER_HOME": str(tmp_path / "home")}
    outputs, warehouse = tmp_path / "out", tmp_path / "w.duckdb"
    command = cli_command(
        *run_args(CONFORMANCE / "landing", warehouse, outputs, "2026-01"),
        "--create",
        "--no-dashboard",
    )
    before = dt.datetime.now(dt.UTC)
    graded = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    after = dt.datetime.now(dt.UTC)
    assert graded.returncode == 0, graded.stderr[-2000:]
    assert "ZoneInfoNotFoundError" not in graded.stderr

    index = data_docs_index(outputs).read_text()
    shown = re.findall(r">(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\w+)<", index)
    assert shown, "the index lists the month's validations with their times"
    for wall, zone in shown:
        assert zone == "UTC"
        when = dt.datetime.fromisoformat(wall).replace(tzinfo=dt.UTC)
        assert before - dt.timedelta(seconds=1) <= when <= after

    site = data_docs_index(outputs).parent
    pages = sorted((site / "validations").rglob("*.html"))
    assert pages
    titled = re.findall(r"/ (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?Z", pages[0].read_text())
    assert titled, "a validation page's title gives its run time"
    when = dt.datetime.fromisoformat(titled[0]).replace(tzinfo=dt.UTC)
    assert before - dt.timedelta(seconds=1) <= when <= after  # not 9 hours ahead

    stored = next((outputs / "data_docs" / "gx" / "uncommitted" / "validations").rglob("*.json"))
    assert json.loads(stored.read_text())["meta"]["run_id"]["run_time"].endswith("+00:00")

    rerun = cli_command(*run_args(CONFORMANCE / "landing", warehouse, outputs, "2026-01"))
    again = subprocess.run(rerun, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert re.search(r"2026-01 unchanged since its publication at \S+ \S+ UTC ", again.stdout)


@pytest.mark.parametrize("zone", [POSIX_ZONE, "Pacific/Pago_Pago"])
def test_the_code_location_runs_in_utc(zone: str) -> None:
    """Runs launched in the UI or by the schedule load the definitions, not the CLI."""
    code = "import time, assets.definitions; print(time.strftime('%Z'), time.timezone)"
    shown = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "TZ": zone},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == ["UTC", "0"]
