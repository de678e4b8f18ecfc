"""``--spark-master sc://...``: the pipeline as a Spark Connect client gives DuckDB's tables.

A Spark Connect server (pyspark's own spark-connect jar) runs its driver on a standalone
cluster of its own (a master and one worker on 127.0.0.1): the session-wide test cluster's
cores are held by the test session's classic Spark application, and a second application
there would wait for executors forever. The grading process is then a thin gRPC client;
the server reads the landing files and writes the lake, on this same machine. The client
is the ``grading`` command in a process of its own, as a user runs it: one process cannot
hold a Connect session beside the test session's classic one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import CONFORMANCE, cli_command
from tests.test_spark_engine import assert_same_tables, grade


@pytest.fixture(scope="module")
def spark_connect(tmp_path_factory: pytest.TempPathFactory):
    """The ``sc://127.0.0.1:PORT`` URL of a Spark Connect server on its own standalone
    cluster; the server and the cluster are stopped by their process ids at the end."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from pipelines.spark_engine.standalone import (
        java_available,
        missing_connect_client_packages,
        spark_connect_server,
        standalone_cluster,
    )

    if not java_available():
        pytest.fail("the Spark tests need Java 17+ (`.ci/run` installs openjdk-17-jre-headless)")
    missing = missing_connect_client_packages()
    if missing:
        pytest.skip(f"the Spark Connect client needs {', '.join(missing)} (the spark extra)")
    work = tmp_path_factory.mktemp("spark-connect")
    with (
        standalone_cluster(work / "cluster", workers=1) as cluster,
        spark_connect_server(work / "server", cluster.master_url) as server,
    ):
        yield server.url


@pytest.mark.spark
def test_conformance_fixture_through_spark_connect_equals_duckdb(
    spark_connect: str, tmp_path: Path
) -> None:
    landing = CONFORMANCE / "landing"
    assert spark_connect.startswith("sc://127.0.0.1:")
    grade(landing, tmp_path, "2026-03", "duckdb")
    command = cli_command(
        "run", "--landing", str(landing), "--warehouse", str(tmp_path / "spark.duckdb"),
        "--outputs", str(tmp_path / "spark-outputs"), "--through", "2026-03", "--create",
        "--engine", "spark", "--spark-master", spark_connect, "--lake", str(tmp_path / "lake"),
    )  # fmt: skip
    graded = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert graded.returncode == 0, graded.stdout[-2000:] + graded.stderr[-3000:]
    published = assert_same_tables(tmp_path)
    assert published["merchant_grades"].height > 0
    assert published["quarantine"].height > 0
    assert list((tmp_path / "lake" / "_staging").glob("month=*")) == []
