"""A dataset the harness can stream: name, where it lives, its default protocol and K rule.

A :class:`DatasetHandle` never holds the samples: ``iter_samples`` opens the source and yields one
:class:`textureade.types.Sample` at a time, so memory stays flat in the number of images.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any

from textureade.errors import UserError
from textureade.types import Sample

FORMS = ("detecture", "textureade", "python")


@dataclass
class DatasetHandle:
    """One dataset, opened lazily.

    name: manifest name, or the folder name for a path. form: ``detecture`` (metadata.json folder),
    ``textureade`` (parquet shards) or ``python`` (a generator, for tests and synthetic streams).
    protocol: the default protocol (oracle-k, oracle-k-blind or autonomous). k: the K given to
    methods under the oracle protocols (None = the number of ground-truth regions of each sample).
    scoring: keyword arguments for ``benchmark.metrics.score_partition``.
    factory: () -> Iterator[Sample]; fingerprint_fn: () -> str (content hash).
    """

    name: str
    form: str
    factory: Callable[[], Iterator[Sample]]
    path: Path | None = None
    protocol: str = "oracle-k"
    k: int | None = None
    scoring: dict[str, Any] = field(default_factory=dict)
    fingerprint_fn: Callable[[], str] | None = None
    count_fn: Callable[[], int | None] | None = None
    description: str = ""
    #: samples the reader skipped (unreadable image/mask...): a count and the first 20 (id, reason)
    n_rejected: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def on_reject(self, sample_id: str, reason: str) -> None:
        """Count a sample the reader could not read (kept out of the records, reported in run.json)."""
        self.n_rejected += 1
        if len(self.rejected) < 20:
            self.rejected.append((str(sample_id), str(reason)))

    def iter_samples(self, limit: int | None = None) -> Iterator[Sample]:
        """Stream the samples in the dataset's deterministic order (the first ``limit`` only)."""
        it = self.factory()
        return islice(it, limit) if limit is not None else it

    @cached_property
    def fingerprint(self) -> str:
        """A content hash of the dataset (stable across copies of the same files)."""
        if self.fingerprint_fn is None:
            return f"unfingerprinted:{self.name}"
        return self.fingerprint_fn()

    def count(self) -> int | None:
        """Number of samples when cheap to know, else None."""
        if self.count_fn is None:
            return None
        try:
            return self.count_fn()
        except Exception:  # a count is only for the progress bar
            return None

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for run.json and `bench list`."""
        return {
            "name": self.name,
            "form": self.form,
            "path": str(self.path) if self.path else None,
            "protocol": self.protocol,
            "k": self.k,
            "scoring": dict(self.scoring),
            "fingerprint": self.fingerprint,
        }


# -- Detecture-form folders (metadata.json + images + 0/255 masks) --------------------------------


def detecture_metadata(folder: Path) -> list[dict[str, Any]]:
    """The parsed ``metadata.json`` of a Detecture-form folder (UserError when unreadable)."""
    meta = folder / "metadata.json"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {meta}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, list):
        raise UserError(f"{meta} must hold a JSON list of {{image_path, id, textures}} entries")
    return data


def detecture_fingerprint(folder: Path) -> str:
    """sha256 of metadata.json plus the relative path and byte size of every file it names."""
    folder = Path(folder)
    h = hashlib.sha256()
    h.update((folder / "metadata.json").read_bytes())
    for entry in detecture_metadata(folder):
        paths = [entry.get("image_path", "")] + [t.get("mask_path", "") for t in entry.get("textures", [])]
        for rel in paths:
            p = folder / str(rel)
            size = p.stat().st_size if p.is_file() else -1
            h.update(f"{rel}\0{size}\n".encode())
    return "sha256:" + h.hexdigest()[:32]


def open_detecture(folder: Path, **kw: Any) -> DatasetHandle:
    """A handle on a Detecture-form folder (read through textureade.detecture_format)."""
    folder = Path(folder)

    def factory() -> Iterator[Sample]:
        from textureade.detecture_format import read_detecture_folder

        return iter(read_detecture_folder(folder, on_reject=handle.on_reject))

    kw.setdefault("name", folder.name)
    handle = DatasetHandle(
        form="detecture",
        factory=factory,
        path=folder,
        fingerprint_fn=lambda: detecture_fingerprint(folder),
        count_fn=lambda: len(detecture_metadata(folder)),
        **kw,
    )
    return handle


# -- TextureADE parquet folders (and mosaics, which use the same form) ----------------------------


def parquet_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.parquet") if not p.name.startswith("."))


def _parquet_count(folder: Path, split: str | None) -> int | None:
    import pyarrow.parquet as pq

    if split is not None:
        return None
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parquet_files(folder))


def _fallback_fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for p in parquet_files(folder):
        h.update(f"{p.relative_to(folder)}\0{p.stat().st_size}\n".encode())
    return "files:" + h.hexdigest()[:32]


def open_textureade(folder: Path, split: str | None = None, **kw: Any) -> DatasetHandle:
    """A handle on a TextureADE-form parquet folder (read through textureade.store)."""
    folder = Path(folder)

    def factory() -> Iterator[Sample]:
        from textureade.store import read_textureade

        return iter(read_textureade(folder, split=split))

    def fingerprint() -> str:
        try:
            from textureade.store import dataset_fingerprint
        except ImportError:  # the store predates fingerprints: hash the shard names and sizes
            return _fallback_fingerprint(folder)
        fp = str(dataset_fingerprint(folder))
        return f"{fp}:{split}" if split else fp

    kw.setdefault("name", folder.name)
    return DatasetHandle(
        form="textureade",
        factory=factory,
        path=folder,
        fingerprint_fn=fingerprint,
        count_fn=lambda: _parquet_count(folder, split),
        **kw,
    )


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
