"""The import graph of textureade, benchmark and baselines: no cycles, imports one way only.

Every module's imports are read with ``ast`` (those inside functions included, since a cycle
through a lazy import is still a circle in the design). An edge goes to the imported module: for
``from pkg import name`` to ``pkg.name`` when that is a module of ours, else to ``pkg``; a module
does not depend on its parent package's ``__init__`` merely by living in it. Direction:
textureade <- benchmark <- baselines; textureade imports neither of the others, and benchmark
imports baselines only inside functions (the registry loads methods by name).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("textureade", "benchmark", "baselines")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, bool]]:
    """(imported module of ours, at module level?) for every import statement of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    _add(alias.name, inner)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    _add(full if full in modules else base, inner)
            visit(child, inner)

    def _add(target: str, top: bool) -> None:
        while target and target not in modules:  # ``import a.b.c`` of a module a.b.c or a name in a.b
            target = target.rpartition(".")[0]
        if target and target.split(".")[0] in PACKAGES and target != name:
            found.append((target, top))

    visit(tree, True)
    return found


def _graph() -> dict[str, list[tuple[str, bool]]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, list[tuple[str, bool]]]) -> list[tuple[str, ...]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[tuple[str, ...]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w, _ in graph.get(v, []):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(tuple(sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(out)


def test_the_graph_is_read():
    graph = _graph()
    assert ("textureade.mining.regions", True) in graph["textureade.mining.mine"]
    assert ("textureade.mining.mine", True) in graph["textureade.mining.item"]
    assert _cycles({"a": [("b", True)], "b": [("c", False)], "c": [("a", True)], "d": []}) == [
        ("a", "b", "c")
    ]


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (a module reaches itself through these):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_imports_go_one_way():
    bad = []
    for name, targets in _graph().items():
        top = name.split(".")[0]
        for target, module_level in targets:
            to = target.split(".")[0]
            if top == "textureade" and to in ("benchmark", "baselines"):
                bad.append(f"{name} imports {target}")
            elif top == "benchmark" and to == "baselines" and module_level:
                bad.append(f"{name} imports {target} at module level")
    assert not bad, "imports against textureade <- benchmark <- baselines:\n" + "\n".join(sorted(bad))
