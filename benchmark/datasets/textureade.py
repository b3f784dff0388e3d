"""TextureADE-form dataset folders: parquet shards + manifest.json (what ``textureade build`` writes).

The samples are read by :func:`textureade.store.read_textureade`; this module gives the harness
its handle on such a folder (name, fingerprint, count). Mosaic sets use the same form
(:mod:`benchmark.datasets.mosaics`). The handle's ``verify`` and ``skip_bad_shards`` decide how
a damaged shard is met (see :mod:`textureade.store.reader`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.datasets.handle import DatasetHandle
from textureade.types import Sample


def parquet_files(folder: Path) -> list[Path]:
    """Every ``*.parquet`` under ``folder`` (recursively, sorted; hidden files excluded): what makes
    a folder look like a TextureADE one to ``detect_form`` (reading it then names what is missing)."""
    return sorted(p for p in Path(folder).rglob("*.parquet") if not p.name.startswith("."))


def count_rows(folder: Path, split: str | None) -> int | None:
    """Rows of the shards that ``read_textureade(folder, split)`` reads (``list_shards``; one split's
    only when given), from the parquet footers; None for an unknown split (reading then says so)."""
    import pyarrow.parquet as pq

    from textureade.store.shards import SHARD_RE, canonical_split, list_shards

    try:
        want = canonical_split(split) if split else None
    except ValueError:
        return None
    shards = [p for p in list_shards(folder) if want is None or SHARD_RE.match(p.name)["split"] == want]
    return sum(pq.ParquetFile(p).metadata.num_rows for p in shards)


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
        from textureade.store import dataset_fingerprint

        fp = str(dataset_fingerprint(folder))
        return f"{fp}:{split}" if split else fp

    kw.setdefault("name", folder.name)
    handle = DatasetHandle(
        form="textureade",
        factory=factory,
        path=folder,
        fingerprint_fn=fingerprint,
        count_fn=lambda: count_rows(folder, split),
        **kw,
    )
    return handle
