"""The Lambda code's modules import each other in one direction only.

Every import between ``watcher`` modules counts, at module level or inside a function (a lazy
import still makes a cycle: the modules can then only be understood and changed together).
The watch logic is layered ``watch -> lock -> start -> record``: nothing imports back up.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "lambdas" / "watcher"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = ("watcher", *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = PACKAGE) -> nx.DiGraph:
    """Module -> every ``watcher`` module it imports (``from . import x`` names module x)."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules]
                targets = submodules or [target]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph.add_edges_from((name, t) for t in targets if t in modules and t != name)
    return graph


def test_the_import_graph_sees_lazy_imports_and_cycles(tmp_path: Path) -> None:
    pkg = tmp_path / "watcher"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import x\n    return x\n")
    graph = import_graph(pkg)
    assert set(graph.edges) == {("watcher.a", "watcher.b"), ("watcher.b", "watcher.a")}
    assert list(nx.simple_cycles(graph))


def test_the_lambda_code_has_no_import_cycle() -> None:
    graph = import_graph()
    assert graph.number_of_edges() > 20  # the graph really was read
    assert list(nx.simple_cycles(graph)) == []


def test_watch_lock_start_record_depend_one_way() -> None:
    graph = import_graph()
    layers = ["watcher.watch", "watcher.lock", "watcher.start", "watcher.record"]
    for upper, lower in itertools.pairwise(layers):
        assert graph.has_edge(upper, lower), (upper, lower)
    for i, lower in enumerate(layers):
        for upper in layers[:i]:
            assert not nx.has_path(graph, lower, upper), f"{lower} reaches {upper}"
