"""The Spark benchmark's arithmetic and its check of the published tables (bench/spark.py).

The benchmark itself (a generated month graded on DuckDB and on one- and two-worker
clusters) is run by hand; these only hold what it computes and records.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.spark import (
    PUBLISHED_TABLES,
    SparkSettings,
    differing_tables,
    markdown_row,
    memory_mb,
    published_digest,
    scaling_efficiency,
)
from pipelines.warehouse import connect


def test_scaling_efficiency_is_t1_over_twice_t2() -> None:
    assert scaling_efficiency(100.0, 50.0) == 1.0  # two workers halve the time
    assert scaling_efficiency(100.0, 100.0) == 0.5  # the second worker saves nothing
    assert scaling_efficiency(90.0, 60.0) == 0.75


def _warehouse(path: Path, grades: list[tuple[str, str, int]]) -> Path:
    con = connect(path)
    con.executemany(
        "INSERT INTO main.merchant_grades (month, merchant_id, level) VALUES (?, ?, ?)", grades
    )
    con.close()
    return path


def test_digest_ignores_row_order_and_sees_a_changed_value(tmp_path: Path) -> None:
    rows = [("2026-03", "M1", 3), ("2026-03", "M2", 5), ("2026-02", "M1", 1)]
    duck = published_digest(_warehouse(tmp_path / "a.duckdb", rows), "2026-03")
    reordered = published_digest(_warehouse(tmp_path / "b.duckdb", rows[::-1]), "2026-03")
    assert set(duck) == {*PUBLISHED_TABLES, "ingest_log"}
    assert duck["merchant_grades"][0] == 2  # month M's rows only
    assert differing_tables(reordered, duck) == []

    changed = [("2026-03", "M1", 3), ("2026-03", "M2", 4), ("2026-02", "M1", 1)]
    wrong = published_digest(_warehouse(tmp_path / "c.duckdb", changed), "2026-03")
    assert differing_tables(wrong, duck) == ["merchant_grades"]
    # another month's difference is not month M's
    other = [("2026-03", "M1", 3), ("2026-03", "M2", 5), ("2026-02", "M1", 2)]
    assert (
        differing_tables(
            published_digest(_warehouse(tmp_path / "d.duckdb", other), "2026-03"), duck
        )
        == []
    )


def test_markdown_row_says_when_a_spark_run_published_other_tables() -> None:
    result = {
        "orders_per_month": 10_000_000,
        "merchants": 200_000,
        "duckdb": {"seconds": 60.04},
        "spark_1_worker": {"seconds": 400.0},
        "spark_2_workers": {"seconds": 250.0},
        "ratios": {"scaling_efficiency_1_to_2_workers": scaling_efficiency(400.0, 250.0)},
        "same_tables_as_duckdb": {"1_worker": True, "2_workers": True},
    }
    assert markdown_row(result) == "| 10,000,000 | 200,000 | 60.0 | 400.0 | 250.0 | 0.80 | yes |"
    result["same_tables_as_duckdb"]["2_workers"] = False
    assert markdown_row(result).endswith("| NO |")


def test_spark_settings_reach_the_driver_and_the_executors(tmp_path: Path) -> None:
    settings = SparkSettings(executor_memory="3g", driver_memory="2g", shuffle_partitions=6)
    env = settings.env(tmp_path)
    assert env["GRADING_SPARK_EXECUTOR_MEMORY"] == "3g"
    assert env["GRADING_SPARK_SHUFFLE_PARTITIONS"] == "6"
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1"
    defaults = (Path(env["SPARK_CONF_DIR"]) / "spark-defaults.conf").read_text()
    assert "spark.driver.memory 2g\n" in defaults


def test_an_executor_larger_than_its_worker_is_refused() -> None:
    assert memory_mb("512m") == 512 and memory_mb("5G") == 5120
    with pytest.raises(ValueError, match="exceeds --worker-memory 5g"):
        SparkSettings(executor_memory="6g", worker_memory="5g")
    with pytest.raises(ValueError, match="memory size '4gb'"):
        SparkSettings(executor_memory="4gb")
