"""Two runs on one warehouse: the second waits or stops with a clear message."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.cli import main as cli_main
from assets.definitions import build_definitions
from assets.runner import grade_months
from pipelines.locking import WarehouseBusy, exclusive_run
from tests.helpers import CONFORMANCE

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
    try_lock = [sys.executable, "-c", TRY_LOCK, str(warehouse)]
    assert subprocess.run(try_lock, capture_output=True, text=True).stdout.strip() == "busy"
    holder.kill()  # SIGKILL: the kernel drops the flock with the process
    assert holder.wait() == -signal.SIGKILL
    with exclusive_run(warehouse):  # taken at once, no wait: the dead holder left it free
        # and held now by this process, so another one is refused
        assert subprocess.run(try_lock, capture_output=True, text=True).stdout.strip() == "busy"
    assert subprocess.run(try_lock, capture_output=True, text=True).stdout.strip() == "free"


# --- one lock per real file, and every launch path takes it (issue item 7) --------------

HOLD_AS_DAGSTER = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import dagster as dg
from assets.resources import WarehouseResource
with dg.build_resources({"warehouse": WarehouseResource(path=sys.argv[1])}):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""

TRY_LOCK = """
import sys
from pipelines.locking import WarehouseBusy, exclusive_run
try:
    with exclusive_run(sys.argv[1]):
        print("free")
except WarehouseBusy:
    print("busy")
"""


def cli_run(warehouse, tmp_path) -> list[str]:
    return [
        "run",
        "--landing",
        str(CONFORMANCE / "landing"),
        "--warehouse",
        str(warehouse),
        "--outputs",
        str(tmp_path / "out"),
        "--through",
        "2026-01",
    ]


def lock_state(warehouse, cwd=None) -> str:
    """'busy' or 'free': what another process finds when it tries the warehouse's lock."""
    probe = subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(warehouse)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    return probe.stdout.strip()


@pytest.mark.parametrize("route", ["symlink", "relative"])
def test_cli_through_another_path_to_the_same_file_is_refused(tmp_path, monkeypatch, capsys, route):
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "w.duckdb"
    (tmp_path / "link.duckdb").symlink_to("data/w.duckdb")  # a relative symlink
    if route == "symlink":  # one run names the real file, the other the symlink
        held, given = real, tmp_path / "link.duckdb"
    else:  # paths relative to the working folder: the symlink, and the file itself
        held, given = Path("link.duckdb"), Path("data") / "w.duckdb"
    monkeypatch.chdir(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(held), "60"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli_main(cli_run(given, tmp_path)) == 1
        assert f"is being graded by pid {holder.pid}" in capsys.readouterr().err
        assert not real.exists()  # refused before touching anything
    finally:
        holder.kill()
        holder.wait()


def test_a_dagster_run_is_refused_while_a_cli_run_holds_the_warehouse(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    holder = hold_lock(warehouse, 60)
    try:
        defs = build_definitions(
            str(CONFORMANCE / "landing"), str(warehouse), str(tmp_path / "out")
        )
        with pytest.raises(dg.DagsterResourceFunctionError) as refused:
            defs.resolve_job_def("grade_month").execute_in_process(partition_key="2026-01")
        assert isinstance(refused.value.__cause__, WarehouseBusy)
        assert f"is being graded by pid {holder.pid}" in str(refused.value.__cause__)
        assert not warehouse.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_cli_run_is_refused_while_a_dagster_run_holds_the_warehouse(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AS_DAGSTER, str(warehouse), "60"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli_main(cli_run(warehouse, tmp_path)) == 1
        assert f"is being graded by pid {holder.pid}" in capsys.readouterr().err
        assert not warehouse.exists()
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_re_entrant_in_its_process_and_held_until_the_outer_holder_ends(
    tmp_path,
):
    real = tmp_path / "w.duckdb"
    (tmp_path / "link.duckdb").symlink_to(real)
    with exclusive_run(real):
        with exclusive_run(tmp_path / "link.duckdb"):  # the runner, then the job's resource
            assert lock_state(real) == "busy"
        assert lock_state(tmp_path / "link.duckdb") == "busy"  # the outer run still holds it
    assert lock_state(real) == "free"


def test_the_refusal_names_the_holder_now_not_an_earlier_one(tmp_path):
    """The lock file keeps the pid of its last holder: the next one replaces it, so a
    refusal names the run that holds the warehouse now, and only it."""
    warehouse = tmp_path / "w.duckdb"
    with exclusive_run(warehouse):  # an earlier run, ended: its pid stays in the file
        pass
    holder = hold_lock(warehouse, 30)
    try:
        with pytest.raises(WarehouseBusy) as refused, exclusive_run(warehouse):
            pass
        assert str(refused.value).startswith(
            f"warehouse {warehouse} is being graded by pid {holder.pid}; try again once"
        )
    finally:
        holder.kill()
        holder.wait()


def test_a_cli_run_given_wait_waits_for_the_run_holding_the_warehouse(tmp_path, capsys):
    """`grading run --wait SECONDS` takes the warehouse once the other run ends."""
    warehouse = tmp_path / "w.duckdb"
    holder = hold_lock(warehouse, 2)
    assert cli_main([*cli_run(warehouse, tmp_path), "--wait", "120", "--no-dashboard"]) == 0
    assert holder.poll() is not None  # ran only once the holder was gone
    assert "2026-01 published" in capsys.readouterr().out
    assert warehouse.is_file()
