"""Benchmark the Spark engine on one and two workers against DuckDB, on one generated month.

    python -m bench.spark --orders 10000000 --merchants 200000 --work /tmp/bench-spark

The data and the DuckDB history are bench/run.py's (its ``prepare``: months M-2..M
generated, M-2 and M-1 graded with DuckDB). Setup, untimed: the same two history months
are graded once with ``--engine spark`` into a second prepared folder (its warehouse, its
lake and its dagster_home), on a two-worker cluster. Then, each in its own process
(wall time and peak RSS from ``wait4``, stage times from ``--timings``):

(a) ``grading run --from M --through M`` with DuckDB, on a copy of bench/run.py's
    prepared warehouse (its "end to end" part);
(b) the same with ``--engine spark`` on a local standalone cluster of ONE worker
    (1 core), on a copy of the Spark-prepared folder;
(c) the same on a fresh cluster of TWO workers (1 core each), on another copy.

The clusters are pipelines/spark_engine/standalone.py's, the tests' launcher: bound to
127.0.0.1 and stopped by process id. While a Spark run goes, the cluster's processes are
sampled (the master's JSON for the cores and memory granted, /proc for the executors'
and the driver's resident memory). Each run's published tables for month M are reduced
to a digest and compared with DuckDB's, so a fast but wrong run shows. The result is
bench/results/spark-<orders>-orders.json and a Markdown row; the scaling efficiency from
one worker to two is t1 / (2 * t2): 1.0 when two workers halve the time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
import urllib.request
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from bench.run import (
    RESULTS,
    grading,
    prepare,
    result_header,
    step_seconds,
    timed,
    write_result,
)
from pipelines.exports import OUTPUT_TABLES
from pipelines.months import add_months
from pipelines.spark_engine.standalone import (
    HOST,
    SparkCluster,
    java_available,
    standalone_cluster,
)

# The published tables of spec §8 (each has a month column) and the ingest counts: what
# tests/test_spark_engine.py holds equal between the engines, here as one digest each.
PUBLISHED_TABLES = OUTPUT_TABLES
INGEST_COUNTS = (
    "dataset, files, rows_read, exact_copies, rows_accepted, rows_quarantined, rows_digest"
)
SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class SparkSettings:
    """The memory and parallelism a Spark run is given (options of the benchmark).

    The defaults are chosen for a 10M-order month on a 24 GB, 2-core machine: two
    executors of 4 GB heap (each in a 5 GB worker; ~1 GB more resident per JVM), a 4 GB
    driver and DuckDB's own 4 GB in the grading process stay under ~20 GB, leaving room
    for the page cache and the OS. At 300K orders the executors peaked at ~1.9 GB each.
    """

    executor_memory: str = "4g"
    worker_memory: str = "5g"
    driver_memory: str = "4g"
    # What one toArrow may bring back: the window's feedback rows (~17M at 10M orders).
    driver_max_result: str = "3g"
    shuffle_partitions: int = 8
    worker_cores: int = 1

    def __post_init__(self) -> None:
        # A worker never starts an executor larger than its memory: the run would wait
        # for one forever instead of failing.
        if memory_mb(self.executor_memory) > memory_mb(self.worker_memory):
            raise ValueError(
                f"--executor-memory {self.executor_memory} exceeds --worker-memory "
                f"{self.worker_memory}: no worker could start the executor"
            )

    def conf_dir(self, work: Path) -> Path:
        """A Spark conf folder for the driver (spark-defaults.conf: set before its JVM
        starts, which the session's own settings cannot do for the driver's heap)."""
        folder = work / "spark-conf"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "spark-defaults.conf").write_text(
            f"spark.driver.memory {self.driver_memory}\n"
            f"spark.driver.maxResultSize {self.driver_max_result}\n",
            encoding="utf-8",
        )
        return folder

    def env(self, work: Path) -> dict[str, str]:
        """The grading process's environment for a Spark run."""
        return {
            "SPARK_LOCAL_IP": HOST,
            "SPARK_CONF_DIR": str(self.conf_dir(work)),
            "GRADING_SPARK_EXECUTOR_MEMORY": self.executor_memory,
            "GRADING_SPARK_SHUFFLE_PARTITIONS": str(self.shuffle_partitions),
        }


def memory_mb(size: str) -> int:
    """A JVM memory size ("512m", "4g") in MiB."""
    units = {"m": 1, "g": 1024, "t": 1024 * 1024}
    number, unit = size[:-1], size[-1:].lower()
    if unit not in units or not number.isdigit():
        raise ValueError(f"memory size {size!r}: expected a number and m, g or t (as 4g)")
    return int(number) * units[unit]


