"""The package's import graph: no cycles, and the shared base modules import nothing of ours.

Read from the source (ast), so a cycle hidden inside a function (a lazy import) counts too.
lookup (the person lookup) and dbt_runner (how dbt is started) are what several parts of the
package build on: if they imported the CLI, the export or the benchmarks back, a change there
would reach everything, and moving code between them would make cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "customer_segments"

#: Modules the rest of the package builds on: they import nothing from customer_segments.
BASE_MODULES = ("customer_segments.lookup", "customer_segments.dbt_runner")


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports (`from customer_segments import x` counts as x when x is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            # `from package import module` imports the module; `from module import name`, the module itself
            found.update(submodules if len(submodules) == len(node.names) else {node.module, *submodules})
    return found & modules


def import_graph(package: Path = PACKAGE) -> nx.DiGraph:
    paths = {module_name(path, package): path for path in package.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(paths)
    for name, path in paths.items():
        graph.add_edges_from((name, imported) for imported in imports_of(path, set(paths)) if imported != name)
    return graph


def test_the_package_has_no_import_cycles():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], cycles


@pytest.mark.parametrize("module", BASE_MODULES)
def test_base_modules_import_nothing_of_ours(module):
    graph = import_graph()
    assert module in graph, f"{module} is gone: update BASE_MODULES"
    assert sorted(graph.successors(module)) == []


def test_a_planted_cycle_is_found(tmp_path):
    package = tmp_path / "customer_segments"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from customer_segments import b\n")
    (package / "b.py").write_text("def f():\n    import customer_segments.a\n")
    assert list(nx.simple_cycles(import_graph(package))) != []
