"""The floors of DESIGN.md, checked on the library's own imports (STYLE rule 11).

The graph is built from the source with `ast`: every `import` and `from ... import`
of a `loopwright` module, at module level or inside a function (a lazy import is
still a dependency at run time); imports under `if TYPE_CHECKING:` are left out,
since they exist for annotations only.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import loopwright

ROOT = Path(loopwright.__file__).parent
TOP = ("samples", "demo", "cli", "server")  # the application on top: nothing in the library imports these
LOWER = ("store", "registry", "corpus", "policy", "tools", "hf", "serving")  # below the planes
PLANES = ("release", "training", "learning")


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ("loopwright", *path.relative_to(ROOT).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, module: str, is_package: bool, modules: dict[str, Path]) -> set[str]:
    """Dotted names this module imports, skipping TYPE_CHECKING blocks."""
    names: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            # `from pkg import module` imports the module; `from module import name`, the module
            names.update(f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names)
        stack.extend(ast.iter_child_nodes(node))
    return {n for n in names if n == "loopwright" or n.startswith("loopwright.")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the library modules it imports (a name resolved to the longest module it falls in)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for name in _imported(tree, module, path.name == "__init__.py", modules):
            target = resolve(name)
            if target and target != module and target != "loopwright":
                graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_the_graph_sees_module_level_lazy_and_relative_imports():
    graph = import_graph()
    assert "loopwright.corpus.retrieval" in graph["loopwright.serving.pipeline"]
    assert "loopwright.registry.deployment" in graph["loopwright.serving.bundle"]
    assert "loopwright.hf.adapters" in graph["loopwright.release.validation"]  # imported inside a function
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_library_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_no_library_module_imports_the_application_on_top():
    wrong = [
        f"{m} -> {t}"
        for m, targets in import_graph().items()
        if _package(m) not in TOP and m != "loopwright.__main__"
        for t in targets
        if _package(t) in TOP
    ]
    assert wrong == []


def test_the_lower_floors_never_import_the_planes():
    wrong = [
        f"{m} -> {t}"
        for m, targets in import_graph().items()
        if _package(m) in LOWER
        for t in targets
        if _package(t) in PLANES
    ]
    assert wrong == []


def test_only_the_top_imports_observe():
    # observe (views, reports, export, SLOs) reads what the floors below write; none of them reads it back.
    wrong = [
        f"{m} -> {t}"
        for m, targets in import_graph().items()
        if _package(m) in LOWER + PLANES
        for t in targets
        if _package(t) == "observe"
    ]
    assert wrong == []
