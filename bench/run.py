"""Benchmark one month of grading against DuckDB's floor and a plain pandas baseline.

    python -m bench.run --merchants 200000 --orders 10000000 --work /tmp/bench-10m

On one generated data set (three months, M-2..M) it times, one after the other:

(a) ``grading run`` for month M, end to end, with M-2 and M-1 already graded in the
    warehouse: each stage's time (``--timings``) and the peak RSS of the process;
    then the same command again on unchanged inputs (the rerun);
(b) the floor: DuckDB alone loading M's Parquet into tables that already hold M-2 and
    M-1, plus one hand-written query of the per-merchant 90-day aggregates
    (bench/floor.sql), with the same memory limit;
(c) the pandas baseline (bench/pandas_baseline.py), the same grading written plainly;
    its grades and quarantine counts must equal the pipeline's (bench/agreement.py);
(d) the contract floor (bench/contract_floor.py): the floor once more, then each lookup
    spec §1 needs for every row and the floor skips, timed one by one.

Each part runs in its own process, measured with wait4 (wall time, peak RSS). The
result is a JSON file (default bench/results/<orders>-orders.json) and a Markdown row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.months import add_months, grading_window
from pipelines.policy import load_policy
from pipelines.warehouse import MEMORY_LIMIT, bound_params, statements

ROOT = Path(__file__).resolve().parent.parent
FLOOR_SQL = Path(__file__).with_name("floor.sql")
RESULTS = ROOT / "bench" / "results"
FLOOR_DATASETS = ("orders", "feedback", "bad_orders", "service_metrics")


@dataclass
class Timed:
    """One measured child process."""

    seconds: float
    peak_rss_gb: float
    stdout: str


def timed(command: list[str], env: dict[str, str] | None = None) -> Timed:
    """Run a command to completion; its wall time and its own peak RSS (not ours)."""
    started = time.monotonic()
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}):\n{output}")
    return Timed(round(seconds, 2), round(usage.ru_maxrss / 1024 / 1024, 3), output)


def grading(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("grading")), *args]


def step_seconds(output: str) -> dict[str, float]:
    """The stage times `grading run --timings` prints on its 'steps:' line."""
    line = next((ln for ln in output.splitlines() if ln.strip().startswith("steps:")), "")
    return {name: float(s) for name, s in re.findall(r"(\w+) ([\d.]+)s", line)}


def month_rows(landing: Path, month: str) -> dict[str, int]:
    """Rows of each dataset in the month's landing folder (Parquet metadata and CSV)."""
    counts = {}
    for dataset_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        folder = dataset_dir / f"month={month}"
        parquet = [str(p) for p in folder.glob("*.parquet")]
        n = 0
        if parquet:
            n += duckdb.sql(
                "SELECT sum(num_rows) FROM parquet_file_metadata($files)",
                params={"files": parquet},
            ).fetchall()[0][0]
        for csv_file in folder.glob("*.csv"):
            n += duckdb.sql(
                "SELECT count(*) FROM read_csv($f, all_varchar = true)", params={"f": str(csv_file)}
            ).fetchall()[0][0]
        counts[dataset_dir.name] = int(n)
    return counts


def parquet_files(landing: Path, dataset: str, months: list[str]) -> list[str]:
    return [
        str(p) for m in months for p in sorted((landing / dataset / f"month={m}").glob("*.parquet"))
    ]


def run_floor(landing: Path, work: Path, month: str, history: int) -> dict[str, float]:
    """(b) in a child process: load M's Parquet + the 90-day aggregate query."""
    script = [
        sys.executable, "-m", "bench.run", "--floor-only", str(landing), str(work), month,
        "--history", str(history),
    ]  # fmt: skip
    result = timed(script)
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "peak_rss_gb": result.peak_rss_gb}


def run_contract_floor(work: Path, month: str, history: int) -> dict:
    """(d) in a child process: the floor again, then the lookups spec §1 adds to it
    (bench/contract_floor.py), so the ratio compares two measurements made together."""
    script = [
        sys.executable, "-m", "bench.contract_floor", "--work", str(work), "--month", month,
        "--history", str(history),
    ]  # fmt: skip
    return json.loads(timed(script).stdout)


def earlier_months(month: str, history: int) -> list[str]:
    """The ``history`` months before M, oldest first."""
    return [add_months(month, -k) for k in range(history, 0, -1)]


