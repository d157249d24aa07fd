"""The package's import graph (ARCHITECTURE.md): no cycles, and each room imports only what it may.

Every module of ``src/deepseek_viz`` is parsed with :mod:`ast`; every ``import`` counts — at module
level, inside functions, under ``if TYPE_CHECKING:`` — with relative imports resolved. ``from pkg
import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg`` itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import deepseek_viz

PACKAGE = "deepseek_viz"
SOURCE = Path(deepseek_viz.__file__).parent
EVERYTHING = frozenset({"model", "analysis", "export", "widgets", "app", "data", "serve"})

#: The package's rooms and the other rooms each may import (``__init__`` is the package's own).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "model": frozenset(),
    "analysis": frozenset({"model"}),
    "export": frozenset({"model", "analysis"}),
    "widgets": frozenset({"model", "analysis", "export", "data"}),  # data: the dashboard's default texts
    "app": EVERYTHING,
    "data": frozenset(),
    "serve": frozenset({"model"}),  # the model service: calls, client, wire
    "__init__": EVERYTHING,
}
#: Libraries a room must not import (top-level names).
MAY_NOT_USE: dict[str, frozenset[str]] = {"analysis": frozenset({"plotly"})}


def module_name(path: Path, root: Path = SOURCE) -> str:
    """``deepseek_viz.analysis.routing_stats`` for ``.../deepseek_viz/analysis/routing_stats.py``
    (a package's ``__init__.py`` is named by the package)."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(tree: ast.Module, name: str, is_package: bool, modules: Iterable[str]) -> set[str]:
    """The modules ``name`` imports anywhere in ``tree``, absolute; ``modules`` are the package's."""
    known = set(modules)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            for alias in node.names:
                child = f"{origin}.{alias.name}"
                found.add(child if child in known else origin)
    return found


def package_graph(root: Path = SOURCE) -> dict[str, set[str]]:
    """``{module: modules it imports}`` for every module under ``root``, other libraries included."""
    files = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    return {
        name: imports_of(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py", files)
        for name, path in files.items()
    }


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, …, a]``, or ``None`` (edges to names outside it are ignored)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if target not in graph or state.get(target) == 2:
                continue
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def room(module: str) -> str:
    """The room of a module of the package: ``model``, ``analysis``, …, or ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def room_violations(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """One line per import that breaks :data:`MAY_IMPORT` or :data:`MAY_NOT_USE`, and per module in a
    room the table does not name."""
    problems = []
    for module, targets in sorted(graph.items()):
        own = room(module)
        if own not in MAY_IMPORT:
            problems.append(f"{module} is in room {own!r}, which the table of rooms does not name")
            continue
        for target in sorted(targets):
            top = target.split(".")[0]
            if top == PACKAGE:
                other = room(target)
                if other != own and other not in MAY_IMPORT[own]:
                    problems.append(f"{module} imports {target}: {own} may not import {other}")
            elif top in MAY_NOT_USE.get(own, ()):
                problems.append(f"{module} imports {target}: {own} may not use {top}")
    return problems


def assert_acyclic(graph: Mapping[str, Iterable[str]]) -> None:
    """Fail, showing the cycle, if ``graph`` has one."""
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def assert_rooms_kept(graph: Mapping[str, Iterable[str]]) -> None:
    """Fail, listing them, if ``graph`` has imports that break the rules of the rooms."""
    problems = room_violations(graph)
    assert not problems, "imports across the rooms' rules (ARCHITECTURE.md):\n" + "\n".join(problems)


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = package_graph()
    assert len(graph) > 30
    # module-level, relative, function-level and from-package-import-module edges are all found
    assert "deepseek_viz.model" in graph["deepseek_viz.analysis.attribution.explain"]
    assert "deepseek_viz.export.figures" in graph["deepseek_viz"]
    assert "deepseek_viz.model.tokens" in graph["deepseek_viz.widgets.live_text"]
    assert "captum.attr" in graph["deepseek_viz.analysis.attribution.gradients"]  # inside a function


def test_no_import_cycles() -> None:
    assert_acyclic(package_graph())


def test_rooms_import_only_what_they_may() -> None:
    assert_rooms_kept(package_graph())


def test_the_checks_fail_on_a_fake_graph(tmp_path: Path) -> None:
    fake = tmp_path / PACKAGE
    (fake / "analysis").mkdir(parents=True)
    (fake / "model").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "model" / "__init__.py").write_text("from .core import Model\n")
    (fake / "model" / "core.py").write_text("def f():\n    from ..analysis import stats\n")
    (fake / "analysis" / "__init__.py").write_text("")
    (fake / "analysis" / "stats.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..model.core import Model\n"
        "if TYPE_CHECKING:\n    import plotly.graph_objects as go\n"
        "    from ..widgets import View\n"
    )
    graph = package_graph(fake)
    assert find_cycle(graph) == [
        "deepseek_viz.analysis.stats",
        "deepseek_viz.model.core",
        "deepseek_viz.analysis.stats",
    ]
    with pytest.raises(
        AssertionError, match=r"import cycle: deepseek_viz\.analysis\.stats → deepseek_viz\.model"
    ):
        assert_acyclic(graph)
    assert room_violations(graph) == [
        "deepseek_viz.analysis.stats imports deepseek_viz.widgets: analysis may not import widgets",
        "deepseek_viz.analysis.stats imports plotly.graph_objects: analysis may not use plotly",
        "deepseek_viz.model.core imports deepseek_viz.analysis.stats: model may not import analysis",
    ]
    with pytest.raises(AssertionError, match="model may not import analysis"):
        assert_rooms_kept(graph)
