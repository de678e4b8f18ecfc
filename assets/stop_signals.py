"""Stop requests (SIGINT, SIGTERM) seen between months, whatever Dagster did with them.

Dagster's in-process execution takes SIGINT and SIGTERM over while a job runs. Inside a
step it raises them as an interruption, and the month is rolled back. But one that
arrives while Dagster sets a run up is recorded by its handler and forgotten when that
handler is put back, and the run went on to grade and publish every month after it, as
if nobody had asked it to stop (found by a review, 2026-12-06). A signal writes its
number to the wakeup fd whichever Python handler then runs, so the runner reads that fd
after each month and stops there.

Both signals raise KeyboardInterrupt for the run (Python's own SIGINT handler). SIGTERM
by default ends the process at once, with no word. And a process started in the
background by a non-interactive shell inherits SIGINT ignored; Dagster, putting its
handlers back after a job, then gives SIGTERM that same "ignore", so a scheduler's
SIGTERM went unheard after the first month. Both are put back as they were at the end.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def watch_stop_signals() -> Iterator[Callable[[], str | None]]:
    """Within the block, ``pending()`` names the first stop signal received since it was
    last asked (``"SIGTERM"``), else None. Outside the main thread, where Python takes
    no signal, it is always None."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    previous_fd = signal.set_wakeup_fd(write_end)
    previous = {s: signal.signal(s, signal.default_int_handler) for s in STOP_SIGNALS}
    try:
        yield lambda: _first_stop(read_end)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(previous_fd)
        os.close(read_end)
        os.close(write_end)


def _first_stop(read_end: int) -> str | None:
    """The first stop signal among those written to the wakeup fd since the last read."""
    received = bytearray()
    while True:
        try:
            chunk = os.read(read_end, 512)
        except BlockingIOError:
            break
        if not chunk:
            break
        received += chunk
    stops = [signal.Signals(n).name for n in received if n in STOP_SIGNALS]
    return stops[0] if stops else None
