"""Defer heavy imports that a library makes at import time but a run never uses.

Great Expectations imports scipy (statistical expectations) and altair (charts in its
renderers) when it is imported, two of its ~5 s of import on the machines this runs
on; no suite here uses either. Within ``deferred(...)`` such packages are imported
with the standard library's ``importlib.util.LazyLoader``: the module object exists at
once, and its code runs the first time one of its attributes is used. Nothing changes
for code that does use them, except when the import cost is paid. A submodule import
(``from scipy import stats``) still runs its parent package's ``__init__``; what it
defers is the submodule itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

_LOCK = threading.Lock()


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds the named packages (and their submodules) with a lazy loader, for imports
    made on one thread only.

    Other threads import as usual: on Python 3.11 a lazy module's first use is not
    thread-safe (CPython gh-114763), so only the thread that asked for deferral gets one.
    """

    def __init__(self, packages: Sequence[str], thread: int) -> None:
        self.packages = frozenset(packages)
        self.thread = thread

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if threading.get_ident() != self.thread:
            return None
        if fullname.partition(".")[0] not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextmanager
def deferred(packages: Sequence[str]) -> Iterator[None]:
    """While inside, this thread's first imports of ``packages`` are lazy (module docstring).

    ``sys.meta_path`` is replaced, never changed in place: an import running on another
    thread walks the list it started with.
    """
    finder = _DeferringFinder(packages, threading.get_ident())
    with _LOCK:
        sys.meta_path = [finder, *sys.meta_path]
    try:
        yield
    finally:
        with _LOCK:
            sys.meta_path = [f for f in sys.meta_path if f is not finder]
