"""Synthetic texture mosaics (Prague / STLD style) written as a TextureADE-form dataset.

Each mosaic lays K distinct textures on a random partition of the canvas: ``n_cells`` Voronoi
cells (K <= n_cells <= 2K, every texture owning at least one cell) whose boundaries are warped by
a smooth random displacement field, so region borders are curved rather than straight. Region k
(label k, 1..K) is the union of the cells of texture k; every region covers at least
``min_share`` of the canvas (layouts are redrawn until that holds). Each texture is shown at a
random scale (0.5-1 of its native size, never below 64 px on its short side), with a random
flip / quarter turn and offset, mirror-tiled to cover the canvas.

Sample i depends only on ``(seed, i)`` (``numpy.random.default_rng([seed, i])``), so a dataset
is reproducible and any sample can be regenerated alone. Descriptions come from a Describer
(default: the offline describer) given each region's texture name as its class name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from textureade.errors import UserError
from textureade.textures import Texture, texture_bank
from textureade.types import Sample

MAX_K = 6


def parse_k(value: str | int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """``"2..5"`` / ``"2-5"`` / ``"3"`` / ``3`` / ``(2, 5)`` -> (lo, hi), validated 1 <= lo <= hi <= 6."""
    if isinstance(value, int):
        lo = hi = value
    elif isinstance(value, tuple | list):
        if len(value) != 2:
            raise UserError(f"k must be one number or a range lo..hi, got {value!r}")
        lo, hi = int(value[0]), int(value[1])
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:(?:\.\.|-|:)\s*(\d+))?\s*", str(value))
        if not m:
            raise UserError(f"--k must be a number or a range like 2..5, got {value!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
    if not 1 <= lo <= hi <= MAX_K:
        raise UserError(f"k range {lo}..{hi} is invalid; use 1 <= lo <= hi <= {MAX_K} (e.g. --k 2..5)")
    return lo, hi


def _smooth_field(rng: np.random.Generator, h: int, w: int, amplitude: float) -> np.ndarray:
    """2 x h x w smooth displacement: coarse (4x4) plus finer (10x10) bicubic-upsampled noise."""
    out = np.zeros((2, h, w), np.float32)
    for grid, share in ((4, 0.7), (10, 0.3)):
        coarse = rng.normal(size=(2, grid, grid)).astype(np.float32)
        for c in range(2):
            out[c] += share * cv2.resize(coarse[c], (w, h), interpolation=cv2.INTER_CUBIC)
    return out * amplitude


def random_partition(
    rng: np.random.Generator, k: int, size: tuple[int, int], min_share: float = 0.05, max_tries: int = 100
) -> tuple[np.ndarray, int]:
    """H x W int32 label map with labels 1..k (each >= min_share of the pixels) and the cell count.

    Warped Voronoi cells as described in the module docstring. Raises RuntimeError if no valid
    layout is found in ``max_tries`` draws (cannot happen for k <= 6 and min_share <= 0.1).
    """
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(max_tries):
        n_cells = int(rng.integers(k, 2 * k + 1))
        seeds = rng.uniform(0, 1, size=(n_cells, 2)) * np.array([h, w], np.float32)
        owner = np.concatenate([rng.permutation(k), rng.integers(0, k, n_cells - k)]) + 1
        warp = _smooth_field(rng, h, w, amplitude=0.12 * min(h, w))
        py, px = yy + warp[0], xx + warp[1]
        d2 = (py[None] - seeds[:, 0, None, None]) ** 2 + (px[None] - seeds[:, 1, None, None]) ** 2
        labels = owner[np.argmin(d2, axis=0)].astype(np.int32)
        shares = np.bincount(labels.ravel(), minlength=k + 1)[1:] / labels.size
        if shares.min() >= min_share:
            return labels, n_cells
    raise RuntimeError(f"no mosaic layout with {k} regions of >= {min_share:.0%} found")


def texture_layer(rng: np.random.Generator, texture: Texture, size: tuple[int, int]) -> np.ndarray:
    """H x W x 3 uint8: the texture at a random scale, flip, quarter turn and offset, mirror-tiled."""
    h, w = size
    img = texture.image
    img = np.rot90(img, int(rng.integers(0, 4)))
    if rng.random() < 0.5:
        img = img[:, ::-1]
    scale = float(rng.uniform(0.5, 1.0))
    scale = max(scale, min(1.0, 64.0 / min(img.shape[:2])))
    if scale < 1.0:
        th, tw = max(1, round(img.shape[0] * scale)), max(1, round(img.shape[1] * scale))
        img = cv2.resize(np.ascontiguousarray(img), (tw, th), interpolation=cv2.INTER_AREA)
    th, tw = img.shape[:2]
    oy, ox = int(rng.integers(0, th)), int(rng.integers(0, tw))
    reps_y, reps_x = -(-(h + oy) // th), -(-(w + ox) // tw)
    # mirror tiling: alternate flipped copies so seams are continuous
    row = np.concatenate([img if j % 2 == 0 else img[:, ::-1] for j in range(reps_x)], axis=1)
    tile = np.concatenate([row if i % 2 == 0 else row[::-1] for i in range(reps_y)], axis=0)
    return np.ascontiguousarray(tile[oy : oy + h, ox : ox + w])


def render_mosaic(
    rng: np.random.Generator, bank: list[Texture], k: int, size: tuple[int, int] = (256, 256)
) -> tuple[np.ndarray, np.ndarray, list[Texture], int]:
    """One mosaic: (H x W x 3 uint8 image, H x W int32 labels 1..k, the k textures in label order, cells)."""
    if k > len(bank):
        raise UserError(f"a {k}-texture mosaic needs {k} textures but the bank has {len(bank)}")
    chosen = [bank[int(i)] for i in rng.choice(len(bank), size=k, replace=False)]
    labels, n_cells = random_partition(rng, k, size)
    image = np.zeros((*size, 3), np.uint8)
    for idx, tex in enumerate(chosen, start=1):
        layer = texture_layer(rng, tex, size)
        mask = labels == idx
        image[mask] = layer[mask]
    return image, labels, chosen, n_cells


def _default_describer() -> Any:
    from textureade.describe.offline import OfflineDescriber

    return OfflineDescriber()


def mosaic_samples(
    n: int,
    k: str | int | tuple[int, int] = (2, 5),
    seed: int = 0,
    textures: str | Path | list[Texture] | None = None,
    size: tuple[int, int] = (256, 256),
    describer: Any = None,
) -> Iterator[Sample]:
    """Yield ``n`` mosaic Samples (ids ``mosaic-00000``...); K drawn uniformly from the ``k`` range.

    textures: None (default bank), a folder of images, or a list of Texture. describer: any
    Describer (default: the offline one); each region's RegionInfo carries its texture
    name as the only class name. Raises UserError for a bad k range or too small a bank.
    """
    from textureade.describe.base import RegionInfo

    lo, hi = parse_k(k)
    if n < 0:
        raise UserError(f"n must be >= 0, got {n}")
    bank = texture_bank(textures, min_count=max(2, hi))
    if hi > len(bank):
        raise UserError(f"k up to {hi} needs at least {hi} textures; the bank has {len(bank)}")
    describer = describer or _default_describer()
    h, w = int(size[0]), int(size[1])
    if min(h, w) < 16:
        raise UserError(f"mosaic size {w}x{h} is too small; use at least 16x16")
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        kk = int(rng.integers(lo, hi + 1))
        image, labels, chosen, n_cells = render_mosaic(rng, bank, kk, (h, w))
        areas = np.bincount(labels.ravel(), minlength=kk + 1)
        regions = [
            RegionInfo(index=j, class_names=[t.name], area=int(areas[j])) for j, t in enumerate(chosen, 1)
        ]
        result = describer.describe(image, labels, regions)
        sid = f"mosaic-{i:05d}"
        yield Sample(
            id=sid,
            image=image,
            label_map=labels,
            descriptions=list(result.descriptions),
            base_id=sid,
            split="test",
            source="mosaic",
            region_names=[t.name for t in chosen],
            provenance={
                "generator": "textureade.mosaic",
                "seed": seed,
                "index": i,
                "k": kk,
                "cells": n_cells,
                "textures": [t.source or t.name for t in chosen],
                "describer": dict(result.provenance),
            },
        )


def make_mosaics(
    out_dir: str | Path,
    n: int,
    k: str | int | tuple[int, int] = (2, 5),
    seed: int = 0,
    textures: str | Path | list[Texture] | None = None,
    size: tuple[int, int] = (256, 256),
    describer: Any = None,
    name: str = "textureade-mosaics",
) -> Path:
    """Write ``n`` mosaics as a TextureADE-form dataset (split "test") into ``out_dir``; returns it.

    Same arguments as :func:`mosaic_samples`; out_dir must be empty or absent. The card records
    the generator settings and the texture bank (names, sources, licences); manifest.json holds
    the resolved config, so ``(n, k, seed, textures, size)`` reproduces the data.
    """
    from textureade.store import DatasetWriter

    lo, hi = parse_k(k)
    bank = texture_bank(textures, min_count=max(2, hi))
    describer = describer or _default_describer()
    default_bank = textures is None
    config = {
        "generator": "textureade.mosaic",
        "n": int(n),
        "k": [lo, hi],
        "seed": int(seed),
        "size": [int(size[0]), int(size[1])],
        "textures": "default (scikit-image bundled images)" if default_bank else str(textures),
        "describer": getattr(describer, "name", type(describer).__name__),
    }
    bank_lines = [f"{t.name}: {t.source or '?'} ({t.licence or 'licence unknown'})" for t in bank]
    card = {
        "pretty_name": "TextureADE synthetic texture mosaics",
        "description": (
            f"{n} synthetic mosaics of {lo}-{hi} textures on warped Voronoi partitions "
            f"(Prague/STLD style), {size[1]}x{size[0]} px, generated by `textureade mosaic` "
            f"with seed {seed}. Each region is one texture; its description comes from the "
            f"{config['describer']} describer given the texture name."
        ),
        "how_built": [f"texture bank: {len(bank)} textures"] + bank_lines,
        "license": "other",
        "license_name": "cc0-and-public-domain-textures" if default_bank else "see-texture-sources",
        "terms": (
            [
                "The default texture bank uses scikit-image's bundled images that are CC0, public"
                " domain or without known copyright restrictions (each listed above)."
            ]
            if default_bank
            else ["Terms follow the licences of the texture images used (listed above)."]
        ),
        "source": "synthetic (textureade.mosaic)",
    }
    with DatasetWriter(out_dir, name=name, card=card, config=config) as writer:
        for sample in mosaic_samples(n, (lo, hi), seed, bank, size, describer):
            writer.add(sample)
    return Path(out_dir)
