"""Where things live in baselines/ (see its __init__ docstring): one file per method, no method
imports another method, shared helpers in the underscore modules, one weights check."""

from __future__ import annotations

import ast
from pathlib import Path

from benchmark.registry import load_method_specs

BASELINES = Path(__file__).resolve().parents[2] / "baselines"


def _imported_modules(path: Path) -> set[str]:
    """Every ``baselines.*`` module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "baselines":
                found |= {f"baselines.{a.name}" for a in node.names}
            elif node.module.startswith("baselines."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("baselines.")}
    return found


def _method_modules() -> set[str]:
    return {spec.entry.partition(":")[0] for spec in load_method_specs().values()}


def test_no_method_file_imports_another_method_file():
    methods = _method_modules()
    assert {"baselines.sam3", "baselines.clip_dense", "baselines.detecture_zs"} <= methods
    for module in sorted(methods):
        if not module.startswith("baselines."):
            continue  # a user's method from an extra manifest folder
        path = BASELINES / (module.split(".", 1)[1].replace(".", "/") + ".py")
        others = (_imported_modules(path) & methods) - {module}
        assert not others, (
            f"{module} imports the method module(s) {sorted(others)}; move the shared code to baselines/_*.py"
        )


def test_no_architecture_module_imports_another():
    """``*_arch.py`` hold one method's model code each; what two of them share lives in ``_*.py``."""
    archs = {f"baselines.{p.stem}" for p in BASELINES.glob("*_arch.py")}
    assert {"baselines.code_arch", "baselines.lseg_arch", "baselines.detecture_arch"} <= archs
    for module in sorted(archs):
        others = (_imported_modules(BASELINES / f"{module.split('.')[1]}.py") & archs) - {module}
        assert not others, f"{module} imports {sorted(others)}; move the shared code to baselines/_*.py"


def test_no_method_checks_hub_weights_itself():
    """The weights check is benchmark.weights, driven by the manifests; no baseline repeats it."""
    for path in sorted(BASELINES.rglob("*.py")):
        assert "try_to_load_from_cache" not in path.read_text(), f"{path} has its own hub-weights check"
