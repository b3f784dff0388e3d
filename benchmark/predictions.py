"""Prediction files: what `bench run --save-predictions` writes and `bench score` reads.

``<id>.png``: the H x W partition (uint8, or uint16 past 255 regions; 0 = unassigned) and
``<id>.json``: {"descriptions": [...]} in region order, plus ``"channels": K`` when the method gave
score maps (K texture channels, present in the PNG or not): `bench score` then scores the image
with the Detecture authors' convention as `bench run` did (:mod:`benchmark.metrics.detecture`).
Ids with path separators use ``__``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from textureade.fileio import atomic_path, atomic_write


def safe_name(sample_id: str) -> str:
    """A file name for a sample id (path separators become ``__``)."""
    return sample_id.replace(os.sep, "__").replace("/", "__").replace("\\", "__")


def save_prediction(
    pred_dir: Path,
    sample_id: str,
    partition: np.ndarray,
    descriptions: list[str] | None,
    channels: int | None = None,
) -> None:
    """``<id>.png`` (uint8, or uint16 past 255 regions) and ``<id>.json`` {"descriptions": [...]}
    (with ``"channels": K`` when given)."""
    from PIL import Image

    top = int(partition.max()) if partition.size else 0
    if top > 65535:
        raise ValueError(f"{top} regions do not fit a 16-bit PNG")
    arr = partition.astype(np.uint8 if top < 256 else np.uint16)
    base = pred_dir / safe_name(sample_id)
    with atomic_path(base.with_name(base.name + ".png")) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")
    sidecar: dict[str, object] = {"descriptions": list(descriptions or [])}
    if channels is not None:
        sidecar["channels"] = int(channels)
    atomic_write(base.with_name(base.name + ".json"), json.dumps(sidecar, ensure_ascii=False))
