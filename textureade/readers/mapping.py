"""Full ADE20K -> SceneParse150, exactly as sceneparsing's ``convertFromADE.m`` does it.

The recipe (CSAILVision/sceneparsing, convertFromADE/convertFromADE.m):

1. new size: if ``h < w`` and ``h > 512``: ``(512, round(w / h * 512))``; if ``w < h`` and ``w > 512``:
   ``(round(h / w * 512), 512)``; otherwise unchanged (so a square image is never resized);
   MATLAB ``round`` rounds halves away from zero;
2. nearest resize of the RGB ``_seg.png`` with MATLAB's ``imresize(..., 'nearest')`` sampling:
   output pixel ``i`` (0-based) reads input ``floor((i + 0.5) * n_in / n_out)``;
3. class = (R // 10) * 256 + G, then every full id listed in mapFromADE.txt becomes its challenge id
   and every other id becomes 0.

mapFromADE.txt rows are ``challenge_id full_id`` (whitespace separated, trailing blanks allowed); three
challenge ids take two full ids (15 <- 774, 783; 36 <- 2985, 533; 89 <- 246, 247).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from textureade.errors import UserError

MAX_SHORT_SIDE = 512


def load_map_from_ade(path: str | os.PathLike) -> dict[int, int]:
    """Parse a mapFromADE.txt into {full_id: challenge_id}. UserError when unreadable or malformed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"cannot read the mapping file {p}: {exc.strerror or exc}") from None
    table: dict[int, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            challenge, full = int(fields[0]), int(fields[1])
        except (ValueError, IndexError):
            if n == 1 and not fields[0].lstrip("-").isdigit():
                continue  # a header line
            raise UserError(
                f"{p}:{n}: expected 'challenge_id full_id' (sceneparsing's mapFromADE.txt), got {line.strip()!r}"
            ) from None
        if full in table and table[full] != challenge:
            raise UserError(f"{p}:{n}: full id {full} is mapped twice ({table[full]} and {challenge})")
        table[full] = challenge
    if not table:
        raise UserError(f"{p} holds no 'challenge_id full_id' rows; pass sceneparsing's mapFromADE.txt")
    return table


def resolve_mapping(mapping: str | os.PathLike | Mapping[int, int] | None) -> dict[int, int] | None:
    """A mapping argument (path to mapFromADE.txt, or {full_id: challenge_id}) -> dict, or None."""
    if mapping is None:
        return None
    if isinstance(mapping, Mapping):
        return {int(k): int(v) for k, v in mapping.items()}
    return load_map_from_ade(mapping)


def _matlab_round(x: float) -> int:
    return int(np.floor(x + 0.5))


def challenge_size(h: int, w: int, max_short: int = MAX_SHORT_SIDE) -> tuple[int, int]:
    """The (h, w) convertFromADE.m resizes an h x w map to (short side <= 512, squares untouched)."""
    if h < w and h > max_short:
        return max_short, _matlab_round(w / h * max_short)
    if w < h and w > max_short:
        return _matlab_round(h / w * max_short), max_short
    return h, w


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each output index under MATLAB ``imresize(..., 'nearest')`` (exact integers)."""
    i = np.arange(n_out, dtype=np.int64)
    return np.minimum(((2 * i + 1) * n_in) // (2 * n_out), n_in - 1)


def nearest_resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an H x W (or H x W x C) array to ``size`` = (h, w).

    The resize of id maps (label, region, class, instance maps) used by the miner, the preview,
    the benchmark and the baselines (the offline describer's working maps and the Detecture
    reader's mask fitting keep OpenCV's INTER_NEAREST, which samples otherwise): pixel centres,
    output pixel ``(i, j)`` reads input ``(floor((i + 0.5) * H / h), floor((j + 0.5) * W / w))``,
    computed in exact integers (:func:`nearest_indices`), for down- and upsampling alike (a 1 x 1
    map fills the output; to 1 x 1 reads the centre pixel, row ``H // 2``). Values and dtype are
    kept (any dtype); trailing channels are carried along. Returns ``arr`` itself, not a copy, when
    it already has that size.

    It lives here because this sampling is the one ``convertFromADE.m`` (MATLAB ``imresize``
    'nearest') used to make every SceneParse150 label map, so the miner, the preview, the
    benchmark and the baselines resize id maps as the dataset itself was made.
    """
    h, w = size
    if arr.shape[:2] == (h, w):
        return arr
    # rows, then columns: two plain gathers, faster than one 2-D fancy index (up to ~5x, upsampling)
    return arr[nearest_indices(arr.shape[0], h)][:, nearest_indices(arr.shape[1], w)]


def decode_class(rgb: np.ndarray) -> np.ndarray:
    """Full-ADE class map from an RGB ``_seg.png``/``_parts_N.png``: (R // 10) * 256 + G, int32."""
    r = rgb[:, :, 0].astype(np.int32)
    g = rgb[:, :, 1].astype(np.int32)
    return (r // 10) * 256 + g


def map_classes(full_ids: np.ndarray, table: Mapping[int, int]) -> np.ndarray:
    """Full-ADE ids -> challenge ids through ``table`` ({full: challenge}); unlisted ids -> 0. int32."""
    top = int(full_ids.max()) if full_ids.size else 0
    lut = np.zeros(max(top, max(table, default=0)) + 1, dtype=np.int32)
    for full, challenge in table.items():
        if full >= 0:
            lut[full] = challenge
    return lut[full_ids]


def convert_from_ade(seg_rgb: np.ndarray, table: Mapping[int, int]) -> np.ndarray:
    """An RGB full-ADE ``_seg.png`` (H x W x 3 uint8) -> the SceneParse150 label map (h x w int32).

    Reproduces ``convertFromADE.m`` exactly: resize to :func:`challenge_size` by MATLAB nearest
    sampling, decode (R // 10) * 256 + G, map through ``table``, unlisted ids -> 0.
    """
    size = challenge_size(seg_rgb.shape[0], seg_rgb.shape[1])
    return map_classes(decode_class(nearest_resize(seg_rgb, size)), table)
