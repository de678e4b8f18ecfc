"""Smoke run of the benchmark harness (bench/run.py) on a tiny data set.

The real runs (1M, 10M, 100M orders a month) are made by hand and recorded in
bench/results/ and the README; this only proves the harness measures what it claims.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.run import main, step_seconds
from tests.helpers import CONFORMANCE


def test_benchmark_harness_measures_all_three_parts(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert (
        main(["--merchants", "300", "--orders", "6000", "--work", str(tmp_path), "--out", str(out)])
        == 0
    )
    result = json.loads(out.read_text())

    e2e = result["end_to_end"]
    assert {"raw_orders", "raw_feedback", "merchant_grades", "published_month"} <= set(
        e2e["stages"]
    )
    assert sum(e2e["stages"].values()) <= e2e["seconds"]
    assert e2e["outside_steps_seconds"] == round(e2e["seconds"] - sum(e2e["stages"].values()), 2)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert result["commit"].split("+")[0] == head  # the code measured
    assert 0 < e2e["peak_rss_gb"] < 8
    # the rerun found the month unchanged (the harness refuses a rerun that regraded)
    assert result["rerun_unchanged"]["seconds"] < e2e["seconds"]
    # the floor's query graded (roughly) the same merchants as the pipeline's window
    assert result["floor"]["merchants"] > 0
    assert result["pandas"]["seconds"] > 0
    assert result["month_rows"]["orders"] >= 6000
    assert result["ratios"]["end_to_end_over_floor"] == round(
        e2e["seconds"] / result["floor"]["seconds"], 2
    )


def test_step_seconds_reads_the_timings_line() -> None:
    output = "[1/1] 2026-03 grading ...\n        steps: raw_orders 1.5s, merchant_grades 0.25s\n"
    assert step_seconds(output) == {"raw_orders": 1.5, "merchant_grades": 0.25}
    assert step_seconds("no timings here") == {}


def test_the_sampling_profile_charges_the_run_to_steps_and_lines(tmp_path: Path) -> None:
    from bench.profile import main as profile

    out = tmp_path / "profile.txt"
    code = profile(
        [
            "--interval", "0.002", "--out", str(out), "--",
            "run", "--landing", str(CONFORMANCE / "landing"), "--warehouse",
            str(tmp_path / "w.duckdb"), "--through", "2026-01",
        ]
    )  # fmt: skip
    assert code == 0
    text = out.read_text()
    steps = dict(
        (line.split(" s  ")[1], float(line.split(" s  ")[0]))
        for line in text.split("by step:\n")[1].split("\n\n")[0].splitlines()
    )
    wall = float(text.split()[1])
    assert {"raw_orders", "raw_feedback", "published_month", "(outside steps)"} <= set(steps)
    assert abs(sum(steps.values()) - wall) < 0.1 * wall
    assert "pipelines/" in text.split("lines:")[1]  # charged to lines of our code


def test_the_no_op_month_has_our_graph_shape_in_either_step_layout() -> None:
    """bench/fixed_costs.py measures Dagster alone on our graph's shape: the same
    partitioned assets and checks, materialised and evaluated, in one step or one each."""
    import dagster as dg

    from assets.definitions import defs
    from bench.fixed_costs import no_op_job, our_graph_shape

    keys, _, checks = our_graph_shape()
    graph = defs.resolve_asset_graph()
    ours = {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert set(keys) == ours and len(keys) > 10
    assert sum(map(len, checks.values())) >= 9
    for one_step, steps in ((False, len(keys)), (True, 1)):
        result = no_op_job(one_step).execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), partition_key="2026-01"
        )
        assert result.success
        materialised = {e.asset_key for e in result.get_asset_materialization_events()}
        assert materialised == ours
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == sum(map(len, checks.values()))
        assert len(result.get_step_success_events()) == steps