def scaling_efficiency(one_worker_seconds: float, two_workers_seconds: float) -> float:
    """t1 / (2 * t2): 1.0 when a second worker halves the time, 0.5 when it saves none."""
    return round(one_worker_seconds / (2 * two_workers_seconds), 3)


def published_digest(warehouse: Path, month: str) -> dict[str, list]:
    """Per published table of ``month``: its row count and the sum of its rows' hashes
    (order-free, cheap); and the same for the month's ingest counts. Equal digests mean
    equal tables, up to a hash collision."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        digest = {}
        for table in PUBLISHED_TABLES:
            digest[table] = list(
                con.execute(
                    f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR "
                    f"FROM main.{table} t WHERE month = $month",
                    {"month": month},
                ).fetchone()
            )
        digest["ingest_log"] = list(
            con.execute(
                f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR FROM "
                f"(SELECT {INGEST_COUNTS} FROM raw.ingest_log WHERE month = $month) t",
                {"month": month},
            ).fetchone()
        )
        return digest
    finally:
        con.close()


def differing_tables(digest: dict[str, list], reference: dict[str, list]) -> list[str]:
    """The tables whose digest differs from the reference's (empty: the same tables)."""
    return sorted(
        name for name in reference.keys() | digest.keys() if digest.get(name) != reference.get(name)
    )


def _processes() -> dict[int, tuple[int, int]]:
    """Every process's parent pid and resident bytes, from /proc (gone ones skipped)."""
    page = os.sysconf("SC_PAGE_SIZE")
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            found[int(entry.name)] = (int(fields[1]), int(fields[21]) * page)
    return found


def _is_executor(pid: int) -> bool:
    """Whether ``pid`` is an executor JVM (not a helper process a worker or executor ran)."""
    with suppress(OSError):
        return b"CoarseGrainedExecutorBackend" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def _descendants(roots: set[int], processes: dict[int, tuple[int, int]]) -> set[int]:
    """The processes below ``roots`` (not the roots themselves)."""
    below: set[int] = set()
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, (ppid, _) in processes.items() if ppid in frontier} - below
        below |= frontier
    return below


@dataclass
class ClusterSample:
    """What a Spark run was given and used, sampled every SAMPLE_SECONDS."""

    executors_seen: int = 0  # executor JVMs started during the run (a lost one is relaunched)
    cores_used_peak: int = 0
    memory_granted_mb_peak: int = 0
    executor_memory_mb: int = 0
    executors_peak_rss_gb: float = 0.0
    run_peak_rss_gb: float = 0.0
    samples: int = 0
    executor_pids: set[int] = field(default_factory=set)


class ClusterMonitor:
    """Samples a cluster while a Spark run goes: the master's view (cores and memory it
    granted to the application) and the resident memory of the executors (the workers'
    child processes) and of the run (this process's other children: grading, its
    driver JVM), each summed per sample."""

    def __init__(self, cluster: SparkCluster) -> None:
        self.cluster = cluster
        self.sample = ClusterSample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ClusterMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with suppress(OSError, ValueError):
                self._master_state()
            self._memory()
            self.sample.samples += 1

    def _master_state(self) -> None:
        with urllib.request.urlopen(f"{self.cluster.web_ui}/json/", timeout=2) as response:
            state = json.load(response)
        s = self.sample
        s.cores_used_peak = max(s.cores_used_peak, int(state.get("coresused", 0)))
        s.memory_granted_mb_peak = max(s.memory_granted_mb_peak, int(state.get("memoryused", 0)))
        for app in state.get("activeapps", []):
            per_executor = app.get("memoryperexecutor", app.get("memoryperslave", 0))
            s.executor_memory_mb = max(s.executor_memory_mb, int(per_executor))

    def _memory(self) -> None:
        processes = _processes()
        cluster_pids = {p.pid for p in self.cluster.processes}
        workers = cluster_pids - {self.cluster.processes[0].pid}
        executors = _descendants(workers, processes)
        cluster_tree = cluster_pids | _descendants(cluster_pids, processes)
        run = _descendants({os.getpid()}, processes) - cluster_tree
        s = self.sample
        s.executor_pids |= {p for p in executors - s.executor_pids if _is_executor(p)}
        s.executors_seen = len(s.executor_pids)
        gb = 1024**3
        s.executors_peak_rss_gb = max(
            s.executors_peak_rss_gb,
            round(sum(processes[p][1] for p in executors if p in processes) / gb, 3),
        )
        s.run_peak_rss_gb = max(
            s.run_peak_rss_gb, round(sum(processes[p][1] for p in run if p in processes) / gb, 3)
        )


