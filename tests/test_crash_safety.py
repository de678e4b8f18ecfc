"""SIGKILL at several points of a month: earlier months stay exactly as published, the
killed month is not half-published, and a rerun completes it."""

from __future__ import annotations

import subprocess

import pytest

from pipelines.faults import CRASH_POINTS
from tests.helpers import (
    PUBLISHED_TABLES,
    cli_command,
    private_copy,
    published_months,
    published_state,
    run_args,
    run_killed_at,
)

TABLES = (*PUBLISHED_TABLES, "run_log")
MARCH = "2026-03"


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_sigkill_leaves_published_months_intact(published_conformance, tmp_path, point):
    landing, warehouse, outputs = private_copy(published_conformance("2026-02"), tmp_path)
    before = published_state(warehouse, outputs, TABLES)
    command = cli_command(*run_args(landing, warehouse, outputs, MARCH, "--from", MARCH))
    run_killed_at(point, MARCH, command)

    after = published_state(warehouse, outputs, TABLES)
    march = [r for r in after["tables"]["merchant_grades"] if r[0] == MARCH]
    if point.startswith(("exports:", "dashboard:")):
        # The month committed in one transaction; none of its exports were swapped in
        # (between_tables), only the first table's (between_swaps), or all five, the
        # page alone not rebuilt (dashboard:before_build).
        assert len(march) == 169
        after["tables"] = {
            t: [r for r in rows if MARCH not in r] for t, rows in after["tables"].items()
        }
        swapped_in = [k for k in after["files"] if f"month={MARCH}" in k]
        if point == "dashboard:before_build":
            assert len(swapped_in) == 5
        else:
            assert swapped_in == (
                ["merchant_grades/month=2026-03/part-0.parquet"]
                if point == "exports:between_swaps"
                else []
            )
        after["files"] = {k: v for k, v in after["files"].items() if k not in swapped_in}
    assert after == before  # January and February exactly as published, nothing of March

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    final = published_state(warehouse, outputs, TABLES)
    assert len([k for k in final["files"] if f"month={MARCH}" in k]) == 5
    assert len([r for r in final["tables"]["merchant_grades"] if r[0] == MARCH]) == 169
    assert [p for p in outputs.glob("*/.*") if p.is_dir()] == []  # no leftovers
    assert not (outputs / ".staging").exists()


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("delay", "background"),
    [(0.0, False), (0.4, False), (1.2, False), (0.3, True)],
    ids=["at-once", "after-0.4s", "after-1.2s", "started-in-background"],
)
def test_a_stop_signal_ends_the_run_with_its_own_line_and_the_rerun_publishes(
    published_conformance, tmp_path, delay, background
):
    """SIGTERM (a scheduler's timeout) at moments of February: the run stops, saying so in
    a `grading:` line, not a traceback, never going on to grade March unasked (a review,
    2026-12-06, saw a run go on and publish everything). Started in the background by a
    non-interactive shell, a process has SIGINT ignored, and Dagster gave SIGTERM the same
    after its first job (January's, regraded with --force): February's SIGTERM went
    unheard. The rerun publishes every month."""
    import signal
    import time

    landing, warehouse, outputs = private_copy(published_conformance("2026-01"), tmp_path)
    force = ("--force",) if background else ()
    command = cli_command(*run_args(landing, warehouse, outputs, MARCH, "--no-dashboard", *force))
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if background else None,  # noqa: PLW1509
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("[2/3] 2026-02"):
            break
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=600)
    assert process.returncode in (1, 130), out + err
    assert err.strip().splitlines()[-1].startswith("grading: "), err[-2000:]
    assert f"{MARCH} published" not in out and "[3/3]" not in out

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert published_months(warehouse) == ["2026-01", "2026-02", MARCH]
