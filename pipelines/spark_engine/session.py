"""One Spark session per process, for a cluster URL: ``spark://host:port`` (a standalone
master, the driver runs here) or ``sc://host:port`` (Spark Connect: the driver runs on the
cluster, this process is a thin client).

Sessions take seconds to start, so the first one is kept and reused by every month of a
run (and every test of a test session). pyspark is the optional ``spark`` extra: it is
imported only when the Spark engine is asked for.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import TYPE_CHECKING

from pipelines.env_settings import count_setting, seconds_setting, spark_memory_setting

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ENGINES = ("duckdb", "spark")
SPARK_MASTER_SCHEMES = ("spark://", "sc://", "local")
# Small months: a few shuffle partitions; a large cluster sets its own (adaptive) value.
# Refused as the module loads when not a whole number of at least 1: Spark took "abc"
# or "0" as the session was built, then failed its first query with a Java traceback
# ("Error while instantiating 'org.apache.spark.sql.internal.SessionStateBuilder'").
DEFAULT_SHUFFLE_PARTITIONS = str(
    count_setting(
        "GRADING_SPARK_SHUFFLE_PARTITIONS",
        4,
        "a number of partitions",
        "spark.sql.shuffle.partitions; a large cluster takes more",
    )
)

# How long a cluster's port may take to accept a connection before the run is refused.
REACH_TIMEOUT_SECONDS = seconds_setting("GRADING_SPARK_REACH_TIMEOUT", 10.0)
# How long a standalone cluster may take to give a new session its first executor.
EXECUTOR_WAIT_SECONDS = seconds_setting("GRADING_SPARK_EXECUTOR_WAIT", 600.0)
# Each executor's memory, in Spark's own syntax (768m, 2g), for Spark to read. Spark
# refuses an executor of less than 1.5 times the 300 MiB it reserves (UnifiedMemoryManager),
# in the driver as the session starts.
SPARK_LEAST_EXECUTOR_MIB = 450
EXECUTOR_MEMORY = spark_memory_setting(
    "GRADING_SPARK_EXECUTOR_MEMORY", "768m", SPARK_LEAST_EXECUTOR_MIB
)
DEFAULT_PORTS = {"spark://": 7077, "sc://": 15002}
PROXY_VARIABLES = tuple(
    name for lower in ("grpc_proxy", "https_proxy", "http_proxy") for name in (lower, lower.upper())
)

_LOCK = threading.Lock()
_SESSIONS: dict[str, SparkSession] = {}


class SparkUnavailable(RuntimeError):
    """The Spark engine was asked for but cannot run here; the message says what to install."""


def check_engine(engine: str, spark_master: str) -> None:
    """Refuse an unknown engine, or the Spark engine without a usable master URL."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine == "spark" and not spark_master.startswith(SPARK_MASTER_SCHEMES):
        raise ValueError(
            f"--engine spark needs --spark-master spark://HOST:PORT or sc://HOST:PORT "
            f"(GRADING_SPARK_MASTER), got {spark_master!r}"
        )


def cluster_addresses(master: str) -> list[tuple[str, int]]:
    """The (host, port) pairs of a ``spark://`` or ``sc://`` URL (a standalone master may
    list several, ``spark://h1:7077,h2:7077``); none for a local master."""
    for scheme, default_port in DEFAULT_PORTS.items():
        if master.startswith(scheme):
            # sc://host:port/;token=...: the address ends at the first '/' or ';'.
            authority = master[len(scheme) :].split("/", 1)[0].split(";", 1)[0]
            authority = authority.rpartition("@")[2]  # sc://user@host:port
            addresses = []
            for part in authority.split(","):
                host, colon, port = part.strip().rpartition(":")
                if not colon or not port.isdigit():
                    host, port = part.strip(), str(default_port)
                addresses.append((host.strip("[]"), int(port)))
            return addresses
    return []


