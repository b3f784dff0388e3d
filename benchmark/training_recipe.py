"""`bench train`'s recipe: ``manifests/train/<method>.yaml`` with a ``--config`` YAML of the same shape on top.

The recipe is a mapping of sections (``training``, ``data``, ``eval``, ...; see the shipped
``manifests/train/detecture.yaml``); a ``--config`` file may only set keys the recipe has (a typo is
a one-line UserError naming the key and the known ones). The loop is :mod:`benchmark.training`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textureade.errors import UserError
from textureade.yamlfile import read_yaml_mapping


def _merge(base: dict, over: dict, where: str) -> dict:
    out = dict(base)
    for key, value in over.items():
        if key not in base:
            raise UserError(f"{where}: unknown recipe key {key!r} (known: {', '.join(sorted(base))})")
        if isinstance(base[key], dict) and not isinstance(value, dict):
            raise UserError(f"{where}: {key} is a section of the recipe (keys {', '.join(sorted(base[key]))}), "
                            f"got {value!r}; give it as a mapping")  # fmt: skip
        out[key] = _merge(base[key], value, f"{where}.{key}") if isinstance(base[key], dict) else value
    return out


def load_recipe(method: str, config: str | Path | None = None) -> dict[str, Any]:
    """The published recipe of ``method`` with the values of ``config`` (same shape) on top."""
    from textureade.manifests import find_manifest

    path = find_manifest("train", f"{method}.yaml")
    if path is None:
        raise UserError(f"method {method!r} has no training recipe (manifests/train/{method}.yaml)")
    recipe = read_yaml_mapping(path, "training recipe")
    if config is not None:
        p = Path(config).expanduser()
        if not p.is_file():
            raise UserError(f"--config: no file at {p}")
        recipe = _merge(recipe, read_yaml_mapping(p, "--config"), str(p))
    return recipe
