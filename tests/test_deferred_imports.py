"""Deferred imports: the module exists at once, its code runs on first use, and only for
the packages named (pipelines.deferred_imports, used for GE's scipy and altair)."""

from __future__ import annotations

import sys
import threading

import pytest

from pipelines.deferred_imports import deferred


@pytest.fixture
def probe_packages(tmp_path, monkeypatch):
    """Two throwaway packages that record in a list when their code runs."""
    for name in ("probe_deferred", "probe_eager"):
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text(
            "import builtins\nbuiltins.PROBE_RAN.append(__name__)\nVALUE = 42\n"
        )
        (package / "child.py").write_text(
            "import builtins\nbuiltins.PROBE_RAN.append(__name__)\nVALUE = 7\n"
        )
    ran: list[str] = []
    monkeypatch.setattr("builtins.PROBE_RAN", ran, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield ran
    for name in list(sys.modules):
        if name.startswith(("probe_deferred", "probe_eager")):
            del sys.modules[name]


def test_a_deferred_package_runs_on_first_use_not_at_import(probe_packages):
    with deferred(["probe_deferred"]):
        import probe_deferred
        import probe_eager  # noqa: F401 - imported for its side effect
    assert probe_packages == ["probe_eager"]
    assert probe_deferred.VALUE == 42  # first use runs the module
    assert probe_packages == ["probe_eager", "probe_deferred"]


def test_submodules_of_a_deferred_package_are_deferred_too(probe_packages):
    with deferred(["probe_deferred"]):
        import probe_deferred.child
    # Importing a submodule runs its parent package; the submodule itself waits.
    assert probe_packages == ["probe_deferred"]
    assert probe_deferred.child.VALUE == 7
    assert probe_packages == ["probe_deferred", "probe_deferred.child"]


def test_imports_on_other_threads_are_ordinary(probe_packages):
    def import_probe():
        import probe_deferred  # noqa: F401 - imported for its side effect

    with deferred(["probe_deferred"]):
        other = threading.Thread(target=import_probe)
        other.start()
        other.join()
    assert probe_packages == ["probe_deferred"]


def test_imports_after_the_block_are_ordinary(probe_packages):
    with deferred(["probe_deferred"]):
        pass
    import probe_deferred

    assert probe_packages == ["probe_deferred"]
    assert probe_deferred.VALUE == 42