def refuse_unreachable(master: str, timeout: float = REACH_TIMEOUT_SECONDS) -> None:
    """Refuse a cluster none of whose addresses accepts a connection within ``timeout``.

    A Spark Connect client given a host that does not resolve or answer retries for many
    minutes in silence (a review, 2026-12-06: over ten minutes with nothing printed), and
    a standalone master's client for a minute or more; a scheduler's run then looks hung.
    Not probed through a proxy: a Spark Connect client (gRPC) reaches its server through
    ``grpc_proxy``/``https_proxy``/``http_proxy`` when set, where a direct connection
    may be refused though the cluster is there.
    """
    if master.startswith("sc://") and any(os.environ.get(name) for name in PROXY_VARIABLES):
        return
    reasons = []
    for host, port in cluster_addresses(master):
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return
        except OSError as exc:
            reasons.append(f"{host}:{port}: {exc.strerror or exc}")
    if reasons:
        raise SparkUnavailable(
            f"cannot reach the Spark cluster at {master} ({'; '.join(reasons)}): is it "
            f"running, and is --spark-master (GRADING_SPARK_MASTER) its address?"
        )


def spark_session(master: str) -> SparkSession:
    """The process's session on ``master``, started on first use.

    Timestamps are naive UTC throughout (the warehouse's convention), so the session's
    time zone is UTC; Parquet timestamps are written as INT64 microseconds, which DuckDB
    and every Parquet reader read as they are.
    """
    with _LOCK:
        session = _SESSIONS.get(master)
        if session is not None:
            return session
        refuse_unreachable(master)
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise SparkUnavailable(
                "the Spark engine needs the spark extra: pip install 'merchant-grading[spark]'"
            ) from exc
        builder = SparkSession.builder.appName("merchant-grading")
        if master.startswith("sc://"):
            builder = builder.remote(master)
        else:
            builder = builder.master(master)
            # The driver binds where the cluster does (the tests: 127.0.0.1); a local
            # master has no one else to reach it, so it stays on 127.0.0.1.
            local_ip = os.environ.get("SPARK_LOCAL_IP") or (
                "127.0.0.1" if master.startswith("local") else ""
            )
            if local_ip:
                builder = builder.config("spark.driver.host", local_ip).config(
                    "spark.driver.bindAddress", local_ip
                )
            builder = (
                builder.config("spark.executor.memory", EXECUTOR_MEMORY)
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
            )
        for key, value in {
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": DEFAULT_SHUFFLE_PARTITIONS,
            "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
            "spark.sql.ansi.enabled": "true",
            # Spark cannot read a Parquet TIMESTAMP(NANOS) (pandas' default unit) and failed
            # naming neither file nor column: read as its long, the ingest cuts it to
            # microseconds as the DuckDB engine does (ingest._micros_from_nanos).
            "spark.sql.legacy.parquet.nanosAsLong": "true",
        }.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        if master.startswith("spark://"):
            wait_for_an_executor(session, master)
        _SESSIONS[master] = session
        return session


def wait_for_an_executor(
    session: SparkSession, master: str, timeout: float = EXECUTOR_WAIT_SECONDS
) -> None:
    """Wait until the standalone cluster gives ``session`` an executor; stop the session
    and refuse the run when none comes within ``timeout``.

    A standalone master keeps an application that no worker can serve waiting for good:
    executors asking for more memory than any worker has (``GRADING_SPARK_EXECUTOR_MEMORY
    =4g`` on 1g workers), or every core held by other applications. The run's first query
    then waited with nothing printed, past any time a person would wait (found listing the
    settings, 2026-12-08). On a busy shared cluster, a longer wait may be what is wanted:
    ``GRADING_SPARK_EXECUTOR_WAIT``.
    """
    status = session.sparkContext._jsc.sc()
    deadline = time.monotonic() + timeout
    while status.getExecutorMemoryStatus().size() < 2:  # the driver is one of them
        if time.monotonic() >= deadline:
            session.stop()
            raise SparkUnavailable(
                f"the Spark cluster at {master} gave this run no executor within "
                f"{timeout:g} s: no worker had a free core and {EXECUTOR_MEMORY} of memory "
                f"free (GRADING_SPARK_EXECUTOR_MEMORY={EXECUTOR_MEMORY}), or other "
                f"applications hold them; free or add a worker, ask for less memory, or "
                f"wait longer (GRADING_SPARK_EXECUTOR_WAIT)"
            )
        time.sleep(0.2)


def stop_sessions() -> None:
    """Stop every session this process started (the tests' teardown)."""
    with _LOCK:
        for session in _SESSIONS.values():
            session.stop()
        _SESSIONS.clear()
