"""Two runs on one warehouse: the second waits or stops with a clear message."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from pipelines.locking import WarehouseBusy, exclusive_run
from pipelines.runner import grade_months
from tests.conftest import CONFORMANCE

HOLD = """
import sys, time
from pipelines.locking import exclusive_run
with exclusive_run(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(warehouse, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_stops_with_a_clear_message(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = hold_lock(warehouse, 30)
    try:
        with pytest.raises(
            WarehouseBusy,
            match=rf"{warehouse} is being graded by pid "
            rf"{holder.pid}",
        ):
            grade_months(CONFORMANCE / "landing", warehouse, tmp_path / "out", "2026-01")
        assert not warehouse.exists()  # refused before touching anything
    finally:
        holder.kill()
        holder.wait()


def test_second_run_waits_for_the_first(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = hold_lock(warehouse, 1.5)
    started = time.monotonic()
    with exclusive_run(warehouse, wait_seconds=20):
        waited = time.monotonic() - started
    holder.wait()
    assert waited >= 1.0


def test_lock_is_released_when_the_holder_dies(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = hold_lock(warehouse, 60)
    holder.kill()  # SIGKILL: the kernel drops the flock with the process
    holder.wait()
    with exclusive_run(warehouse):
        pass
