"""Parquet shards written atomically with fixed settings, so equal inputs give equal bytes.

A shard is ``data/<split>-<index:05d>.parquet`` (the split names HF recognises: train,
validation, test). It is written through :func:`textureade.fileio.atomic_path` (a temporary file in
the same folder, fsynced, renamed into place, folder fsynced; removed if the write fails): a reader
(or a resumed build) never sees half a shard.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from textureade.fileio import atomic_path, sha256_file
from textureade.store.schema import SCHEMA, sample_to_row
from textureade.types import Sample

SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {"val": "validation", "valid": "validation", "dev": "validation", "training": "train"}
ROW_GROUP = 16  # rows per row group: what read_textureade streams at a time
SHARD_RE = re.compile(r"^(?P<split>[a-z]+)-(?P<index>\d{5})\.parquet$")


@dataclass
class ShardInfo:
    """One written shard: its path relative to the dataset folder, split, rows, size and sha256."""

    path: str
    split: str
    rows: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict:
        return asdict(self)


def canonical_split(split: str | None) -> str:
    s = (split or "train").lower()
    s = SPLIT_ALIASES.get(s, s)
    if s not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return s


def shard_name(split: str, index: int) -> str:
    return f"data/{canonical_split(split)}-{index:05d}.parquet"


def write_shard(samples: Iterable[Sample], out_dir: str | os.PathLike, split: str, index: int) -> ShardInfo:
    """Write the samples (all of ``split``) as one shard; returns its ShardInfo. Atomic, deterministic."""
    return write_rows([sample_to_row(s) for s in samples], out_dir, split, index)


def write_rows(rows: list[dict], out_dir: str | os.PathLike, split: str, index: int) -> ShardInfo:
    """Write samples already encoded as rows (``sample_to_row``; all of ``split``) as one shard;
    returns its ShardInfo. Atomic, deterministic: the same rows give the same bytes."""
    split = canonical_split(split)
    for r in rows:
        r["split"] = split
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    rel = shard_name(split, index)
    path = Path(out_dir) / rel
    # Python's open on the temporary path: any folder name, UTF-8 or not (same bytes as a path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pq.write_table(
            table,
            f,
            row_group_size=ROW_GROUP,
            compression="zstd",
            compression_level=3,
            use_dictionary=False,
            write_statistics=False,
            version="2.6",
            data_page_version="1.0",
        )
    return ShardInfo(rel, split, len(rows), path.stat().st_size, sha256_file(path))


def list_shards(out_dir: str | os.PathLike) -> list[Path]:
    """The shard files under ``out_dir/data`` (sorted by name; temporary files excluded)."""
    data = Path(out_dir) / "data"
    if not data.is_dir():
        return []
    return sorted(p for p in data.iterdir() if SHARD_RE.match(p.name))
