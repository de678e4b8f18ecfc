"""The fixed cost of a month under this design, measured without our work in it.

    python -m bench.fixed_costs [--months 3] [--validations 24]

A month of the conformance fixture's size reads a few thousand rows, so its time is the
fixed cost of the stack the design card fixes: a Dagster run recorded in a SQLite
instance, Great Expectations validations, the imports of a fresh process. This measures
each of those with our code taken out, so the issue's targets (a conformance-sized month
in under 1.5 s of steps, start-up under 2 s) can be read against what the stack alone
costs on this machine:

- **imports**: wall time of a fresh interpreter importing Dagster, polars, duckdb, our
  code location (``assets.definitions``), and GE both as a run imports it
  (``validation.warm_up``: its unused format checkers left out, scipy and altair
  deferred) and plainly;
- **a no-op month**: a job with our asset graph's shape (the same asset keys, their
  dependencies, monthly partitions and check specs) whose assets do nothing but return a
  ``MaterializeResult`` with their passing checks and one metadata value, materialised
  month after month on a persistent SQLite instance in a temporary DAGSTER_HOME, as
  ``grading run`` does: the run's wall time and the sum of its steps' times. Measured
  twice: one step per asset, as ours, and every asset in one step (a ``multi_asset``),
  what "fewer, larger steps" could save at most;
- **a GE validation**: ``pipelines.checks.validation.validate_frame`` of a six-expectation
  suite on a three-row frame, repeated after a first (warm-up) call: GE's time per
  validation whatever the rows (a month runs 24).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent
IMPORTS = {
    "dagster": "import dagster",
    "polars": "import polars",
    "duckdb": "import duckdb",
    "assets.definitions": "import assets.definitions",
    # as a run imports GE: its unused format checkers and scipy/altair left out
    "great_expectations (warm_up)": "from pipelines.checks import validation; validation.warm_up()",
    "great_expectations (plain)": "import great_expectations",
}


def import_seconds(code: str) -> float:
    """Wall time of a fresh interpreter running ``code``, less one that runs nothing."""

    def wall(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - start

    return round(wall(code) - wall("pass"), 2)


def our_graph_shape() -> tuple[list[dg.AssetKey], dict, dict]:
    """Our partitioned assets, parents first; each one's parents among them; its checks."""
    from assets.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = [key for key in graph.toposorted_asset_keys if graph.get(key).partitions_def]
    parents = {k: [p for p in graph.get(k).parent_keys if p in keys and p != k] for k in keys}
    checks = {k: [c.name for c in graph.get_check_keys_for_assets({k})] for k in keys}
    return keys, parents, checks


def no_op_job(one_step: bool) -> dg.JobDefinition:
    """Our graph's shape doing nothing: a step per asset, or all of them in one step."""
    from assets.partitions import monthly_partitions

    keys, parents, checks = our_graph_shape()
    specs = {k: [dg.AssetCheckSpec(name, asset=k) for name in checks[k]] for k in keys}

    def passed(key: dg.AssetKey) -> list[dg.AssetCheckResult]:
        return [
            dg.AssetCheckResult(asset_key=key, check_name=c.name, passed=True) for c in specs[key]
        ]

    if one_step:

        @dg.multi_asset(
            specs=[dg.AssetSpec(k, deps=parents[k]) for k in keys],
            check_specs=[spec for k in keys for spec in specs[k]],
            partitions_def=monthly_partitions, group_name="no_op",
        )  # fmt: skip
        def everything() -> Iterator[dg.MaterializeResult]:
            for key in keys:
                yield dg.MaterializeResult(
                    asset_key=key, metadata={"rows": 0}, check_results=passed(key)
                )

        assets = [everything]
    else:

        def no_op(key: dg.AssetKey) -> dg.AssetsDefinition:
            @dg.asset(
                key=key, deps=parents[key], partitions_def=monthly_partitions,
                check_specs=specs[key], group_name="no_op", kinds={"python"},
            )  # fmt: skip
            def nothing() -> dg.MaterializeResult:
                return dg.MaterializeResult(metadata={"rows": 0}, check_results=passed(key))

            return nothing

        assets = [no_op(key) for key in keys]
    return dg.Definitions(assets=assets).get_implicit_global_asset_job_def()


def no_op_month_seconds(months: list[str], one_step: bool) -> list[dict[str, Any]]:
    """Each month's run of ``no_op_job`` on a persistent SQLite instance, as ``grading run``
    records its runs: the run's wall time and the sum of its steps' times."""
    from assets.runner import step_seconds

    job = no_op_job(one_step)
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    timings = []
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        with dg.DagsterInstance.from_config(home) as instance:
            for month in months:
                start = time.perf_counter()
                result = job.execute_in_process(
                    instance=instance, partition_key=month, run_config=quiet
                )
                wall = time.perf_counter() - start
                steps = sum(step_seconds(result).values())
                timings.append({"month": month, "wall": round(wall, 2), "steps": round(steps, 2)})
    return timings


def validation_seconds(repeats: int) -> float:
    """GE's median time for one validation of a six-expectation suite on three rows."""
    import pandas as pd

    from pipelines.checks.validation import validate_frame

    expectations = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "amount"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "amount", "min_value": 0, "max_value": 1000},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "status", "value_set": ["paid", "refunded"]},
        },
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    ]
    frame = pd.DataFrame({"id": [1, 2, 3], "amount": [1.5, 2.0, 3.25], "status": ["paid"] * 3})
    outcomes = validate_frame(expectations, frame)  # warm-up: GE's import and first context
    assert all(o.success for o in outcomes), outcomes
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        validate_frame(expectations, frame)
        times.append(time.perf_counter() - start)
    return round(median(times), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--validations", type=int, default=24)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    months = [f"2026-{m:02d}" for m in range(1, args.months + 1)]
    result = {
        "imports_seconds": {name: import_seconds(code) for name, code in IMPORTS.items()},
        "no_op_months": no_op_month_seconds(months, one_step=False),
        "no_op_months_one_step": no_op_month_seconds(months, one_step=True),
        "ge_validation_seconds": validation_seconds(args.validations),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
