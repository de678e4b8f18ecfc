"""The Dagster instance a ``grading run`` records its runs in: the one ``make ui`` opens.

A run recorded in a throwaway (ephemeral) instance leaves the UI's run history and
partition metadata behind the warehouse: the UI then shows the counts of an older run.
So every CLI run is recorded in a real instance: ``DAGSTER_HOME`` when it is set, else
``dagster_home`` beside the warehouse file (``data/dagster_home`` for the demo's
``data/warehouse.duckdb``, the folder ``make ui`` points DAGSTER_HOME at).

It is opened quietly. Dagster prints a telemetry notice and a welcome banner the first
time a run touches an instance whose dagster.yaml says nothing about telemetry; in a
``grading run`` that came between the first month's progress lines. So:

- a dagster.yaml that sets ``telemetry`` is followed as it is; when it enables it,
  Dagster's notice is printed once, as the instance opens, before any progress line;
- a dagster.yaml that says nothing about telemetry (or none) gets it off for the command
  line's runs: a batch tool does not start collecting usage data unasked. The settings
  written into a new home, and the repository's dagster.yaml, turn it off anyway.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from assets.exception_chain import exception_chain
from pipelines.error_text import first_line

HOME_FOLDER = "dagster_home"
# What SQLite says when a write fails for want of space: a full disk often reads as a
# bare "disk I/O error" (a review, 2026-12-07, on a full tmpfs).
SQLITE_DISK_ERRORS = ("disk I/O error", "database or disk is full")
# Less free space than this where the Dagster instance lives reads as a full disk.
FULL_DISK_BYTES = 1 << 20
# Written into a Dagster home the CLI creates; the same settings as the repository's
# dagster.yaml, which `make ui` copies (tests/test_dagster_ui.py keeps the two equal).
INSTANCE_YAML = """\
# Instance settings for `make ui`. The warehouse is one DuckDB file with a single
# writer, so runs (including each month of a backfill) are queued one at a time.
run_queue:
  max_concurrent_runs: 1
# A run whose process was killed outright (kill -9, the OOM killer) stays STARTED and
# would hold that one place for ever: the daemon ends a run started longer ago than
# max_runtime_seconds (grade_month's own dagster/max_runtime tag, from
# GRADING_RUN_MAX_SECONDS, wins: assets/run_limits.py), which frees the queue.
run_monitoring:
  enabled: true
  max_runtime_seconds: 10800
telemetry:
  enabled: false
"""


def dagster_home(warehouse: Path, environ: Mapping[str, str] | None = None) -> Path:
    """DAGSTER_HOME when set, else the ``dagster_home`` folder beside the warehouse."""
    environ = os.environ if environ is None else environ
    if environ.get("DAGSTER_HOME"):
        return Path(environ["DAGSTER_HOME"])
    return Path(warehouse).resolve().parent / HOME_FOLDER


def refuse_unusable_home(home: Path) -> None:
    """Refuse a Dagster home whose path Dagster's SQLite storage would misread, naming it.

    That storage opens ``sqlite:///<path>`` URLs it does not quote (Dagster 1.13): a
    ``?`` ends the path there, and ``%`` with two hex digits is decoded (``%20`` becomes
    a space), so its databases would be opened in another folder, or not at all: the
    run then fails on "no such table: event_logs" (found 2026-12-06).
    """
    if "?" in str(home) or re.search("%[0-9A-Fa-f]{2}", str(home)):
        raise ValueError(
            f"Dagster home {home}: Dagster cannot keep its run records at a path holding "
            "'?' or '%' followed by two hex digits; set DAGSTER_HOME to another folder "
            "(without it, the home is the folder dagster_home beside the warehouse)"
        )


@contextmanager
def run_instance(warehouse: Path) -> Iterator[dg.DagsterInstance]:
    """The instance the run is recorded in, created with the project's settings when new."""
    home = dagster_home(warehouse)
    refuse_unusable_home(home)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        try:
            settings.write_text(INSTANCE_YAML, encoding="utf-8")
        except OSError as exc:  # a full disk fails the close, naming no file
            if exc.filename is None:
                raise OSError(exc.errno, exc.strerror, str(settings)) from exc
            raise
    try:
        instance = quiet_instance(home.resolve())
    except Exception as exc:
        failure = storage_disk_failure(home, exc)
        if failure is None:
            raise InstanceNotOpened(
                f"the Dagster instance at {home} could not be opened to record the run "
                f"({storage_error_text(exc)}): nothing was graded, the months published "
                "before stand"
            ) from exc
        raise failure from exc
    with instance:
        yield instance


