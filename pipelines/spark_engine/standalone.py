"""A local standalone Spark cluster: one master and N workers, on 127.0.0.1.

The tests' cluster (tests/conftest.py: two workers, 1 core and 1 GB each) and the Spark
benchmark's (bench/spark.py: one or two workers, with the memory a large month needs)
are the same launcher, so the benchmark measures the cluster the tests trust.

Started from the pyspark package's own launch script (``bin/spark-class``) with the
standalone master and worker classes, each in its own process group, and stopped by
those process ids at the end. Everything binds to 127.0.0.1: ``SPARK_LOCAL_IP`` and
``--host`` (a worker otherwise advertises the machine's public interface).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
WORKERS = 2
WORKER_CORES = 1
WORKER_MEMORY = "1g"
START_TIMEOUT_SECONDS = 120.0


@dataclass
class SparkCluster:
    """A running standalone cluster: its master URL and the processes to stop."""

    master_url: str
    web_ui: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: Path | None = None

    def alive_workers(self) -> int:
        """Workers the master lists as ALIVE (its web UI's JSON)."""
        with urllib.request.urlopen(f"{self.web_ui}/json/", timeout=5) as response:
            state = json.load(response)
        return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")


def java_available() -> bool:
    return shutil.which("java") is not None


def spark_home() -> Path:
    """The pyspark package folder: it holds bin/spark-class and the jars."""
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def cluster_env(work: Path) -> dict[str, str]:
    """The environment of the cluster's processes: bound to 127.0.0.1, logs under ``work``."""
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_LOCAL_IP=HOST,
        SPARK_LOCAL_HOSTNAME=HOST,
        SPARK_WORKER_DIR=str(work / "worker"),
        SPARK_LOG_DIR=str(work / "logs"),
    )
    return env


@contextmanager
def standalone_cluster(
    work: Path,
    workers: int = WORKERS,
    worker_memory: str = WORKER_MEMORY,
    worker_cores: int = WORKER_CORES,
) -> Iterator[SparkCluster]:
    """A master and ``workers`` workers (``worker_cores`` cores and ``worker_memory`` each,
    the most its executors may take); stopped on exit by pid."""
    work.mkdir(parents=True, exist_ok=True)
    env = cluster_env(work)
    spark_class = str(spark_home() / "bin" / "spark-class")
    port, ui_port = free_port(), free_port()
    master_url = f"spark://{HOST}:{port}"
    cluster = SparkCluster(master_url, f"http://{HOST}:{ui_port}", logs=work)
    try:
        cluster.processes.append(
            _launch(
                [spark_class, "org.apache.spark.deploy.master.Master", "--host", HOST,
                 "--port", str(port), "--webui-port", str(ui_port)],
                env, work / "master.log",
            )
        )  # fmt: skip
        for index in range(workers):
            cluster.processes.append(
                _launch(
                    [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", HOST,
                     "--webui-port", str(free_port()), "--cores", str(worker_cores),
                     "--memory", worker_memory,
                     "--work-dir", str(work / f"worker-{index}"), master_url],
                    env, work / f"worker-{index}.log",
                )
            )  # fmt: skip
        _wait_for_workers(cluster, workers)
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            _stop(process)


def _launch(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """One cluster process in a new process group (spark-class execs java in it)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_for_workers(cluster: SparkCluster, workers: int) -> None:
    """Until the master lists every worker ALIVE; a process that died stops the wait."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        dead = [p for p in cluster.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(
                f"a Spark cluster process exited ({dead[0].args[1]}): see {cluster.logs}"
            )
        with suppress(OSError, ValueError):
            if cluster.alive_workers() >= workers:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{workers} Spark workers did not register in time: see {cluster.logs}")


def _stop(process: subprocess.Popen) -> None:
    """Stop a cluster process by its process group id: TERM, then KILL after 20 s."""
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class SparkConnectServer:
    """A running Spark Connect server: its ``sc://`` URL and the process to stop."""

    url: str
    process: subprocess.Popen
    log: Path


# The Python Connect client's own dependencies (pyspark's `connect` extra), beyond
# pandas, pyarrow and grpcio: the import name of each and its package.
CONNECT_CLIENT_MODULES = {
    "grpc_status": "grpcio-status",
    "google.rpc": "googleapis-common-protos",
    "zstandard": "zstandard",
}


def missing_connect_client_packages() -> list[str]:
    """The packages the Spark Connect client needs and cannot import here."""
    import importlib

    missing = []
    for module, package in CONNECT_CLIENT_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


@contextmanager
def spark_connect_server(work: Path, master_url: str) -> Iterator[SparkConnectServer]:
    """A Spark Connect server (pyspark's own spark-connect jar, through spark-submit)
    whose driver runs on the standalone cluster at ``master_url``, listening on
    127.0.0.1 only; stopped by its process group id on exit."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        str(spark_home() / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--name", "grading-tests-connect", "--master", master_url,
        "--conf", f"spark.connect.grpc.binding.address={HOST}",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", f"spark.driver.host={HOST}",
        "--conf", f"spark.driver.bindAddress={HOST}",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.executor.memory=768m",
        "--conf", f"spark.local.dir={work / 'local'}",
    ]  # fmt: skip
    log = work / "connect-server.log"
    process = _launch(command, cluster_env(work), log)
    try:
        _wait_for_port(process, port, log)
        yield SparkConnectServer(f"sc://{HOST}:{port}", process, log)
    finally:
        _stop(process)


def _wait_for_port(process: subprocess.Popen, port: int, log: Path) -> None:
    """Until the server accepts connections on ``port``; its exit stops the wait."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Spark Connect server exited: see {log}")
        with suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.5)
    raise RuntimeError(f"the Spark Connect server did not listen in time: see {log}")
