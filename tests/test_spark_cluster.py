"""The tests' standalone Spark cluster: two workers on 127.0.0.1 run one session's job."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.spark


def test_cluster_has_two_workers_bound_to_localhost(spark_cluster) -> None:
    assert spark_cluster.master_url.startswith("spark://127.0.0.1:")
    assert spark_cluster.alive_workers() == 2


def test_session_runs_a_job_on_the_cluster(spark, spark_cluster) -> None:
    """A job runs on the cluster's executors, not in a local master."""
    assert spark.sparkContext.master == spark_cluster.master_url
    total = spark.range(0, 1000, numPartitions=4).selectExpr("sum(id)").collect()[0][0]
    assert total == 499500
    executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
    assert executors >= 2  # the driver's block manager and at least one executor
