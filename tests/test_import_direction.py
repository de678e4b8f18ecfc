"""Imports run one way: the library (pipelines/) never imports the Dagster code location
(assets/), which imports the library; the CLI (assets/cli.py) sits above both."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top level or inside a function."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_the_library_never_imports_the_code_location():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m == "assets" or m.startswith("assets.")
        )
        for path in sorted((ROOT / "pipelines").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The check above can fail: a deferred import counts as much as a top-level one."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from assets.definitions import defs\n    return defs\n")
    assert imported_modules(module) == {"assets.definitions"}
