"""Where manifests are found: the one locator every job uses.

Manifests are YAML files grouped by kind, one sub-folder per kind: ``methods``, ``datasets``,
``suites``, ``mining``, ``describers``, ``published`` (results as the papers print them),
``train`` (training recipes, `bench train`) and ``text_models`` (sentence-embedding models that
score descriptions, :mod:`textureade.text_model`). They are looked for in an ordered list of roots:

1. the built-in root: ``$TEXTUREADE_MANIFESTS`` when set (it replaces the built-in manifests),
   else the package data shipped with textureade (the importable package ``manifests``, located
   through ``importlib.resources``: the same files in a wheel, an editable install and a checkout);
2. extra roots, searched in addition: the user folder ``~/.config/textureade/manifests`` (under
   ``$XDG_CONFIG_HOME`` when set), then each folder of ``$TEXTUREADE_EXTRA_MANIFESTS`` (several
   separated by ``os.pathsep``). Missing extra folders are skipped silently.

A later root wins: a user manifest with the same name as a built-in one replaces it (``bench list``
says so). Within one root a name declared twice is an error (see ``benchmark.registry``).
"""

from __future__ import annotations

import importlib
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

from textureade.errors import UserError

ENV_ROOT = "TEXTUREADE_MANIFESTS"
ENV_EXTRA = "TEXTUREADE_EXTRA_MANIFESTS"
KINDS = ("methods", "datasets", "suites", "mining", "describers", "published", "train", "text_models")


@dataclass(frozen=True)
class ManifestRoot:
    """One folder holding manifests by kind. origin: "built-in", "$TEXTUREADE_MANIFESTS", "user"
    (the ~/.config folder) or "$TEXTUREADE_EXTRA_MANIFESTS"."""

    path: Path
    origin: str

    @property
    def builtin(self) -> bool:
        """True for the built-in root (package data or its $TEXTUREADE_MANIFESTS replacement)."""
        return self.origin in ("built-in", f"${ENV_ROOT}")


def _package_root() -> Path:
    """The package-data folder: where the importable package ``manifests`` lies."""
    try:
        pkg = importlib.import_module("manifests")
    except ImportError:
        raise UserError(
            "textureade's built-in manifests are not installed (no importable 'manifests' package); "
            f"reinstall textureade or set ${ENV_ROOT} to a manifests folder"
        ) from None
    if not getattr(pkg, "TEXTUREADE_MANIFESTS", False):
        raise UserError(
            f"the importable 'manifests' package at {getattr(pkg, '__file__', '?')} is not textureade's; "
            f"set ${ENV_ROOT} to textureade's manifests folder"
        )
    root = importlib.resources.files(pkg)
    if not isinstance(root, Path):  # a zipped install: package data has no file-system path
        raise UserError(f"textureade's manifests are not on the file system ({root}); install unzipped")
    return root


def builtin_root() -> ManifestRoot:
    """$TEXTUREADE_MANIFESTS when set, else the manifests shipped as package data."""
    env = os.environ.get(ENV_ROOT)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():  # a typo would hide every built-in manifest ("unknown method")
            raise UserError(
                f"${ENV_ROOT}={env} is not a folder; point it at a manifests folder or unset it "
                "to use the built-in manifests"
            )
        return ManifestRoot(path, f"${ENV_ROOT}")
    return ManifestRoot(_package_root(), "built-in")


def user_root() -> Path:
    """``$XDG_CONFIG_HOME/textureade/manifests`` (default ``~/.config/textureade/manifests``)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config).expanduser() / "textureade" / "manifests"


def manifest_roots() -> list[ManifestRoot]:
    """Every root, lowest precedence first: built-in, user folder, $TEXTUREADE_EXTRA_MANIFESTS folders.

    Extra roots that do not exist are left out; the built-in root is always first.
    """
    roots = [builtin_root()]
    extra = [ManifestRoot(user_root(), "user")]
    extra += [
        ManifestRoot(Path(p).expanduser(), f"${ENV_EXTRA}")
        for p in os.environ.get(ENV_EXTRA, "").split(os.pathsep)
        if p.strip()
    ]
    seen = {roots[0].path.resolve()}
    for root in extra:
        key = root.path.resolve()
        if root.path.is_dir() and key not in seen:
            seen.add(key)
            roots.append(root)
    return roots


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown manifest kind {kind!r}; known: {KINDS}")


def manifest_folders(kind: str) -> list[tuple[ManifestRoot, Path]]:
    """(root, root/kind) for every root that has a ``kind`` folder, lowest precedence first."""
    _check_kind(kind)
    return [(root, root.path / kind) for root in manifest_roots() if (root.path / kind).is_dir()]


def find_manifest(kind: str, filename: str) -> Path | None:
    """The winning ``<root>/<kind>/<filename>`` (the last root that has it), or None."""
    _check_kind(kind)
    if Path(filename).name != filename:
        return None  # a path, not a manifest file name
    found = None
    for _, folder in manifest_folders(kind):
        if (folder / filename).is_file():
            found = folder / filename
    return found


def manifest_file(kind: str, filename: str) -> Path:
    """Like :func:`find_manifest`, but a missing file is a UserError naming where it was looked for."""
    path = find_manifest(kind, filename)
    if path is None:
        where = ", ".join(str(r.path / kind) for r in manifest_roots())
        raise UserError(f"no {kind} manifest {filename!r} in {where}; reinstall textureade or add it")
    return path


def origin_of(path: str | Path) -> ManifestRoot | None:
    """The root a manifest file belongs to (the deepest matching root), or None when it is in none."""
    p = Path(path).resolve()
    best = None
    for root in manifest_roots():
        r = root.path.resolve()
        if p.is_relative_to(r) and (best is None or len(r.parts) > len(best.path.resolve().parts)):
            best = root
    return best


__all__ = [
    "ENV_EXTRA",
    "ENV_ROOT",
    "KINDS",
    "ManifestRoot",
    "builtin_root",
    "find_manifest",
    "manifest_file",
    "manifest_folders",
    "manifest_roots",
    "origin_of",
    "user_root",
]
