"""read_textureade: stream Samples from a TextureADE folder, one row group at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from textureade.errors import UserError
from textureade.store.schema import row_to_sample
from textureade.store.shards import SHARD_RE, canonical_split, list_shards
from textureade.types import Sample


def read_textureade(out_dir: str | os.PathLike, split: str | None = None) -> Iterator[Sample]:
    """Yield the samples of ``out_dir`` (all splits, or one: train/validation/test, "val" accepted),
    shard by shard in name order, decoding images lazily per row group."""
    out = Path(out_dir)
    shards = list_shards(out)
    if not shards:
        raise UserError(f"{out_dir} holds no TextureADE shards (expected data/<split>-NNNNN.parquet)")
    try:
        want = canonical_split(split) if split else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    for path in shards:
        if want and SHARD_RE.match(path.name).group("split") != want:  # type: ignore[union-attr]
            continue
        pf = pq.ParquetFile(path)
        for i in range(pf.num_row_groups):
            for row in pf.read_row_group(i).to_pylist():
                yield row_to_sample(row)
