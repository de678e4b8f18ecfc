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


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports (``from pkg import mod`` included)."""
    paths = [p for top in ("pipelines", "assets") for p in sorted((ROOT / top).rglob("*.py"))]
    names = {module_name(p) for p in paths}
    graph = {}
    for path in paths:
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = {f"{node.module}.{a.name}" for a in node.names}
                edges.update(submodules & names or {node.module} & names)
        graph[module_name(path)] = edges - {module_name(path)}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest path of imports (the graph is acyclic once packages import lazily)."""
    memo: dict[str, list[str]] = {}

    def chain(node: str, path: tuple[str, ...]) -> list[str]:
        if node in memo:
            return memo[node]
        best = [node]
        for nxt in sorted(graph.get(node, ())):
            if nxt not in path:
                candidate = [node, *chain(nxt, (*path, nxt))]
                best = max(best, candidate, key=len)
        memo[node] = best
        return best

    return max((chain(n, (n,)) for n in sorted(graph)), key=len)


def test_reporting_never_reaches_ingest():
    """Dashboards, explanations and the what-if read published tables; a change to how
    files are read must not reach them, even through a chain of imports."""
    graph = import_graph()
    reporting = [m for m in graph if m.startswith("pipelines.reporting")]
    assert reporting, "no reporting modules found"
    reached = {
        m: sorted(n for n in reachable(graph, m) if n.startswith("pipelines.ingest"))
        for m in reporting
    }
    assert {m: r for m, r in reached.items() if r} == {}


def test_the_run_key_and_the_landing_layout_never_reach_ingest():
    graph = import_graph()
    for module in ("pipelines.run_key", "pipelines.landing"):
        assert not {n for n in reachable(graph, module) if n.startswith("pipelines.ingest")}


def test_the_graph_sees_a_reporting_module_reaching_ingest():
    """The reachability check above can fail: an indirect import is found."""
    graph = {
        "pipelines.reporting.x": {"pipelines.grading"},
        "pipelines.grading": {"pipelines.ingest"},
    }
    assert reachable(graph, "pipelines.reporting.x") == {"pipelines.grading", "pipelines.ingest"}


def test_the_import_chain_is_no_longer_than_the_layers_need():
    """Issue 21 measured 14 modules in one chain (cli -> runner -> definitions -> assets ->
    dashboard -> ... -> grading -> run_key -> ingest). The layers now are: the CLI, the code
    location (runner, definitions, an asset), reporting (dashboard, page, a section,
    explain), the rules and the contract (policy, months): at most 13, and never through
    ingest."""
    chain = longest_chain(import_graph())
    assert len(chain) <= 13, " -> ".join(chain)
    assert not [m for m in chain if m.startswith("pipelines.ingest")], " -> ".join(chain)
