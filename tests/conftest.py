"""Shared fixtures: a fresh warehouse connection, an empty landing folder, and the
conformance fixture graded once per session for tests to copy.

Helpers that tests import (CSV writers, row builders, column lists) live in tests/helpers.py.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.warehouse import connect
from tests.helpers import CONFORMANCE, headless_chromium

warnings.filterwarnings("ignore", module="dagster")
# The tests' code location starts its partitions at the shipped calendar's first month,
# whatever the checkout's data/ folder holds (by default they start at its first month).
os.environ.setdefault("GRADING_FIRST_MONTH", "2024-01")


SPARK_FIXTURES = frozenset({"spark", "spark_cluster"})
# The modules whose tests use the standalone Spark cluster (the fixtures above); checked at
# collection, so a Spark test in another module is an error, not a second cluster.
SPARK_MODULES = frozenset(
    {
        "test_feedback_period_counts.py",
        "test_spark_checks.py",
        "test_spark_cluster.py",
        "test_spark_connect.py",
        "test_spark_duplicate_keys.py",
        "test_spark_engine.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the Spark cluster must live in one of ``SPARK_MODULES``, which
    ``make test``'s workers run as one unit (``pytest_xdist_make_scheduler``)."""
    strays = sorted(
        item.nodeid
        for item in items
        if SPARK_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.path.name not in SPARK_MODULES
    )
    if strays:
        raise pytest.UsageError(
            f"tests on the Spark cluster outside tests/conftest.py's SPARK_MODULES: {strays}"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``make test`` runs two pytest-xdist workers with ``--dist loadfile``: a module's
    tests stay on one worker, so its module fixtures (a graded warehouse, a browser, a
    Spark Connect server) are built once. Here the Spark modules count as one file, so one
    standalone cluster (master, two workers and a driver: four JVMs) serves them all, as
    in a serial run, instead of one per worker. Other ``--dist`` modes are xdist's own.

    (xdist's ``loadgroup`` marks cannot do it under pytest 9: its worker renames
    ``item._nodeid``, which pytest 9 no longer reads.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SparkModulesAsOneFile(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "spark-cluster" if Path(path).name in SPARK_MODULES else path

    return SparkModulesAsOneFile(config, log)


@pytest.fixture
def con(tmp_path: Path):
    connection = connect(tmp_path / "warehouse.duckdb")
    yield connection
    connection.close()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def published_conformance(tmp_path_factory) -> Callable[[str], Path]:
    """``published_conformance(through)``: a folder holding a copy of the conformance
    landing graded through ``through`` (landing/, w.duckdb, out/), graded once per session.
    Tests must not change it: take a ``tests.helpers.private_copy`` first."""
    graded: dict[str, Path] = {}

    def published(through: str) -> Path:
        # Imported here: the code location reads GRADING_FIRST_MONTH (set above) at import.
        from assets.runner import grade_months

        if through not in graded:
            root = tmp_path_factory.mktemp(f"published-{through}")
            shutil.copytree(CONFORMANCE / "landing", root / "landing")
            grade_months(root / "landing", root / "w.duckdb", root / "out", through)
            graded[through] = root
        return graded[through]

    return published


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A standalone Spark master and two workers on 127.0.0.1, for the whole test session
    (pipelines/spark_engine/standalone.py); stopped by their process ids at the end."""
    from pipelines.spark_engine.standalone import java_available, standalone_cluster

    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if not java_available():
        pytest.fail("the Spark tests need Java 17+ (`.ci/run` installs openjdk-17-jre-headless)")
    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def spark(spark_cluster):
    """The one Spark session of the test session, on the local standalone cluster (sessions
    take seconds to start). The engine's own session cache hands it to the pipeline."""
    import os

    from pipelines.spark_engine.session import spark_session, stop_sessions

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = spark_session(spark_cluster.master_url)
    yield session
    stop_sessions()


@pytest.fixture(scope="module")
def browser():
    """Headless chromium for a module's browser tests (tests.helpers.headless_chromium)."""
    with headless_chromium() as launched:
        yield launched
