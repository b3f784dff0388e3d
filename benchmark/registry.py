"""Method manifests: ``methods/*.yaml`` in the manifest roots -> lazily constructed methods.

The roots (built-in package data, ``$TEXTUREADE_MANIFESTS``, the user's extra folders) come from
:mod:`textureade.manifests`; :func:`load_manifest_folder` reads one kind from all of them for the
method, dataset and suite registries.

A manifest::

    name: texture-kmeans                      # unique; what `bench run --method` takes
    entry: baselines.texture_kmeans:TextureKMeans
    description: one line
    kind: classical | language | proposal     # how the method uses text
    protocols: [oracle-k, oracle-k-blind, autonomous]
    requires: [torch, transformers]           # importable modules it needs
    params: {n_init: 4}                       # constructor keyword arguments (overridable)
    weights:                                  # named weights, each overridable by --option PARAM=PATH
      sam3: {id: facebook/sam3, revision: <sha>, param: sam3}   # fields: benchmark.weights
    smoke: baselines.testing.smoke:sam3       # f(tmp_dir: Path) -> dict of params that make a tiny,
                                              # offline instance (random weights); used by tests
    provenance: {reimplementation: false, paper: ..., code: ...}

The method class is imported only when a method is built or asked whether it can run. A class may
define ``check_available(params: dict) -> str | None`` (a classmethod) for what its manifest cannot
say (a package, a device, a code clone): None when it can run here, else the one-line reason. The
weights are checked for every method alike, from the manifest's ``weights:`` block
(:mod:`benchmark.weights`), after it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmark.method import PROTOCOLS, Method
from benchmark.weights import weights_entries, weights_problem
from textureade.errors import UserError, first_line
from textureade.manifests import builtin_root, manifest_folders
from textureade.yamlfile import read_yaml_mapping


@dataclass
class MethodSpec:
    """A parsed method manifest (see the module docstring for the fields)."""

    name: str
    entry: str
    description: str = ""
    kind: str = "classical"
    protocols: list[str] = field(default_factory=lambda: list(PROTOCOLS))
    requires: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, dict[str, Any]] = field(default_factory=dict)
    smoke: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def __post_init__(self) -> None:
        if ":" not in self.entry:
            raise UserError(f"{self.path}: entry must be 'module:Class', got {self.entry!r}")
        bad = [p for p in self.protocols if p not in PROTOCOLS]
        if bad:
            raise UserError(f"{self.path}: unknown protocols {bad}; known: {list(PROTOCOLS)}")
        weights_entries(self.weights, self.path)  # a malformed weights block fails at load time


def _load_folder(folder: Path, cls: type, kind: str, path_field: str) -> dict[str, Any]:
    """Every ``folder/*.yaml`` as a ``cls`` by name; unknown keys or a name declared twice raise."""
    known = set(cls.__dataclass_fields__) - {path_field}
    specs: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = read_yaml_mapping(path, "manifest")
        if not data:
            raise UserError(f"manifest {path} is empty; fill it in or remove it")
        unknown = set(data) - known
        if unknown:
            raise UserError(f"manifest {path}: unknown keys {sorted(unknown)}")
        spec = cls(**data, **{path_field: str(path)})
        if spec.name in specs:
            first = getattr(specs[spec.name], path_field)
            raise UserError(f"{kind} {spec.name!r} is declared twice ({first} and {path})")
        specs[spec.name] = spec
    return specs


def load_manifest_folder(
    subdir: str, cls: type, kind: str, path_field: str, root: Path | None = None
) -> dict[str, Any]:
    """Every ``<root>/<subdir>/*.yaml`` as a ``cls`` dataclass, by name (sorted).

    root: one manifests folder to read (tests); None = every root of
    :func:`textureade.manifests.manifest_roots` in precedence order, where a manifest of a later
    root (the user's extra folders) replaces a built-in one of the same name. Unknown keys and a
    name declared twice within one root are one-line UserErrors; ``path_field`` receives the
    manifest's path. Shared by the method, dataset and suite registries.
    """
    folders = [Path(root) / subdir] if root is not None else [f for _, f in manifest_folders(subdir)]
    specs: dict[str, Any] = {}
    for folder in folders:
        specs.update(_load_folder(folder, cls, kind, path_field))
    return dict(sorted(specs.items()))


def builtin_names(subdir: str, cls: type, kind: str, path_field: str) -> set[str]:
    """Names declared by the built-in manifests alone (to tell which user manifests replace one)."""
    return set(load_manifest_folder(subdir, cls, kind, path_field, root=builtin_root().path))


def load_method_specs(folder: Path | None = None) -> dict[str, MethodSpec]:
    """All method manifests, by name, sorted by name (``folder``: one manifests root only)."""
    return load_manifest_folder("methods", MethodSpec, "method", "path", root=folder)


def get_method_spec(name: str, folder: Path | None = None) -> MethodSpec:
    specs = load_method_specs(folder)
    if name not in specs:
        raise UserError(f"unknown method {name!r}; known: {', '.join(specs) or 'none'} (see `bench list`)")
    return specs[name]


def parse_options(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["k=v", ...]`` -> dict; values parsed as YAML scalars (``3`` -> int, ``true`` -> bool)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UserError(f"--option takes key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def resolve_params(spec: MethodSpec, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Manifest params, then weights defaults, then user options on top.

    Weights defaults: each entry's ``param`` -> its hub id, and, while that default id is in use
    and nothing else sets it, the entry's ``revision_param`` -> its pinned ``revision`` (so the
    manifest's pin is what the method loads, and what run.json records).
    """
    params = dict(spec.params)
    entries = weights_entries(spec.weights, spec.path)
    for e in entries:
        params.setdefault(e.param, e.id)
    params.update(options or {})
    for e in entries:
        if e.revision and e.id is not None and params.get(e.param) == e.id:
            params.setdefault(e.revision_param, e.revision)
    return params


def load_class(entry: str) -> type:
    module_name, _, cls_name = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            f"cannot import {module_name}: {exc}; install the extras (`make test` does)"
        ) from None
    try:
        return getattr(module, cls_name)
    except AttributeError:
        raise UserError(f"{module_name} has no {cls_name}") from None


def availability(spec: MethodSpec, options: dict[str, Any] | None = None) -> str | None:
    """None when the method can run here with these options, else the one-line reason why not."""
    missing = [m for m in spec.requires if importlib.util.find_spec(m) is None]
    if missing:
        return f"missing Python packages: {', '.join(missing)} (pip install -e '.[models]')"
    params = resolve_params(spec, options)
    check = getattr(load_class(spec.entry), "check_available", None)
    return (check(params) if check else None) or weights_problem(weights_entries(spec.weights), params)


def build_method(spec: MethodSpec, options: dict[str, Any] | None = None) -> Method:
    """Construct the method with resolved params; raises UserError/MethodUnavailable (one line)."""
    reason = availability(spec, options)
    if reason:
        from benchmark.method import MethodUnavailable

        raise MethodUnavailable(f"{spec.name}: {reason}")
    cls = load_class(spec.entry)
    params = resolve_params(spec, options)
    try:
        method = cls(**params)
    except TypeError as exc:  # an --option the class does not take, or a value it refuses
        taken = inspect.signature(cls).parameters
        unknown = sorted(set(params) - set(taken))
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in taken.values()):
            raise UserError(
                f"{spec.name}: unknown option(s) {', '.join(unknown)}; it takes {', '.join(sorted(taken))}"
            ) from None
        raise UserError(f"{spec.name}: bad parameters {sorted(params)}: {first_line(exc)}") from None
    if not getattr(method, "name", None):
        method.name = spec.name
    return method


def smoke_params(spec: MethodSpec, tmp_dir: Path) -> dict[str, Any]:
    """Params that make a tiny offline instance of the method (for tests); {} when none are needed."""
    if not spec.smoke:
        return {}
    fn = load_class(spec.smoke)
    return dict(fn(Path(tmp_dir)))