def remove_database(work: Path, name: str) -> None:
    """Delete ``<work>/<name>.duckdb`` and its WAL, if there."""
    path = work / f"{name}.duckdb"
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def floor_database(
    landing: Path, work: Path, name: str, month: str, history: int
) -> tuple[duckdb.DuckDBPyConnection, dict[str, object]]:
    """A fresh DuckDB file ``<work>/<name>.duckdb`` holding the earlier months (loaded
    untimed), and the floor's parameters for month M: its Parquet files and window."""
    remove_database(work, name)
    con = duckdb.connect(str(work / f"{name}.duckdb"))
    con.execute("SET memory_limit = $m", {"m": MEMORY_LIMIT})
    con.execute("SET temp_directory = $d", {"d": str(work / f"{name}.tmp")})
    earlier = earlier_months(month, history)
    for dataset in FLOOR_DATASETS:
        files = parquet_files(landing, dataset, earlier)
        con.execute(
            f"CREATE TABLE {dataset} AS SELECT * FROM read_parquet($files)", {"files": files}
        )
    con.execute("CHECKPOINT")
    window = grading_window(month, load_policy().window_days)
    params = {d: parquet_files(landing, d, [month]) for d in (*FLOOR_DATASETS, "merchants")} | {
        "window_start": window.window_start,
        "cutoff": window.cutoff,
        "month": month,
    }
    return con, params


def timed_floor(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> float:
    """Seconds of the floor's statements (bench/floor.sql) and the checkpoint after them."""
    started = time.monotonic()
    for statement in statements(FLOOR_SQL.read_text()):
        con.execute(statement, bound_params(statement, params))
    con.execute("CHECKPOINT")
    return time.monotonic() - started


def floor_child(landing: Path, work: Path, month: str, history: int) -> None:
    """The floor's process: earlier months loaded untimed, then month M timed."""
    con, params = floor_database(landing, work, "floor", month, history)
    seconds = timed_floor(con, params)
    merchants = con.execute("SELECT count(*) FROM window_aggregates").fetchall()[0][0]
    con.close()
    print(json.dumps({"seconds": round(seconds, 2), "merchants": merchants}))


def prepare(
    landing: Path, work: Path, merchants: int, orders: int, month: str, seed: int, history: int
) -> dict:
    """Generate the history months and M (unless present); grade the history months."""
    first = add_months(month, -history)
    setup = {}
    if not (landing / "orders" / f"month={month}").is_dir():
        gen = timed(
            grading(
                "generate", "--out", str(landing), "--merchants", str(merchants),
                "--months", f"{first}..{month}", "--orders-per-month", str(orders),
                "--seed", str(seed),
            )
        )  # fmt: skip
        setup["generate_seconds"] = gen.seconds
    prepared = work / "prepared"
    if not (prepared / "w.duckdb").is_file():
        shutil.rmtree(prepared, ignore_errors=True)
        prepared.mkdir(parents=True)
        run = timed(
            grading(
                "run", "--landing", str(landing), "--warehouse", str(prepared / "w.duckdb"),
                "--through", add_months(month, -1),
            )
        )  # fmt: skip
        setup["prepare_seconds"] = run.seconds
    return setup


def machine() -> dict:
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "duckdb_memory_limit": MEMORY_LIMIT,
    }


def run_benchmark(args: argparse.Namespace) -> dict:
    work = args.work.resolve()
    landing = work / "landing"
    month = args.month
    work.mkdir(parents=True, exist_ok=True)
    setup = prepare(landing, work, args.merchants, args.orders, month, args.seed, args.history)

    # (a) end to end, from a fresh copy of the prepared warehouse (M-2, M-1 graded).
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(work / "prepared", run_dir)
    # The copy is setup: flush it to disk now, or the run's first checkpoint waits for
    # the kernel to write back the whole copied file (~2 s at 10M), as the floor's
    # earlier months are checkpointed before its clock starts.
    os.sync()
    command = grading(
        "run", "--landing", str(landing), "--warehouse", str(run_dir / "w.duckdb"),
        "--outputs", str(run_dir / "outputs"), "--from", month, "--through", month, "--timings",
    )  # fmt: skip
    e2e = timed(command)
    rerun = timed(command)
    if "unchanged" not in rerun.stdout:
        raise RuntimeError(f"the rerun regraded the month:\n{rerun.stdout}")

    floor = run_floor(landing, work, month, args.history)
    contract = run_contract_floor(work, month, args.history)
    pandas = None
    if args.pandas:
        pandas = run_pandas(landing, work, month, run_dir / "outputs")

    result = {
        **result_header(args, landing, month, setup),
        "end_to_end": {
            "seconds": e2e.seconds,
            "peak_rss_gb": e2e.peak_rss_gb,
            "stages": (stages := step_seconds(e2e.stdout)),
            # process start, imports, Dagster's run and its events between the steps
            "outside_steps_seconds": round(e2e.seconds - sum(stages.values()), 2),
        },
        "rerun_unchanged": {"seconds": rerun.seconds, "peak_rss_gb": rerun.peak_rss_gb},
        "floor": floor,
        "contract_floor": contract,
        "pandas": pandas,
    }
    result["ratios"] = {
        "end_to_end_over_floor": round(e2e.seconds / floor["seconds"], 2),
        "rerun_over_end_to_end": round(rerun.seconds / e2e.seconds, 3),
        "pandas_over_end_to_end": round(pandas["seconds"] / e2e.seconds, 2) if pandas else None,
        "contract_floor_over_floor": contract["floor_plus_lookups_over_floor"],
    }
    return result


