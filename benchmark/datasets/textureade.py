"""TextureADE-form dataset folders: parquet shards + manifest.json (what ``textureade build`` writes).

The samples are read by :func:`textureade.store.read_textureade`; this module gives the harness
its handle on such a folder (name, fingerprint, count). Mosaic sets use the same form
(:mod:`benchmark.datasets.mosaics`). The handle's ``verify`` and ``skip_bad_shards`` decide how
a damaged shard is met (see :mod:`textureade.store.reader`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.datasets.handle import DatasetHandle
from textureade.types import Sample


def parquet_files(folder: Path) -> list[Path]:
    """Every ``*.parquet`` under ``folder`` (recursively, sorted; hidden files excluded)."""
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

        return iter(
            read_textureade(
                folder,
                split=split,
                verify=handle.verify,
                on_reject=handle.on_reject,
                on_bad_shard=handle.on_skipped_shard if handle.skip_bad_shards else None,
            )
        )

    def fingerprint() -> str:
        try:
            from textureade.store import dataset_fingerprint
        except ImportError:  # the store predates fingerprints: hash the shard names and sizes
            return _fallback_fingerprint(folder)
        fp = str(dataset_fingerprint(folder))
        return f"{fp}:{split}" if split else fp

    kw.setdefault("name", folder.name)
    handle = DatasetHandle(
        form="textureade",
        factory=factory,
        path=folder,
        fingerprint_fn=fingerprint,
        count_fn=lambda: _parquet_count(folder, split),
        **kw,
    )
    return handle
