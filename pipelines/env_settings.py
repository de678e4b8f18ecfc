"""Numbers read from ``GRADING_*`` environment variables, refused in one line when unusable.

Each is read once, when its module is imported. ``int("abc")`` there ended a command in a
traceback naming neither the variable nor what it takes (``GRADING_LOCK_TIMEOUT=abc`` did
so for ``grading summary``), and a count of 0 failed a month mid-way with
ZeroDivisionError (reviews, 2026-12-07). ``SettingInvalid`` lets the CLI say the message
alone, whichever command imported the module.
"""

from __future__ import annotations

import math
import os
import re


class SettingInvalid(ValueError):
    """An environment variable of the project holds a value it cannot use."""


def setting_text(name: str) -> str:
    """The variable's value, stripped; set but empty counts as not set ("")."""
    return os.environ.get(name, "").strip()


def count_setting(name: str, default: int, meaning: str, hint: str) -> int:
    """A whole number of at least 1 (``default`` when unset): ``meaning`` and ``hint`` say
    what it counts in the refusal ("a number of rows", "rows at once; ...")."""
    text = setting_text(name)
    if not text:
        return default
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise SettingInvalid(
            f"{name}={text!r} is not {meaning}: set it to a whole number of at least 1 "
            f"({hint}), or unset it for the default of {default:_}"
        )
    return value


def rows_setting(name: str, default: int) -> int:
    """A count of rows at once (``default`` when unset), at least 1."""
    return count_setting(name, default, "a number of rows", "rows at once; fewer take less memory")


def seconds_setting(name: str, default: float) -> float:
    """A length of time in seconds (``default`` when unset): finite, 0 or more."""
    text = setting_text(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise SettingInvalid(
            f"{name}={text!r} is not a number of seconds: set it to 0 or more (like 30 or "
            f"2.5), or unset it for the default of {default:g}"
        )
    return value


# A JVM memory size as Spark 4 reads it (JavaUtils.byteStringAs: digits, then a unit of
# bytes, k, kb, kib, ki, ... up to p, in any case), with a unit required: Spark reads a
# bare number as bytes in one place and as MiB in another, so ``512`` fails the driver and
# ``471859200`` asks each worker for 450 TiB. tests/test_env_settings.py holds this to
# Spark's own parser.
_SPARK_MEMORY_SIZE = re.compile(r"([0-9]+)(b|[kmgtp](?:i?b|i)?)", re.ASCII)
_SPARK_MEMORY_POWERS = {"b": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
_MIB = 1024**2
# Spark keeps an executor's memory as a 32-bit count of whole MiB: 2048t wraps negative.
_SPARK_MEMORY_BYTES_LIMIT = 2**31 * _MIB


def spark_memory_setting(name: str, default: str, least_mib: int) -> str:
    """A memory size in Spark's syntax (``768m``, ``2g``) of at least ``least_mib`` MiB
    (``default`` when unset), returned as written for Spark to read.

    Spark refuses the sizes refused here only as its session starts, in a Java error
    above the run's line ("Executor memory must be a positive number" for ``abc`` or
    ``1.5g``; INVALID_EXECUTOR_MEMORY below its minimum), or wraps them (2048t)."""
    text = setting_text(name)
    if not text:
        return default
    size = _SPARK_MEMORY_SIZE.fullmatch(text.lower())
    size_bytes = int(size[1]) * 1024 ** _SPARK_MEMORY_POWERS[size[2][0]] if size else 0
    if not least_mib * _MIB <= size_bytes < _SPARK_MEMORY_BYTES_LIMIT:
        raise SettingInvalid(
            f"{name}={text!r} is not a memory size Spark takes: set it to a whole number "
            f"with a unit (k, m, g or t), at least {least_mib}m and under 2048t (like 768m "
            f"or 2g), or unset it for the default of {default}"
        )
    return text