def run_pandas(landing: Path, work: Path, month: str, outputs: Path) -> dict:
    """(c) the pandas baseline, timed, then its grades and quarantine counts compared with
    the pipeline's exports of the month (``bench.agreement``): a baseline that graded
    otherwise did other work, so its time is refused rather than compared."""
    grades, quarantine = work / "pandas-grades.parquet", work / "pandas-quarantine.json"
    baseline = timed(
        [
            sys.executable, "-m", "bench.pandas_baseline", "--landing", str(landing),
            "--month", month, "--out", str(grades), "--quarantine-out", str(quarantine),
        ]
    )  # fmt: skip
    import pandas as pd  # the harness's own imports stay light; pandas runs in (c) only

    from bench.agreement import compare

    agreement = compare(outputs, month, pd.read_parquet(grades), json.loads(quarantine.read_text()))
    if not agreement["agrees"]:
        raise RuntimeError(
            f"the pandas baseline graded {month} otherwise than the pipeline: "
            f"{json.dumps(agreement)}"
        )
    return {
        "seconds": baseline.seconds,
        "peak_rss_gb": baseline.peak_rss_gb,
        "agreement": agreement,
    }


def markdown_row(result: dict) -> str:
    pandas = result["pandas"]
    ratios = result["ratios"]
    return (
        f"| {result['orders_per_month']:,} | {result['merchants']:,} "
        f"| {result['end_to_end']['seconds']:.1f} | {result['end_to_end']['peak_rss_gb']:.2f} "
        f"| {result['floor']['seconds']:.1f} | {ratios['end_to_end_over_floor']:.2f} "
        f"| {result['rerun_unchanged']['seconds']:.1f} "
        f"| {pandas['seconds']:.1f} | {ratios['pandas_over_end_to_end']:.1f} |"
        if pandas
        else f"| {result['orders_per_month']:,} | {result['merchants']:,} "
        f"| {result['end_to_end']['seconds']:.1f} | {result['end_to_end']['peak_rss_gb']:.2f} "
        f"| {result['floor']['seconds']:.1f} | {ratios['end_to_end_over_floor']:.2f} "
        f"| {result['rerun_unchanged']['seconds']:.1f} | n/a | n/a |"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--merchants", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=10_000_000, help="orders per month")
    parser.add_argument("--month", default="2026-03", help="the timed month M")
    parser.add_argument("--work", type=Path, help="folder for data and warehouses (required)")
    parser.add_argument("--out", type=Path, default=None, help="result JSON file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--history", type=int, default=2, help="months graded before M (default 2: M-2, M-1)"
    )
    parser.add_argument(
        "--no-pandas", dest="pandas", action="store_false", help="skip the pandas baseline"
    )
    parser.add_argument(
        "--floor-only", nargs=3, metavar=("LANDING", "WORK", "MONTH"), help=argparse.SUPPRESS
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.floor_only:
        landing, work, month = args.floor_only
        floor_child(Path(landing), Path(work), month, args.history)
        return 0
    if args.work is None:
        build_parser().error("--work is required")
    result = run_benchmark(args)
    write_result(result, args.out or RESULTS / f"{args.orders}-orders.json", markdown_row(result))
    return 0


def result_header(args: argparse.Namespace, landing: Path, month: str, setup: dict) -> dict:
    """What every bench result starts with: when, where, and the month measured."""
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": code_commit(),
        "machine": machine(),
        "month": month,
        "merchants": args.merchants,
        "orders_per_month": args.orders,
        "history_months": args.history,
        "month_rows": month_rows(landing, month),
        "setup": setup,
    }


def code_commit() -> str:
    """The commit measured, with ``+changes`` when the working tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+changes" if dirty else head


def write_result(result: dict, out: Path, row: str) -> None:
    """The result as JSON at ``out``; its ratios and Markdown row on stdout."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["ratios"]))
    print(row)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
