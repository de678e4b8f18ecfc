"""Numbers from GRADING_* environment variables (pipelines/env_settings.py): each read as
its module loads, each refused in one line naming the variable when it cannot be used.

``GRADING_LOCK_TIMEOUT=abc`` ended ``grading summary`` in a traceback from
``float("abc")`` at import (found after the memory review, 2026-12-07, which fixed the
rows-at-once settings; tests/test_memory_limit.py runs those through ``grading run``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.env_settings import SettingInvalid, count_setting, rows_setting, seconds_setting
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
