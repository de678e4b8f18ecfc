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
