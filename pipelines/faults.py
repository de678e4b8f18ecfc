"""Named crash points, for the crash-safety tests.

Setting GRADING_CRASH_AT=<name> (or <name>@YYYY-MM, for one month only) makes the
process kill itself with SIGKILL when it reaches that point: no cleanup, no exception
handlers, exactly like a machine dying. Unset (always, outside tests), a crash point
does nothing.
"""

from __future__ import annotations

import os
import signal

CRASH_POINTS = (
    "ingest:rows_stored",  # a month's rows committed to raw.*, rejected ones not yet out
    "ingest:before_commit",  # raw rows of a dataset staged, month not yet replaced
    "grading:after_grades",  # staged grades written, later assets not run
    "publish:before_commit",  # published tables replaced inside the open transaction
    "exports:between_tables",  # one table's export staged, none swapped in
    "exports:between_swaps",  # one table's export swapped in, the others not, none recorded
    "dashboard:before_build",  # the month published with its exports, its page not rebuilt
)


def crash_point(name: str, month: str) -> None:
    if os.environ.get("GRADING_CRASH_AT") in (name, f"{name}@{month}"):
        os.kill(os.getpid(), signal.SIGKILL)