def grade_command(landing: Path, folder: Path, month: str, *extra: str) -> list[str]:
    """``grading run`` of month M on the warehouse in ``folder``, with stage times."""
    return grading(
        "run", "--landing", str(landing), "--warehouse", str(folder / "w.duckdb"),
        "--outputs", str(folder / "outputs"), "--from", month, "--through", month,
        "--timings", *extra,
    )  # fmt: skip


def spark_options(cluster: SparkCluster, folder: Path) -> list[str]:
    return [
        "--engine",
        "spark",
        "--spark-master",
        cluster.master_url,
        "--lake",
        str(folder / "lake"),
    ]


def prepare_spark_history(
    landing: Path, work: Path, month: str, settings: SparkSettings
) -> dict[str, float]:
    """Grade the history months with --engine spark once (untimed setup): a warehouse, a
    lake holding the same months (the Spark ingest requires it) and a dagster_home."""
    prepared = work / "prepared-spark"
    if (prepared / "w.duckdb").is_file():
        return {}
    shutil.rmtree(prepared, ignore_errors=True)
    prepared.mkdir(parents=True)
    with standalone_cluster(
        work / "cluster-setup", workers=2, worker_memory=settings.worker_memory,
        worker_cores=settings.worker_cores,
    ) as cluster:  # fmt: skip
        run = timed(
            grading(
                "run", "--landing", str(landing), "--warehouse", str(prepared / "w.duckdb"),
                "--through", add_months(month, -1), *spark_options(cluster, prepared),
            ),
            env=settings.env(work),
        )  # fmt: skip
    return {"spark_prepare_seconds": run.seconds}


def fresh_copy(prepared: Path, run_dir: Path) -> None:
    """A copy of a prepared folder (warehouse, lake, dagster_home), flushed to disk so the
    timed run does not wait for the kernel to write it back (as bench/run.py does)."""
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(prepared, run_dir)
    os.sync()


def run_duckdb(landing: Path, work: Path, month: str) -> tuple[dict, dict[str, list]]:
    """(a): DuckDB end to end, as bench/run.py's first part."""
    run_dir = work / "runs" / "duckdb"
    fresh_copy(work / "prepared", run_dir)
    result = timed(grade_command(landing, run_dir, month))
    measured = {
        "seconds": result.seconds,
        "peak_rss_gb": result.peak_rss_gb,
        "stages": step_seconds(result.stdout),
    }
    return measured, published_digest(run_dir / "w.duckdb", month)


def run_spark(
    landing: Path, work: Path, month: str, workers: int, settings: SparkSettings
) -> tuple[dict, dict[str, list]]:
    """(b), (c): the Spark engine on a fresh cluster of ``workers`` workers."""
    run_dir = work / "runs" / f"spark-{workers}"
    fresh_copy(work / "prepared-spark", run_dir)
    cluster_dir = work / f"cluster-{workers}"
    with (
        standalone_cluster(
            cluster_dir, workers, settings.worker_memory, settings.worker_cores
        ) as cluster,
        ClusterMonitor(cluster) as monitor,
    ):
        result = timed(
            grade_command(landing, run_dir, month, *spark_options(cluster, run_dir)),
            env=settings.env(work),
        )
    if not (run_dir / "lake" / "raw" / "orders" / f"month={month}").is_dir():
        raise RuntimeError(f"the Spark run left no lake partition for {month}:\n{result.stdout}")
    sample = monitor.sample
    measured = {
        "workers": workers,
        "seconds": result.seconds,
        "peak_rss_gb": result.peak_rss_gb,
        "stages": step_seconds(result.stdout),
        "cluster": {
            "worker_cores": settings.worker_cores,
            "worker_memory": settings.worker_memory,
            "executor_memory": settings.executor_memory,
            "driver_memory": settings.driver_memory,
            "shuffle_partitions": settings.shuffle_partitions,
            "master_cores_used_peak": sample.cores_used_peak,
            "master_memory_granted_mb_peak": sample.memory_granted_mb_peak,
            "master_executor_memory_mb": sample.executor_memory_mb,
            "executor_processes": sample.executors_seen,
            "executors_peak_rss_gb_sampled": sample.executors_peak_rss_gb,
            "run_peak_rss_gb_sampled": sample.run_peak_rss_gb,
            "samples": sample.samples,
        },
    }
    return measured, published_digest(run_dir / "w.duckdb", month)


