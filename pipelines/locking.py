"""One grading run per warehouse at a time.

DuckDB locks its file only while a connection is open, and the assets open and close
theirs step by step; a second run could slip in between two steps of the first. A run
therefore holds an advisory lock on ``<warehouse>.lock`` from start to end.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another grading run holds the warehouse."""


@contextmanager
def exclusive_run(warehouse: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's run lock; wait up to ``wait_seconds`` for it, else refuse."""
    lock_path = Path(warehouse).with_name(Path(warehouse).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+")
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
                        f"wait for it to finish (or pass --wait SECONDS)"
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock
