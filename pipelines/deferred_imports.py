"""Defer heavy imports that a library makes at import time but a run never uses.

Great Expectations imports scipy (statistical expectations) and altair (charts in its
renderers) when it is imported, two of its ~5 s of import on the machines this runs
on; no suite here uses either. Within ``deferred(...)`` such packages are imported
with the standard library's ``importlib.util.LazyLoader``: the module object exists at
once, and its code runs the first time one of its attributes is used. Nothing changes
for code that does use them, except when the import cost is paid.
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
    """Finds the named packages (and their submodules) with a lazy loader."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = frozenset(packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


@contextmanager
def deferred(packages: Sequence[str]) -> Iterator[None]:
    """While inside, first imports of ``packages`` are lazy (see the module docstring)."""
    finder = _DeferringFinder(packages)
    with _LOCK:
        sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with _LOCK:
            sys.meta_path.remove(finder)
