"""One line that says what an error was, for a run's one-line failure message."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, or its type's name when it has none.

    An error without a message (SQLAlchemy's bare ``AssertionError`` when a stop signal
    cut its commit short) made ``str(error).splitlines()[0]`` raise IndexError, and the
    run ended in that traceback instead of its one line (the full suite, 2026-12-07)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