def storage_error_text(exc: BaseException) -> str:
    """What the run storage's error says, in one line: SQLite's own message under
    SQLAlchemy's wrapping (whose text adds the SQL and a help link), and an error without
    a message (SQLAlchemy's bare AssertionError) by its type."""
    return first_line(getattr(exc, "orig", None) or exc)


class InstanceNotOpened(RuntimeError):
    """The Dagster instance a run is recorded in could not be opened (or created in a new
    home) for another reason than a full disk: SQLite's "database is locked" while
    another process created the same home, an error without a message. Before any month:
    it ended in SQLAlchemy's traceback (a review, 2026-12-07); now in one line."""


# What Dagster writes straight to standard error when its run storage refuses an event,
# before it raises the error (a run's own event) or swallows it (a step's log message).
STORAGE_ERROR_ECHO = "Exception while writing logger call to event log: "


@dataclass
class StorageFailure:
    """An event Dagster's run storage could not record: one of the run's own (a step
    started, succeeded, materialized), which fails the step or run, or a log message,
    which Dagster swallows and goes on."""

    error: Exception
    run_event: bool


class _StderrWithoutStorageEchoes:
    """Standard error, less Dagster's echo of each event its run storage refused."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return len(text) if text.startswith(STORAGE_ERROR_ECHO) else self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def storage_failures_recorded(instance: dg.DagsterInstance) -> Iterator[list[StorageFailure]]:
    """Yield the list of events ``instance`` fails to record while the block runs, and
    hold back Dagster's echo of each on standard error.

    With its storage failing mid-run (a full disk under DAGSTER_HOME), Dagster wrote
    three lines to standard error for each event it could not record, SQLAlchemy's SQL
    and help link included; and the step whose event it was failed with that error, so
    the run's one line blamed the step ("raw_merchants failed: sqlalchemy.exc...") for
    the run storage's failure (a review, 2026-12-07). The caller says what failed."""
    failures: list[StorageFailure] = []
    handle_new_event = instance.handle_new_event

    def recording(event: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return handle_new_event(event, *args, **kwargs)
        except Exception as exc:
            failures.append(StorageFailure(exc, event.dagster_event is not None))
            raise

    stream = sys.stderr
    quiet = _StderrWithoutStorageEchoes(stream)
    instance.handle_new_event = recording  # type: ignore[method-assign]
    sys.stderr = quiet
    try:
        yield failures
    finally:
        del instance.handle_new_event  # the class's method again
        if sys.stderr is quiet:
            sys.stderr = stream


def storage_disk_failure(home: Path, exc: BaseException) -> OSError | None:
    """An OSError naming ``home`` when ``exc`` is SQLite's report of a failed write in
    Dagster's storage there (under SQLAlchemy's error or not), else None.

    SQLite names no file: on a full disk opening the instance ended in a long SQLAlchemy
    traceback with "disk I/O error" (a review, 2026-12-07). With under 1 MB free it is
    said to be the full disk it most likely is; otherwise that it may be."""
    for error in exception_chain(exc):  # SQLAlchemy's error is raised from SQLite's
        if isinstance(error, sqlite3.OperationalError) and any(
            text in str(error) for text in SQLITE_DISK_ERRORS
        ):
            break
    else:
        return None
    reason = first_line(error)
    try:
        full = shutil.disk_usage(home).free < FULL_DISK_BYTES
    except OSError:
        full = False
    if full:
        space = os.strerror(errno.ENOSPC)
        return OSError(errno.ENOSPC, f"{space} (Dagster's run storage: {reason})", str(home))
    return OSError(
        errno.EIO, f"{reason} in Dagster's run storage (its disk may be out of space)", str(home)
    )


TELEMETRY_OFF = {"telemetry": {"enabled": False}}


def quiet_instance(home: Path) -> dg.DagsterInstance:
    """The instance of ``home``; telemetry off unless its dagster.yaml decides (above)."""
    from dagster._core.instance.ref import InstanceRef
    from dagster_shared.telemetry import get_or_set_instance_id

    overrides = {} if "telemetry" in instance_settings(home) else TELEMETRY_OFF
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))
    if instance.telemetry_enabled:
        get_or_set_instance_id()  # the notice, if it is due, now rather than mid-run
    return instance


def instance_settings(home: Path) -> dict[str, Any]:
    """The top-level settings of ``home``'s dagster.yaml ({} when it has none)."""
    import yaml

    path = home / "dagster.yaml"
    if not path.is_file():
        return {}
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    return settings if isinstance(settings, dict) else {}
