"""A run killed outright does not hold the one-run queue for ever (assets/run_limits.py).

A `grading run` killed with SIGKILL (the OOM killer, say) leaves its run STARTED in the
instance the UI and the schedule use. With one run at a time, every queued run would wait
behind it until someone terminated it in the UI. The instance's settings turn on the
daemon's run monitoring, and grade_month carries a ``dagster/max_runtime`` tag: a real
``dagster-daemon`` cancels the dead run once it is past that, and the queued run then
grades the month the killed one left half-written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.definitions import grade_month_job
from assets.instance import INSTANCE_YAML, quiet_instance
from assets.run_limits import (
    DEFAULT_RUN_MAX_SECONDS,
    MAX_RUNTIME_TAG,
    RUN_MAX_SECONDS_VARIABLE,
    month_run_tags,
    run_max_seconds,
)
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE, without_configured_start
from tests.test_dagster_ui import (
    LOCATION,
    REPO_ROOT,
    start_in_repository,
    stop_process_group,
)

BIN = Path(sys.executable).parent
LANDING = CONFORMANCE / "landing"


def test_grade_month_carries_the_run_limit():
    assert grade_month_job.tags[MAX_RUNTIME_TAG] == str(run_max_seconds())
    assert run_max_seconds({}) == DEFAULT_RUN_MAX_SECONDS == 3 * 60 * 60
    assert month_run_tags({RUN_MAX_SECONDS_VARIABLE: " 600 "}) == {MAX_RUNTIME_TAG: "600"}


@pytest.mark.parametrize("text", ["-5", "1.5", "soon", "\u0663"])
def test_a_run_limit_that_is_not_a_whole_number_of_seconds_is_refused(text):
    with pytest.raises(ValueError, match=f"{RUN_MAX_SECONDS_VARIABLE}='{text}' \\(environment"):
        run_max_seconds({RUN_MAX_SECONDS_VARIABLE: text})


def test_a_run_limit_of_0_is_none():
    """Dagster reads a limit of 0 as no limit: the way to turn it off for grade_month."""
    assert month_run_tags({RUN_MAX_SECONDS_VARIABLE: "0"}) == {MAX_RUNTIME_TAG: "0"}


def test_the_instance_limits_every_run_as_grade_month_by_default(tmp_path):
    """Runs of other jobs (an asset page's, a backfill's, the deadline's) hold the one
    place in the queue too: the instance's own limit covers them."""
    (tmp_path / "dagster.yaml").write_text(INSTANCE_YAML)
    with quiet_instance(tmp_path) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds == DEFAULT_RUN_MAX_SECONDS
    assert yaml.safe_load(INSTANCE_YAML)["run_queue"]["max_concurrent_runs"] == 1


def _runs(home: Path) -> list[dg.DagsterRun]:
    with quiet_instance(home) as instance:
        return list(instance.get_runs())


def _wait_for(what: str, seconds: float, found, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} within {seconds}s; daemon log:\n{log.read_text()[-4000:]}")


def test_a_killed_run_is_cancelled_by_the_daemon_and_the_queue_goes_on(tmp_path):
    home, warehouse = tmp_path / "dagster_home", tmp_path / "warehouse.duckdb"
    home.mkdir()
    settings = yaml.safe_load(INSTANCE_YAML)
    # The project's settings, polled faster than the defaults (120 s, 180 s) for the test.
    settings.setdefault("run_monitoring", {}).update(
        poll_interval_seconds=1, cancel_timeout_seconds=2
    )
    (home / "dagster.yaml").write_text(yaml.safe_dump(settings))
    environ = without_configured_start(dict(os.environ))
    environ.update(
        DAGSTER_HOME=str(home),
        GRADING_LANDING=str(LANDING),
        GRADING_WAREHOUSE=str(warehouse),
        GRADING_OUTPUTS=str(tmp_path / "outputs"),
        PYTHONPATH=str(REPO_ROOT),
    )
    grading = [str(BIN / "grading"), "run", "--landing", str(LANDING)]
    grading += ["--warehouse", str(warehouse), "--no-dashboard"]
    first = subprocess.run([*grading, "--through", "2026-01"], env=environ, cwd=tmp_path)
    assert first.returncode == 0

    # February's run, killed once it has started: it stays STARTED in the instance.
    killed = subprocess.Popen(
        [*grading, "--from", "2026-02", "--through", "2026-02"],
        env={**environ, RUN_MAX_SECONDS_VARIABLE: "5"},
        cwd=tmp_path,
        start_new_session=True,
    )
    log = tmp_path / "daemon.log"
    log.touch()
    try:
        started = _wait_for(
            "February's run did not start",
            120,
            lambda: [r for r in _runs(home) if r.status == dg.DagsterRunStatus.STARTED],
            log,
        )
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
    dead = started[0]
    assert dead.tags[MAX_RUNTIME_TAG] == "5"
    assert [r.status for r in _runs(home) if r.run_id == dead.run_id] == [
        dg.DagsterRunStatus.STARTED
    ]

    # A month queued behind it, then the daemon, as `make ui` runs it.
    launch = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-m", LOCATION, "-j", "grade_month"]
        + ["--tags", json.dumps({"dagster/partition": "2026-02"})],
        env=environ,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert launch.returncode == 0, launch.stderr
    daemon = start_in_repository([str(BIN / "dagster-daemon"), "run", "-m", LOCATION], environ, log)
    try:

        def finished(run_id: str) -> dg.DagsterRun | None:
            run = next(r for r in _runs(home) if r.run_id == run_id)
            return run if run.is_finished else None

        # Past its limit the daemon cancels it; with no process to reach, it is marked
        # failed (CANCELED, when a cancel goes unanswered for cancel_timeout_seconds).
        ended = _wait_for("the killed run was not ended", 180, lambda: finished(dead.run_id), log)
        assert ended.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
        queued = next(r for r in _runs(home) if r.run_id != dead.run_id)
        assert queued.tags["dagster/partition"] == "2026-02"
        assert queued.tags[MAX_RUNTIME_TAG] == str(DEFAULT_RUN_MAX_SECONDS)
        done = _wait_for("the queued run did not end", 300, lambda: finished(queued.run_id), log)
        assert done.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-4000:]
    finally:
        stop_process_group(daemon)

    con = connect(warehouse, read_only=True)
    try:
        assert fetch_rows(con, "SELECT DISTINCT month FROM main.run_log ORDER BY 1") == [
            ("2026-01",),
            ("2026-02",),
        ]
        assert fetch_rows(con, "SELECT * FROM journal.pending WHERE state = 'open'") == []
    finally:
        con.close()
