"""Numbers from GRADING_* environment variables (pipelines/env_settings.py): each read as
its module loads, each refused in one line naming the variable when it cannot be used.

``GRADING_LOCK_TIMEOUT=abc`` ended ``grading summary`` in a traceback from
``float("abc")`` at import (found after the memory review, 2026-12-07, which fixed the
rows-at-once settings; tests/test_memory_limit.py runs those through ``grading run``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.env_settings import (
    SettingInvalid,
    count_setting,
    rows_setting,
    seconds_setting,
    spark_memory_setting,
)
from tests.helpers import CONFORMANCE, environment_with, private_copy, run_cli_with

NAME = "GRADING_TEST_SETTING"


@pytest.fixture
def setting(monkeypatch):
    """``setting(value)``: the variable NAME set to ``value``, or unset for None."""

    def set_value(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv(NAME, raising=False)
        else:
            monkeypatch.setenv(NAME, value)

    return set_value


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 7), ("", 7), ("  ", 7), ("1", 1), ("1_000", 1000), (" 42 ", 42)]
)
def test_a_count_of_rows_is_taken_from_one_up(setting, value, expected):
    setting(value)
    assert rows_setting(NAME, 7) == expected


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", "1e6"])
def test_a_count_of_rows_below_one_or_not_whole_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(NAME, value)
    with pytest.raises(SettingInvalid, match=f"^{NAME}='{value}' is not a number of rows"):
        rows_setting(NAME, 7)


def test_a_count_names_what_it_counts_when_refused(setting):
    setting("0")
    with pytest.raises(SettingInvalid) as refused:
        count_setting(NAME, 4, "a number of partitions", "shuffle partitions")
    assert str(refused.value) == (
        f"{NAME}='0' is not a number of partitions: set it to a whole number of at least 1 "
        "(shuffle partitions), or unset it for the default of 4"
    )
    setting("12")
    assert count_setting(NAME, 4, "a number of partitions", "shuffle partitions") == 12


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 30.0), ("", 30.0), ("0", 0.0), ("2.5", 2.5), ("600", 600.0)]
)
def test_seconds_are_taken_from_zero_up(setting, value, expected):
    setting(value)
    assert seconds_setting(NAME, 30.0) == expected


@pytest.mark.parametrize("value", ["-0.1", "abc", "nan", "inf", "30s"])
def test_seconds_below_zero_or_not_finite_are_refused_naming_the_variable(setting, value):
    setting(value)
    with pytest.raises(SettingInvalid, match=f"^{NAME}='{value}' is not a number of seconds"):
        seconds_setting(NAME, 30.0)


@pytest.mark.parametrize("value", ["abc", "-5"])
def test_a_lock_timeout_that_is_not_seconds_ends_a_command_in_one_line(
    published_conformance, tmp_path, value
):
    """Read as the warehouse module loads: before, a traceback from float()."""
    _, warehouse, _ = private_copy(published_conformance("2026-01"), tmp_path / "p")
    env = environment_with({"GRADING_LOCK_TIMEOUT": value})
    result = run_cli_with(env, tmp_path, "summary", "--warehouse", str(warehouse))
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr == (
        f"grading: GRADING_LOCK_TIMEOUT={value!r} is not a number of seconds: set it to 0 or "
        "more (like 30 or 2.5), or unset it for the default of 30\n"
    )
    env["GRADING_LOCK_TIMEOUT"] = "5"
    ok = run_cli_with(env, tmp_path, "summary", "--warehouse", str(warehouse))
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "2026-01" in ok.stdout


def _run_refused(tmp_path: Path, settings: dict[str, str], *options: str) -> str:
    """``grading run`` of the conformance January under ``settings`` (no other GRADING_*
    variable): refused, making nothing; its stderr."""
    env = environment_with(settings)
    landing = str(CONFORMANCE / "landing")
    warehouse = tmp_path / "w.duckdb"
    result = run_cli_with(
        env,
        tmp_path,
        "run",
        *options,
        *("--landing", landing, "--warehouse", str(warehouse), "--through", "2026-01"),
        "--create",
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert not warehouse.exists()
    return result.stderr


@pytest.mark.parametrize("value", ["abc", "0"])
def test_spark_shuffle_partitions_that_are_not_a_count_end_a_run_in_one_line(tmp_path, value):
    """Spark took these as its session was built and failed the first query with a Java
    traceback; now the run is refused as the code location loads, before any Spark."""
    stderr = _run_refused(
        tmp_path,
        {"GRADING_SPARK_SHUFFLE_PARTITIONS": value},
        *("--engine", "spark", "--spark-master", "spark://127.0.0.1:1"),
    )
    assert stderr == (
        f"grading: GRADING_SPARK_SHUFFLE_PARTITIONS={value!r} is not a number of partitions: "
        "set it to a whole number of at least 1 (spark.sql.shuffle.partitions; a large "
        "cluster takes more), or unset it for the default of 4\n"
    )


@pytest.mark.parametrize("value", ["768m", "450m", "471859200b", "2g", " 4GB ", "4gib", "2047t"])
def test_a_spark_memory_size_is_taken_as_written(setting, value):
    setting(value)
    assert spark_memory_setting(NAME, "768m", 450) == value.strip()


@pytest.mark.parametrize(
    "value", ["abc", "1.5g", "512", "449m", "471859199b", "4 g", "-1g", "4gibi", "2048t"]
)
def test_a_spark_memory_size_spark_would_refuse_is_refused_naming_the_variable(setting, value):
    setting(value)
    with pytest.raises(SettingInvalid) as refused:
        spark_memory_setting(NAME, "768m", 450)
    assert str(refused.value) == (
        f"{NAME}={value.strip()!r} is not a memory size Spark takes: set it to a whole number "
        "with a unit (k, m, g or t), at least 450m and under 2048t (like 768m or 2g), or "
        "unset it for the default of 768m"
    )


# Spark's own verdicts, from a fresh JVM: its parser of sizes, then its driver's minimum
# executor memory, on a local context at the minimum and one MiB below it.
SPARK_SIZE_VERDICTS = """
import json, sys
from pyspark import SparkConf, SparkContext
from pyspark.java_gateway import launch_gateway

