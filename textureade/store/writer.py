"""DatasetWriter: stream Samples into a TextureADE folder (shards + README.md card + manifest.json)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textureade.errors import UserError
from textureade.store.manifest import finalise_dataset
from textureade.store.shards import ShardInfo, canonical_split, list_shards, write_shard
from textureade.types import Sample


class DatasetWriter:
    """Write samples as parquet shards of ``shard_size`` rows per split, in the order added.

    out_dir must be empty or absent (a writer never mixes with an older dataset). name: dataset
    name; card: dataset-card fields (see ``store.card.render_card``); config: the resolved config
    that produced the data (saved in manifest.json). Sample.split picks the split (None = train;
    "val" is an alias of "validation"). ``close()`` flushes, writes the card and manifest and
    returns the folder. Usable as a context manager (close on success only).
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        name: str,
        card: dict[str, Any],
        config: dict[str, Any],
        shard_size: int = 256,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.out = Path(out_dir)
        if list_shards(self.out) or (self.out / "manifest.json").exists():
            raise UserError(f"{self.out} already holds a dataset; choose an empty --out folder")
        if shard_size < 1:
            raise ValueError("shard_size must be >= 1")
        self.out.mkdir(parents=True, exist_ok=True)
        self.name, self.card, self.config, self.extra = name, dict(card), dict(config), dict(extra or {})
        self.shard_size = shard_size
        self._buffers: dict[str, list[Sample]] = {}
        self._next: dict[str, int] = {}
        self.shards: list[ShardInfo] = []
        self._ids: set[str] = set()
        self._closed = False

    def add(self, sample: Sample) -> None:
        if self._closed:
            raise RuntimeError("DatasetWriter is closed")
        if sample.id in self._ids:
            raise ValueError(f"duplicate sample id {sample.id!r}")
        self._ids.add(sample.id)
        split = canonical_split(sample.split)
        buf = self._buffers.setdefault(split, [])
        buf.append(sample)
        if len(buf) >= self.shard_size:
            self._flush(split)

    def _flush(self, split: str) -> None:
        buf = self._buffers.get(split)
        if not buf:
            return
        index = self._next.get(split, 0)
        self.shards.append(write_shard(buf, self.out, split, index))
        self._next[split] = index + 1
        self._buffers[split] = []

    def close(self) -> Path:
        if not self._closed:
            for split in sorted(self._buffers):
                self._flush(split)
            finalise_dataset(
                self.out,
                name=self.name,
                card=self.card,
                config=self.config,
                shards=self.shards,
                extra=self.extra,
            )
            self._closed = True
        return self.out

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
