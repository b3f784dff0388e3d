"""Prediction files: what `bench run --save-predictions` writes and `bench score` reads.

``<id>.png``: the H x W partition (uint8, or uint16 past 255 regions; 0 = unassigned) and
``<id>.json``: {"descriptions": [...]} in region order, plus ``"channels": K`` when the method gave
score maps (K texture channels, present in the PNG or not): `bench score` then scores the image
with the Detecture authors' convention as `bench run` did (:mod:`benchmark.metrics.detecture`).
Ids with path separators use ``__`` (:func:`safe_name`). A sample id that cannot name such files
(:func:`id_problem`: a control character such as NUL, a ``.``/``..`` path component, a name over
:data:`MAX_NAME_BYTES`), or whose file name an earlier id of the dataset already has (``a/b`` and
``a__b``), never reaches a run: the dataset handle rejects the sample
(:meth:`benchmark.datasets.handle.DatasetHandle.iter_samples`).
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import numpy as np

from textureade.fileio import atomic_path, atomic_write

#: The longest prediction file stem (:func:`safe_name`, UTF-8 bytes): ``<stem>.json`` and the
#: temporary name of its atomic write (``.<stem>.json.tmp-<pid>.json``) stay within the usual
#: 255-byte limit of a file name.
MAX_NAME_BYTES = 200


def safe_name(sample_id: str) -> str:
    """A file name for a sample id (path separators become ``__``)."""
    return sample_id.replace(os.sep, "__").replace("/", "__").replace("\\", "__")


def id_problem(sample_id: str) -> str | None:
    """Why ``sample_id`` cannot name its prediction files ``<id>.png``/``.json`` (one line), or None.

    Refused: a control character (NUL, a newline, ...), a ``.`` or ``..`` path component
    (``a/../../b``), text that is not valid Unicode, and a :func:`safe_name` longer than
    :data:`MAX_NAME_BYTES` bytes in UTF-8.
    """
    shown = repr(sample_id[:40] + ("..." if len(sample_id) > 40 else ""))
    if any(unicodedata.category(ch) == "Cc" for ch in sample_id):
        return f"id {shown} holds a control character; ids name the prediction files <id>.png/.json"
    if {".", ".."} & set(sample_id.replace("\\", "/").split("/")):
        return f"id {shown} has a '.' or '..' path component; ids name the prediction files <id>.png/.json"
    try:
        size = len(safe_name(sample_id).encode("utf-8"))
    except UnicodeEncodeError:
        return f"id {shown} is not valid Unicode text"
    if size > MAX_NAME_BYTES:
        return f"id {shown} is {size} bytes long; a prediction file name holds at most {MAX_NAME_BYTES}"
    return None


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
