"""TextureADE on disk: parquet shards (HF Image features), README.md card and manifest.json.

Write with ``DatasetWriter`` (or the pipeline's journaled shard writes), read with
``read_textureade`` (``check_readable``: its up-front checks alone, before slow set-up);
``dataset_fingerprint`` identifies a build, ``check_dataset`` verifies it.
"""

from __future__ import annotations

from textureade.store.card import ADE20K_TERMS
from textureade.store.manifest import check_dataset, dataset_fingerprint, finalise_dataset, read_manifest
from textureade.store.reader import check_readable, read_textureade
from textureade.store.shards import ShardInfo, write_shard
from textureade.store.writer import DatasetWriter

__all__ = [
    "ADE20K_TERMS",
    "DatasetWriter",
    "ShardInfo",
    "check_dataset",
    "check_readable",
    "dataset_fingerprint",
    "finalise_dataset",
    "read_manifest",
    "read_textureade",
    "write_shard",
]
