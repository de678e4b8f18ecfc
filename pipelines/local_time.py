"""The process's local time zone is UTC, whatever ``TZ`` the machine or the user sets.

Every time the project writes (publications, journals, exports, the dashboard, console
lines) is UTC and says so. Great Expectations alone reads the process's local zone when
it stores and renders the data checks' results (a review, 2026-12-07):

- a stored result's run time is converted to the local zone, and its Data Docs page
  prints that wall time with a ``Z`` (UTC) suffix: under ``TZ=Pacific/Pago_Pago`` a
  page claimed a time 11 hours off;
- the Data Docs index prints times in the zone ``tzlocal`` finds, and under a POSIX
  ``TZ`` that ``tzlocal`` cannot map (``JST-9``, ``UTC0``, ``CET-1CEST,M3.5.0,...``,
  all valid for the C library) its build failed: GE logged the error and wrote an
  empty ``index.html`` over the good one, and the run still succeeded.

The entry points, the CLI and the Dagster code location, call ``use_utc_as_local_time``
before anything reads the zone; the processes they start (Spark's, the browser's)
inherit it.
"""

from __future__ import annotations

import os
import sys
import time


def use_utc_as_local_time() -> None:
    """Make UTC this process's local time zone (and its children's)."""
    if os.environ.get("TZ") == "UTC":
        return
    os.environ["TZ"] = "UTC"
    time.tzset()
    tzlocal = sys.modules.get("tzlocal")
    if tzlocal is not None:  # it caches the zone it found first
        tzlocal.reload_localzone()
