"""Datasets the harness runs on: names from ``manifests/datasets/*.yaml`` or paths auto-detected.

A manifest::

    name: rwtd                       # what `bench run --dataset` takes
    form: detecture                  # detecture | textureade | python
    path: "{data_root}/RWTD"         # default location; {data_root} = $TEXTUREADE_DATA or ~/data
    protocol: oracle-k               # default protocol
    k: 2                             # K told to methods under oracle protocols (null = GT's K)
    split: test                      # textureade form only (null = every split)
    scoring: {}                      # keyword arguments for benchmark.metrics.score_partition
    entry: module:function           # python form only: f(**params) -> Iterator[Sample]
    params: {}
    description: one line
    get: one line saying how to obtain the data

``open_dataset("rwtd")``, ``open_dataset("rwtd", path=OTHER)`` (same protocol, other location) and
``open_dataset("/some/folder")`` (Detecture ``metadata.json`` folder or TextureADE parquet folder)
all return a :class:`DatasetHandle` that streams samples.

What lives where: this module is the dispatcher (manifests, form detection, ``open_dataset``);
``handle.py`` the :class:`DatasetHandle` every form returns; one module per form:
``detecture.py`` (metadata.json folders), ``textureade.py`` (parquet folders a build writes) and
``mosaics.py`` (``textureade mosaic`` sets, TextureADE form with oracle-k defaults).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmark.datasets.detecture import open_detecture
from benchmark.datasets.handle import FORMS, DatasetHandle
from benchmark.datasets.mosaics import is_mosaic_set, open_mosaics
from benchmark.datasets.textureade import open_textureade, parquet_files
from benchmark.method import PROTOCOLS
from textureade.errors import UserError

__all__ = [
    "DatasetHandle",
    "DatasetSpec",
    "dataset_availability",
    "detect_form",
    "expand_path",
    "load_dataset_specs",
    "open_dataset",
]


@dataclass
class DatasetSpec:
    """A parsed dataset manifest (see the module docstring)."""

    name: str
    form: str
    path: str | None = None
    protocol: str = "oracle-k"
    k: int | None = None
    split: str | None = None
    scoring: dict[str, Any] = field(default_factory=dict)
    entry: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    get: str = ""
    manifest: str = ""

    def __post_init__(self) -> None:
        where = self.manifest or self.name
        if self.form not in FORMS:
            raise UserError(f"{where}: form must be one of {list(FORMS)}, got {self.form!r}")
        if self.protocol not in PROTOCOLS:
            raise UserError(f"{where}: protocol must be one of {list(PROTOCOLS)}, got {self.protocol!r}")
        if self.k is not None and (not isinstance(self.k, int) or self.k < 1):
            raise UserError(f"{where}: k must be a positive integer or null, got {self.k!r}")
        if self.form == "python" and not self.entry:
            raise UserError(f"{where}: a python-form dataset needs entry: module:function")
        if self.form != "python" and not self.path:
            raise UserError(f"{where}: a {self.form}-form dataset needs a default path")

    def default_path(self) -> Path | None:
        return expand_path(self.path) if self.path else None


def load_dataset_specs(folder: Path | None = None) -> dict[str, DatasetSpec]:
    """Every dataset manifest, by name (sorted)."""
    from benchmark.registry import load_manifest_folder

    return load_manifest_folder("datasets", DatasetSpec, "dataset", "manifest", root=folder)


def _missing(spec: DatasetSpec, where: Path) -> str:
    how = spec.get or "get it, then pass --data-path PATH or set TEXTUREADE_DATA"
    return f"dataset {spec.name!r} not found at {where} ({spec.form} form expected); {how}"


def dataset_availability(spec: DatasetSpec, path: Path | str | None = None) -> str | None:
    """None when the dataset can be opened here, else the one-line reason."""
    if spec.form == "python":
        from benchmark.registry import load_class

        try:
            load_class(spec.entry or "")
        except UserError as exc:
            return str(exc)
        return None
    where = Path(path).expanduser() if path is not None else spec.default_path()
    assert where is not None
    form = detect_form(where)
    if form is None:
        return _missing(spec, where)
    if form != spec.form:
        return f"dataset {spec.name!r} at {where} is {form} form, the manifest says {spec.form}"
    return None


def _from_spec(spec: DatasetSpec, path: Path | str | None) -> DatasetHandle:
    common = dict(name=spec.name, protocol=spec.protocol, k=spec.k, scoring=dict(spec.scoring))
    common["description"] = spec.description
    if spec.form == "python":
        from benchmark.registry import load_class

        fn = load_class(spec.entry or "")
        params = dict(spec.params)
        key = f"python:{spec.entry}:{yaml.safe_dump(params, sort_keys=True).strip()}"
        return DatasetHandle(
            form="python", factory=lambda: iter(fn(**params)), fingerprint_fn=lambda: key, **common
        )
    reason = dataset_availability(spec, path)
    if reason:
        raise UserError(reason)
    where = Path(path).expanduser() if path is not None else spec.default_path()
    assert where is not None
    if where.is_file():
        where = where.parent
    if spec.form == "detecture":
        return open_detecture(where, **common)
    return open_textureade(where, split=spec.split, **common)


def detect_form(path: Path) -> str | None:
    """``detecture`` for a folder with metadata.json, ``textureade`` for parquet shards, else None."""
    path = Path(path)
    if path.is_file() and path.name == "metadata.json":
        return "detecture"
    if not path.is_dir():
        return None
    if (path / "metadata.json").is_file():
        return "detecture"
    if (path / "manifest.json").is_file() or parquet_files(path):
        return "textureade"
    return None


def expand_path(template: str) -> Path:
    """Expand ``{data_root}`` ($TEXTUREADE_DATA, else ~/data), ``~`` and $VARS in a manifest path."""
    root = os.environ.get("TEXTUREADE_DATA") or os.path.join("~", "data")
    text = str(template).replace("{data_root}", root)
    return Path(os.path.expanduser(os.path.expandvars(text)))


def open_dataset(
    name_or_path: str | Path,
    *,
    path: str | Path | None = None,
    protocol: str | None = None,
    k: int | None = None,
    verify: bool = True,
    skip_bad_shards: bool = False,
    strict: bool = False,
) -> DatasetHandle:
    """Open a dataset by manifest name (optionally at another ``path``) or by folder path.

    A path is auto-detected: a folder with ``metadata.json`` is Detecture form (default protocol
    oracle-k with the ground-truth K), a folder of parquet shards is TextureADE form (autonomous;
    a ``textureade mosaic`` set takes the ``mosaics`` manifest's defaults: oracle-k, ground-truth K).
    ``protocol``/``k`` override the defaults. Raises UserError (one line) when nothing is found.
    ``verify``/``skip_bad_shards``/``strict``: how the readers meet bad input (DatasetHandle).
    """
    specs = load_dataset_specs()
    name = str(name_or_path)
    if name in specs:
        handle = _from_spec(specs[name], path)
    else:
        where = Path(path if path is not None else name).expanduser()
        form = detect_form(where)
        if form is None:
            if where.exists():
                raise UserError(
                    f"{where} is neither a Detecture folder (metadata.json) nor a TextureADE parquet folder"
                )
            known = ", ".join(specs) or "none"
            raise UserError(f"unknown dataset {name!r}: no such manifest (known: {known}) and no such path")
        if where.is_file():
            where = where.parent
        if form == "detecture":
            handle = open_detecture(where, protocol="oracle-k")
        elif is_mosaic_set(where) and "mosaics" in specs:
            # a `textureade mosaic` folder: the mosaics manifest's defaults (oracle-k, GT K)
            handle = open_mosaics(where, specs["mosaics"])
        else:
            handle = open_textureade(where, protocol="autonomous")
    if protocol is not None:
        if protocol not in PROTOCOLS:
            raise UserError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
        handle.protocol = protocol
    if k is not None:
        if k < 1:
            raise UserError(f"--k must be a positive integer, got {k}")
        handle.k = k
    handle.verify, handle.skip_bad_shards, handle.strict = verify, skip_bad_shards, strict
    return handle
