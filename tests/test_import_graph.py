"""The package's import graph, read statically: layers point one way and the reading side
(results, report, compare) never loads torch when imported.

Edges come from every ``import`` / ``from ... import`` in a module's source (relative or
absolute), function-level ones included; ``from pkg import name`` points at ``pkg.name`` when
that is a module, else at ``pkg``. What a module runs on import are its module-level imports
(``if TYPE_CHECKING`` blocks excluded) plus the ``__init__`` of every package above each
module it imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "profiler"
PACKAGE = "profiler"
FORBIDDEN = ("torch", "fvcore")  # fvcore imports torch
READING_SIDE = ("profiler.results", "profiler.report", "profiler.compare", "profiler.claims")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _is_package(name: str) -> bool:
    return _modules()[name].name == "__init__.py"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module_level: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements; with ``module_level`` only those that run when the module loads."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif module_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                ast.Lambda)):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node):
            if not module_level:
                yield from _imports(node, module_level)
        else:
            yield from _imports(node, module_level)


def _base(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    anchor = module.split(".") if _is_package(module) else module.split(".")[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = _base(module, node)
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        yield candidate if candidate in _modules() else base


@cache
def _edges(module: str, module_level: bool) -> frozenset[str]:
    tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
    return frozenset(t for node in _imports(tree, module_level) for t in _targets(module, node))


def _internal(module: str, module_level: bool = False) -> set[str]:
    return {t for t in _edges(module, module_level) if t in _modules()}


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _loaded_on_import(start: str) -> tuple[set[str], dict[str, str]]:
    """Modules run by ``import start`` and, for each, the module that imported it."""
    seen: set[str] = set()
    parent: dict[str, str] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in _modules():
            continue
        for target in [*_parents(name), *_edges(name, True)]:
            for each in [*_parents(target), target]:
                if each not in seen:
                    parent.setdefault(each, name)
                    todo.append(each)
    return seen, parent


def _chain(parent: dict[str, str], end: str, start: str) -> str:
    chain = [end]
    while chain[-1] != start and chain[-1] in parent:
        chain.append(parent[chain[-1]])
    return " <- ".join(chain)


def _cycle(nodes: set[str], module_level: bool = False) -> list[str] | None:
    """One import cycle among ``nodes`` (edges restricted to them), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(_internal(node, module_level) & nodes):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(nodes):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def _in_package(package: str) -> set[str]:
    return {m for m in _modules() if m == package or m.startswith(f"{package}.")}


def test_the_graph_is_read() -> None:
    # sanity: the reader resolves relative, absolute, function-level and package imports
    assert "profiler.results.envelope" in _internal("profiler.measure.case")
    assert "profiler.measure.counting" in _internal("profiler.measure.case")  # in a function
    assert "profiler.measure.counting" not in _internal("profiler.measure.case", True)
    assert "profiler.report.tables" in _internal("profiler.report.markdown")
    assert "torch" in _edges("profiler.measure.timing", True)


def test_results_and_measure_do_not_import_each_other_both_ways() -> None:
    results, measure = _in_package("profiler.results"), _in_package("profiler.measure")
    to_measure = {(m, t) for m in results for t in _internal(m) if t in measure}
    to_results = {(m, t) for m in measure for t in _internal(m) if t in results}
    assert not (to_measure and to_results), f"results -> measure: {sorted(to_measure)}"
    assert not to_measure, "result records are read without the measuring side"


@pytest.mark.parametrize("package", ["profiler.report", "profiler.models", "profiler.results",
                                     "profiler.claims", "profiler.measure.counters",
                                     "profiler.blocks"])
def test_no_import_cycle_inside_a_package(package: str) -> None:
    assert _cycle(_in_package(package)) is None, " -> ".join(_cycle(_in_package(package)) or [])


@pytest.mark.parametrize("package", READING_SIDE)
def test_reading_side_never_loads_torch_on_import(package: str) -> None:
    for module in sorted(_in_package(package)):
        loaded, parent = _loaded_on_import(module)
        heavy = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN)
        assert not heavy, f"importing {module} loads {heavy[0]}: " \
                          f"{_chain(parent, heavy[0], module)}"
