"""How long a month's run may stay started before the Dagster daemon cancels it.

A run whose process dies without a word (``kill -9``, the OOM killer, a lost machine:
a `grading run` as much as a run the UI launched) stays STARTED in the instance. With one
run at a time (dagster.yaml), every queued run, the schedule's included, would wait
behind it until someone terminated it in the UI. dagster.yaml turns on the daemon's run
monitoring, which cancels a run past its ``dagster/max_runtime`` tag; the grade_month
job carries this tag, so the queue is free again at most this long after such a run
started. A cancelled month is put back by the next run (pipelines/month_journal.py).

A month of 100M orders takes minutes on two cores, and a launched run waits at most 30
minutes for the warehouse (assets/runner.py): three hours leaves room for far larger
months. ``GRADING_RUN_MAX_SECONDS`` sets another limit, read when the code location
loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

MAX_RUNTIME_TAG = "dagster/max_runtime"
RUN_MAX_SECONDS_VARIABLE = "GRADING_RUN_MAX_SECONDS"
DEFAULT_RUN_MAX_SECONDS = 3 * 60 * 60


def run_max_seconds(environ: Mapping[str, str] | None = None) -> int:
    """The limit in whole seconds: GRADING_RUN_MAX_SECONDS when set, else three hours."""
    environ = os.environ if environ is None else environ
    text = (environ.get(RUN_MAX_SECONDS_VARIABLE) or "").strip()
    if not text:
        return DEFAULT_RUN_MAX_SECONDS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"{RUN_MAX_SECONDS_VARIABLE}={text!r}: give a whole number of seconds, at least 1"
        )
    return int(text)


def month_run_tags(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The grade_month job's tags: its run limit for the daemon's run monitoring."""
    return {MAX_RUNTIME_TAG: str(run_max_seconds(environ))}
