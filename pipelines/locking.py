"""One grading run per warehouse at a time, whichever way it starts.

DuckDB locks its file only while a connection is open, and the assets open and close
theirs step by step; a second run could slip in between two steps of the first. A run
therefore holds an advisory lock from start to end: the CLI around all its months, and
the warehouse resource around every Dagster run (UI, schedule, backfill).

The lock belongs to the real file, not to the path it was named by: ``<resolved
warehouse>.lock``, so a symlink or another relative path to the same warehouse finds
the same lock. Within one process the lock is re-entrant (the CLI's runner holds it
while the job's resource takes it again); another process waits or is refused.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


class WarehouseBusy(RuntimeError):
    """Another grading run holds the warehouse."""


@dataclass
class _HeldLock:
    """A lock file this process holds, and how many of its callers are inside it."""

    handle: TextIO
    depth: int = 1


# The run locks this process holds, by lock file: a nested exclusive_run only counts.
_HELD: dict[Path, _HeldLock] = {}
_HELD_GUARD = threading.Lock()


def lock_path(warehouse: str | Path) -> Path:
    """The warehouse's lock file, beside the real file (symlinks and '..' resolved)."""
    real = Path(warehouse).resolve()
    return real.with_name(real.name + ".lock")


@contextmanager
def exclusive_run(warehouse: str | Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's run lock; wait up to ``wait_seconds`` for it, else refuse.

    Re-entrant within a process: when this process already holds the lock, the block
    runs at once and the lock is released only when its first holder is done.
    """
    path = lock_path(warehouse)
    with _HELD_GUARD:
        held = _HELD.get(path)
        if held is not None:
            held.depth += 1
    if held is None:
        held = _HeldLock(_acquire(path, warehouse, wait_seconds))
        with _HELD_GUARD:
            _HELD[path] = held
    try:
        yield
    finally:
        with _HELD_GUARD:
            held.depth -= 1
            if held.depth == 0:
                del _HELD[path]
                held.handle.close()  # closing releases the lock


def _acquire(path: Path, warehouse: str | Path, wait_seconds: float) -> TextIO:
    """Open and flock the lock file (waiting up to ``wait_seconds``); write our pid in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise WarehouseBusy(
                        f"warehouse {warehouse} is being graded by {holder}; "
                        f"try again once it has finished (`grading run --wait SECONDS` waits; "
                        f"in Dagster, the warehouse resource's lock_wait_seconds)"
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
    except OSError as exc:  # a full disk names no file: this one is named
        _close_quietly(handle)
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        _close_quietly(handle)
        raise
    return handle


def _close_quietly(handle: TextIO) -> None:
    """Close the lock file after a failure: its unwritten pid (a full disk) would fail
    the close's flush too, and hide the first error behind a second."""
    with suppress(OSError):
        handle.close()
