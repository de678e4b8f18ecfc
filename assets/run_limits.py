"""How long a month's run may stay started before the Dagster daemon ends it.

A run whose process dies without a word (``kill -9``, the OOM killer, a lost machine:
a `grading run` as much as a run the UI launched) stays STARTED in the instance. With one
run at a time (dagster.yaml), every queued run, the schedule's included, would wait
behind it until someone terminated it in the UI. dagster.yaml turns on the daemon's run
monitoring with a limit for every run (``max_runtime_seconds``: asset-page runs,
backfills, the deadline job), and the grade_month job carries its own
``dagster/max_runtime`` tag, from ``GRADING_RUN_MAX_SECONDS`` when set: the queue is free
again at most this long after such a run started. The next run of the month puts back
what the dead one half-wrote (pipelines/month_journal.py).

The clock starts when the run starts, waiting for the warehouse included (a launched run
waits up to 30 minutes, assets/runner.py). A month of 100M orders takes minutes on two
cores with DuckDB, so three hours leaves room for far larger months, a busy Spark cluster
or a long history to hash at publication. A `grading run` still going past the limit is
marked failed in the instance and goes on (the daemon cannot reach a run it did not
launch); its status ends as its real outcome when it finishes, but the queue has moved
on: a queued run then waits its 30 minutes for the warehouse and fails, unretried.
``GRADING_RUN_MAX_SECONDS=0`` turns the limit off for grade_month.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

MAX_RUNTIME_TAG = "dagster/max_runtime"
RUN_MAX_SECONDS_VARIABLE = "GRADING_RUN_MAX_SECONDS"
DEFAULT_RUN_MAX_SECONDS = 3 * 60 * 60


def run_max_seconds(environ: Mapping[str, str] | None = None) -> int:
    """The limit in whole seconds: GRADING_RUN_MAX_SECONDS when set (0: none), else three
    hours, the instance's own limit for every run (dagster.yaml)."""
    environ = os.environ if environ is None else environ
    text = (environ.get(RUN_MAX_SECONDS_VARIABLE) or "").strip()
    if not text:
        return DEFAULT_RUN_MAX_SECONDS
    if not text.isascii() or not text.isdigit():
        raise ValueError(
            f"{RUN_MAX_SECONDS_VARIABLE}={text!r} (environment): give a whole number of "
            "seconds, or 0 for no limit"
        )
    return int(text)


def month_run_tags(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The grade_month job's tags: its run limit for the daemon's run monitoring."""
    return {MAX_RUNTIME_TAG: str(run_max_seconds(environ))}
