"""The package's import graph, read statically: no cycle anywhere, layers point one way, and
the reading side (results, report, compare, claims) and the shared torch-free modules never
load torch when imported.

Edges come from every ``import`` / ``from ... import`` in a module's source (relative or
absolute), function-level ones included; ``from pkg import name`` points at ``pkg.name`` when
that is a module, else at ``pkg``. A module that loads modules by name at run time
(``importlib.import_module``) gets an edge to each submodule of a package named by an f-string
prefix (``f"{__name__}.{...}"``, as the FLOP counter registry loads its counters;
``f"profiler.commands.{...}"``) and to each module a string constant in it names (lazy
attributes). What a module runs on import are its module-level imports
(``if TYPE_CHECKING`` blocks excluded) plus the ``__init__`` of every package above each
module it imports.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "profiler"
PACKAGE = "profiler"
FORBIDDEN = ("torch", "fvcore")  # fvcore imports torch
READING_SIDE = ("profiler.results", "profiler.report", "profiler.compare", "profiler.claims")
# torch-free modules every layer may use (the counter registry: importing it needs no torch)
SHARED_TORCH_FREE = ("profiler.stats", "profiler.units", "profiler.rounds", "profiler.spec",
                     "profiler.errors", "profiler.telemetry")
# measure's sub-packages, bottom to top, and the ones each may import (the shared modules at
# measure's root are open to all of them; case.py, the dispatcher, sits above everything).
MEASURE = "profiler.measure"
MEASURE_LAYERS = {
    "count": (),
    "memory": (),
    "timing": ("memory",),
    "breakdown": ("count", "memory", "timing"),
}
RUN_TIME_LOAD = re.compile(r"import_module\(|__import__\(")
LOAD_PREFIX = re.compile(r"import_module\(f[\"']([\w.{}]+?)\.\{")
# loads only what a user names (``package.module:attr``), never a module of its own package
USER_CODE_LOADERS = ("profiler.registry",)


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


def _submodules(package: str) -> set[str]:
    return {m for m in _modules() if m.rpartition(".")[0] == package}


def _loaded_by_name(module: str) -> set[str]:
    """The modules ``module`` may load by name at run time (see the module doc)."""
    source = _modules()[module].read_text(encoding="utf-8")
    if not RUN_TIME_LOAD.search(source):
        return set()
    prefixes = {p.replace("{__name__}", module) for p in LOAD_PREFIX.findall(source)}
    named = {node.value for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Constant) and node.value in _modules()}
    return {m for p in prefixes for m in _submodules(p)} | (named - {module})


@cache
def _edges(module: str, module_level: bool) -> frozenset[str]:
    tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
    found = {t for node in _imports(tree, module_level) for t in _targets(module, node)}
    return frozenset(found if module_level else found | _loaded_by_name(module))


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


def _packages() -> list[str]:
    return sorted(m for m in _modules() if _is_package(m))


def test_the_graph_is_read() -> None:
    # sanity: the reader resolves relative, absolute, function-level and package imports
    assert "profiler.results.envelope" in _internal("profiler.measure.case")
    counting = "profiler.measure.count.counting"
    assert counting in _internal("profiler.measure.case")  # in a function
    assert counting not in _internal("profiler.measure.case", True)
    assert "profiler.report.tables" in _internal("profiler.report.markdown")
    assert "torch" in _edges("profiler.measure.timing.loop", True)
    assert {"profiler.measure.count", "profiler.report.verdicts"} <= set(_packages())


def test_counters_loaded_by_name_are_edges_of_the_registry() -> None:
    counters = "profiler.measure.count.counters"
    loaded = _internal(counters)
    assert {f"{counters}.all_ops", f"{counters}.fvcore_default", f"{counters}.torch_flops",
            f"{counters}.thop_2020"} <= loaded
    assert not _internal(counters, True) & _submodules(counters)  # none loads on import
    # the counters count with the fvcore trace, not with counting (which loads the registry)
    assert "profiler.measure.count.fvcore_trace" in _internal(f"{counters}.all_ops")
    assert "profiler.measure.count.counting" not in _internal(f"{counters}.all_ops")


def test_every_run_time_load_is_an_edge() -> None:
    # a module loaded by a name the reader cannot follow would hide a cycle from the tests below
    assert "profiler.commands.bench" in _internal("profiler.cli")
    assert "profiler.suites.runner" in _internal("profiler.suites")
    assert "profiler.blocks" in _internal("profiler")
    hidden = sorted(m for m, path in _modules().items()
                    if RUN_TIME_LOAD.search(path.read_text(encoding="utf-8"))
                    and not _loaded_by_name(m) and m not in USER_CODE_LOADERS)
    assert not hidden, f"modules load others by names the import graph cannot see: {hidden}"


def test_no_import_cycle_anywhere() -> None:
    # every package and module of profiler/, function-level and run-time loads included
    found = _cycle(set(_modules()))
    assert found is None, " -> ".join(found or [])


@pytest.mark.parametrize("package", _packages())
def test_no_import_cycle_inside_a_package(package: str) -> None:
    assert _cycle(_in_package(package)) is None, " -> ".join(_cycle(_in_package(package)) or [])


def _measure_layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[2] in MEASURE_LAYERS else None


def test_measure_layers_point_one_way() -> None:
    wrong = []
    for module in sorted(_in_package(MEASURE) - {f"{MEASURE}.case"}):
        layer = _measure_layer(module)
        allowed = {layer, *MEASURE_LAYERS[layer]} if layer else set()
        for target in sorted(_internal(module) & _in_package(MEASURE)):
            to = _measure_layer(target)
            if target == f"{MEASURE}.case" or (to is not None and to not in allowed):
                wrong.append(f"{module} -> {target}")
    assert not wrong, f"measure's layers: count, memory < timing < breakdown; {wrong}"


def test_results_and_measure_do_not_import_each_other_both_ways() -> None:
    results, measure = _in_package("profiler.results"), _in_package("profiler.measure")
    to_measure = {(m, t) for m in results for t in _internal(m) if t in measure}
    to_results = {(m, t) for m in measure for t in _internal(m) if t in results}
    assert not (to_measure and to_results), f"results -> measure: {sorted(to_measure)}"
    assert not to_measure, "result records are read without the measuring side"


@pytest.mark.parametrize("package", [*READING_SIDE, *SHARED_TORCH_FREE, "profiler.plan"])
def test_shared_modules_need_nothing_from_measure(package: str) -> None:
    # statistics, units and the rounds engine live outside measure/ so that these need none of it
    reaching = sorted(f"{m} -> {t}" for m in _in_package(package) for t in _internal(m)
                      if t in _in_package(MEASURE))
    assert not reaching, reaching


@pytest.mark.parametrize("package", [*READING_SIDE, *SHARED_TORCH_FREE,
                                     "profiler.measure.count.counters"])
def test_reading_side_never_loads_torch_on_import(package: str) -> None:
    modules = _in_package(package)
    if package.endswith(".counters"):
        modules = {package}  # the registry; each counter module needs torch
    for module in sorted(modules):
        loaded, parent = _loaded_on_import(module)
        heavy = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN)
        assert not heavy, f"importing {module} loads {heavy[0]}: " \
                          f"{_chain(parent, heavy[0], module)}"


def test_building_the_cli_loads_no_plotting_and_no_torch() -> None:
    # every command builds the whole parser, which imports every command module: what they
    # load on import, every invocation pays (matplotlib: about 0.7 s on the README's CPU)
    heavy_roots = ("matplotlib", "numpy", "scipy", *FORBIDDEN)
    for module in sorted(_in_package("profiler.commands")):
        loaded, parent = _loaded_on_import(module)
        heavy = sorted(m for m in loaded if m.split(".")[0] in heavy_roots)
        assert not heavy, f"importing {module} loads {heavy[0]}: " \
                          f"{_chain(parent, heavy[0], module)}"