def run_benchmark(args: argparse.Namespace) -> dict:
    if not java_available():
        raise SystemExit("the Spark benchmark needs Java 17+ (`java` is not on PATH)")
    work = args.work.resolve()
    landing = work / "landing"
    month = args.month
    settings = SparkSettings(
        executor_memory=args.executor_memory,
        worker_memory=args.worker_memory,
        driver_memory=args.driver_memory,
        driver_max_result=args.driver_max_result,
        shuffle_partitions=args.shuffle_partitions,
    )
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    setup = prepare(landing, work, args.merchants, args.orders, month, args.seed, args.history)
    setup |= prepare_spark_history(landing, work, month, settings)

    duck, duck_digest = run_duckdb(landing, work, month)
    if not args.keep_runs:
        shutil.rmtree(work / "runs" / "duckdb", ignore_errors=True)
    runs, same = {}, {}
    for workers in (1, 2):
        runs[workers], digest = run_spark(landing, work, month, workers, settings)
        same[workers] = differing_tables(digest, duck_digest)
        if not args.keep_runs:
            shutil.rmtree(work / "runs" / f"spark-{workers}", ignore_errors=True)

    t1, t2 = runs[1]["seconds"], runs[2]["seconds"]
    return {
        **result_header(args, landing, month, setup),
        "spark": _spark_version(),
        "settings": asdict(settings),
        "duckdb": duck,
        "spark_1_worker": runs[1],
        "spark_2_workers": runs[2],
        "same_tables_as_duckdb": {
            "1_worker": not same[1],
            "2_workers": not same[2],
            "differing": {"1_worker": same[1], "2_workers": same[2]},
            "duckdb_digest": duck_digest,
        },
        "ratios": {
            "scaling_efficiency_1_to_2_workers": scaling_efficiency(t1, t2),
            "speedup_1_to_2_workers": round(t1 / t2, 3),
            "spark_1_worker_over_duckdb": round(t1 / duck["seconds"], 2),
            "spark_2_workers_over_duckdb": round(t2 / duck["seconds"], 2),
        },
        "harness_seconds": round(time.monotonic() - started, 1),
    }


def _spark_version() -> str:
    import pyspark

    return pyspark.__version__


def markdown_row(result: dict) -> str:
    """| orders | merchants | DuckDB s | Spark 1 worker s | Spark 2 workers s | efficiency |
    same tables |"""
    same = result["same_tables_as_duckdb"]
    verdict = "yes" if same["1_worker"] and same["2_workers"] else "NO"
    return (
        f"| {result['orders_per_month']:,} | {result['merchants']:,} "
        f"| {result['duckdb']['seconds']:.1f} | {result['spark_1_worker']['seconds']:.1f} "
        f"| {result['spark_2_workers']['seconds']:.1f} "
        f"| {result['ratios']['scaling_efficiency_1_to_2_workers']:.2f} | {verdict} |"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.spark", description=__doc__.split("\n")[0]
    )
    defaults = SparkSettings()
    parser.add_argument("--merchants", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=10_000_000, help="orders per month")
    parser.add_argument("--month", default="2026-03", help="the timed month M")
    parser.add_argument("--work", type=Path, required=True, help="folder for data and warehouses")
    parser.add_argument("--out", type=Path, default=None, help="result JSON file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--history", type=int, default=2, help="months graded before M")
    parser.add_argument(
        "--executor-memory", default=defaults.executor_memory,
        help="each executor's heap (GRADING_SPARK_EXECUTOR_MEMORY)",
    )  # fmt: skip
    parser.add_argument(
        "--worker-memory", default=defaults.worker_memory,
        help="what each worker may grant its executors (at least --executor-memory)",
    )  # fmt: skip
    parser.add_argument(
        "--driver-memory", default=defaults.driver_memory,
        help="the driver's heap (in the grading process's JVM)",
    )  # fmt: skip
    parser.add_argument(
        "--driver-max-result", default=defaults.driver_max_result,
        help="spark.driver.maxResultSize: the most one query hands the driver",
    )  # fmt: skip
    parser.add_argument(
        "--shuffle-partitions", type=int, default=defaults.shuffle_partitions,
        help="spark.sql.shuffle.partitions (GRADING_SPARK_SHUFFLE_PARTITIONS)",
    )  # fmt: skip
    parser.add_argument(
        "--keep-runs", action="store_true", help="keep each Spark run's warehouse and lake"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run_benchmark(args)
    out = args.out or RESULTS / f"spark-{args.orders}-orders.json"
    write_result(result, out, markdown_row(result))
    same = result["same_tables_as_duckdb"]
    return 0 if same["1_worker"] and same["2_workers"] else 1


if __name__ == "__main__":
    sys.exit(main())