least = int(sys.argv[2])
gateway = launch_gateway(SparkConf())
utils = gateway.jvm.org.apache.spark.network.util.JavaUtils
sizes = {}
for value in json.loads(sys.argv[1]):
    try:
        sizes[value] = int(utils.byteStringAsBytes(value))
    except Exception:
        sizes[value] = None
starts = {}
for size in (f"{least - 1}m", f"{least}m"):
    conf = SparkConf().setMaster("local[1]").set("spark.ui.enabled", "false")
    try:
        SparkContext(conf=conf.set("spark.executor.memory", size), gateway=gateway).stop()
        starts[size] = "started"
    except Exception as error:
        starts[size] = "INVALID_EXECUTOR_MEMORY" in str(error)
print(json.dumps({"sizes": sizes, "starts": starts}))
"""


def test_spark_memory_sizes_are_judged_as_spark_judges_them(monkeypatch, tmp_path):
    """The size syntax is Spark's (JavaUtils.byteStringAs), copied so that a bad value is
    refused before a session starts: held here to Spark's own parser, so a pyspark whose
    syntax differs fails this test. A size Spark parses is taken when it is within Spark's
    executor bounds (at least the minimum its driver enforces, under 2^31 MiB, which it
    keeps in an int); a bare number, which Spark parses, is refused by design."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from pipelines.spark_engine.session import SPARK_LEAST_EXECUTOR_MIB
    from pipelines.spark_engine.standalone import java_available

    if not java_available():
        pytest.fail("this test needs Java 17+ (`.ci/run` installs openjdk-17-jre-headless)")
    units = [f"{p}{s}" for p in "kmgtp" for s in ("", "b", "ib", "i")] + ["b", "bi", "x", "e"]
    values = [f"{n}{u}" for n in (1, 450, 3) for u in units] + [
        "abc", "1.5g", "4 g", "-1g", "4_0g", "\u0664g", "4bytes", "04G", "2Gb", "4GiB",
        "471859200b", "471859199b", "460800k", "460799k", "2047t", "2048t", "2097151m",
        "2097152m", "2147483647m", "2251799812636673b", "2251799813685248b", "8191p",
        "99999999999999999999g", "512", "0m",
    ]  # fmt: skip
    env = environment_with({"SPARK_LOCAL_IP": "127.0.0.1"})
    done = subprocess.run(
        [sys.executable, "-c", SPARK_SIZE_VERDICTS, json.dumps(values),
         str(SPARK_LEAST_EXECUTOR_MIB)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    spark = json.loads(done.stdout.strip().splitlines()[-1])
    least = SPARK_LEAST_EXECUTOR_MIB
    assert spark["starts"] == {f"{least - 1}m": True, f"{least}m": "started"}
    mib = 1024 * 1024
    for value in values:
        size = spark["sizes"][value]
        spark_takes = (
            size is not None and not value.strip().isdigit() and least * mib <= size < 2**31 * mib
        )
        monkeypatch.setenv(NAME, value)
        try:
            ours = spark_memory_setting(NAME, "768m", least) == value.strip()
        except SettingInvalid:
            ours = False
        assert ours == spark_takes, (value, size)


@pytest.mark.parametrize("value", ["abc", "100m"])
def test_a_spark_executor_memory_spark_would_refuse_ends_a_run_in_one_line(tmp_path, value):
    """Spark refused these only as the session started, in a Java error printed above
    the month's failure ("Executor memory must be a positive number" for abc)."""
    stderr = _run_refused(
        tmp_path,
        {"GRADING_SPARK_EXECUTOR_MEMORY": value},
        *("--engine", "spark", "--spark-master", "spark://127.0.0.1:1"),
    )
    assert stderr == (
        f"grading: GRADING_SPARK_EXECUTOR_MEMORY={value!r} is not a memory size Spark takes: "
        "set it to a whole number with a unit (k, m, g or t), at least 450m and under 2048t "
        "(like 768m or 2g), or unset it for the default of 768m\n"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"GRADING_ENGINE": "foo"},
            "GRADING_ENGINE='foo' is not an engine: set it to duckdb or spark, or unset it "
            "for duckdb",
        ),
        (
            {"GRADING_ENGINE": "spark"},
            "GRADING_ENGINE=spark needs GRADING_SPARK_MASTER set to spark://HOST:PORT or "
            "sc://HOST:PORT, got ''",
        ),
        (
            {"GRADING_FIRST_MONTH": "abc"},
            "GRADING_FIRST_MONTH: not a month: 'abc' (expected YYYY-MM, from 0001-01)",
        ),
        (
            {"GRADING_PARTITIONS_START": "2026-13"},
            "GRADING_PARTITIONS_START: not a month: '2026-13' (expected YYYY-MM, from 0001-01)",
        ),
    ],
)
def test_a_code_location_setting_it_cannot_take_ends_a_cli_run_in_one_line(
    tmp_path, settings, message
):
    """The CLI loads the Dagster code location, which reads these as it loads: a first
    month not a month was a traceback, and the engine's refusals named neither variable
    ("unknown engine 'foo'", "--engine spark needs --spark-master" to a run given no
    --engine)."""
    assert _run_refused(tmp_path, settings) == f"grading: {message}\n"
