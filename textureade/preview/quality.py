"""Region quality measured with a descriptor the miner does not use: LBP + colour histograms, chi-square.

The miner groups pixels by its own features (``textureade.features``); judging its regions with
the same features would be circular. Here every pixel gets two codes:

- its uniform local binary pattern (skimage ``local_binary_pattern``, P=8, R=1, ``uniform``:
  10 codes) on the grey image, a texture code;
- its colour, RGB quantised to 4 levels per channel (64 codes).

A set of pixels is described by the two normalised histograms concatenated, each weighted 1/2
(the descriptor sums to 1). Two descriptors are compared by the chi-square distance
``0.5 * sum((a - b)^2 / (a + b))``, which lies in [0, 1] (0: identical, 1: disjoint support).

Per image (at a working size, longer side :data:`WORK_SIDE` px; the label map resized nearest):

- **spread** (within-region appearance spread, lower = more homogeneous): the image is cut into
  :data:`CELL` x :data:`CELL` px cells; a cell with at least :data:`CELL_SHARE` of its pixels in
  one region belongs to that region; spread is the mean chi-square distance of each such cell's
  descriptor to its region's descriptor (over all the region's pixels): a cell-count (area)
  weighted mean over regions. NaN when no cell belongs to a region.
- **separability** (of adjacent regions, higher = better separated): the mean chi-square
  distance between the descriptors of every pair of regions that touch (4-neighbours), each pair
  counted once. NaN with fewer than two touching regions.

Unassigned pixels (label 0) belong to no region. Pure functions of the arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WORK_SIDE = 256
CELL = 16
CELL_SHARE = 0.75
N_LBP = 10
N_COLOUR = 64


@dataclass(frozen=True)
class RegionQuality:
    """The quality of one partition of one image: spread (lower is better), separability (higher
    is better), the regions with at least one cell (n_regions) and the touching pairs (n_pairs)."""

    spread: float
    separability: float
    n_regions: int
    n_pairs: int


def pixel_codes(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lbp, colour): H x W int arrays of uniform-LBP codes (0..9) and quantised colours (0..63)."""
    from skimage.feature import local_binary_pattern

    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    grey = np.clip(grey + 0.5, 0, 255).astype(np.uint8)  # integer input: LBP ties are exact
    lbp = local_binary_pattern(grey, P=8, R=1, method="uniform").astype(np.int64)
    q = (image >> 6).astype(np.int64)
    colour = q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]
    return lbp, colour


def _descriptors(groups: np.ndarray, n: int, lbp: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """n x (N_LBP + N_COLOUR) descriptors of the pixel groups ``groups`` (ids 0..n-1; -1 = none)."""
    keep = groups >= 0
    g = groups[keep]
    h_lbp = np.bincount(g * N_LBP + lbp[keep], minlength=n * N_LBP).reshape(n, N_LBP).astype(np.float64)
    h_col = np.bincount(g * N_COLOUR + colour[keep], minlength=n * N_COLOUR).reshape(n, N_COLOUR)
    h_col = h_col.astype(np.float64)
    for h in (h_lbp, h_col):
        s = h.sum(axis=1, keepdims=True)
        np.divide(h, s, out=h, where=s > 0)
    return np.concatenate([h_lbp, h_col], axis=1) * 0.5


def chi_square(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise chi-square distance 0.5 * sum((a-b)^2 / (a+b)) of histograms (0/0 counts 0)."""
    s = a + b
    d = np.divide((a - b) ** 2, s, out=np.zeros_like(s), where=s > 0)
    return 0.5 * d.sum(axis=-1)


def work_size(image: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image (bilinear) and labels (nearest) at the working size (longer side <= WORK_SIDE)."""
    from textureade.preview.render import resize_image, thumb_shape
    from textureade.readers.mapping import nearest_resize

    hw = thumb_shape(*labels.shape, side=WORK_SIDE)
    return resize_image(image, hw), nearest_resize(labels, hw)


def region_quality(
    labels: np.ndarray, codes: tuple[np.ndarray, np.ndarray], cell: int = CELL
) -> RegionQuality:
    """Spread and separability of the partition ``labels`` (H x W, 0 = unassigned) of an image
    whose :func:`pixel_codes` are ``codes`` (same H x W). See the module docstring."""
    lbp, colour = codes
    ids, inv = np.unique(labels, return_inverse=True)
    inv = inv.reshape(labels.shape)
    regions = ids > 0
    n = len(ids)
    group = np.where(regions[inv], inv, -1)
    region_desc = _descriptors(group, n, lbp, colour)

    h, w = labels.shape
    ny, nx = h // cell, w // cell
    spread, n_regions = math.nan, 0
    if ny and nx:
        crop = inv[: ny * cell, : nx * cell]
        cell_id = (np.arange(ny)[:, None] * nx + np.arange(nx)[None, :]).repeat(cell, 0).repeat(cell, 1)
        counts = np.bincount((cell_id * n + crop).ravel(), minlength=ny * nx * n).reshape(ny * nx, n)
        major = counts.argmax(axis=1)
        ok = (counts.max(axis=1) >= CELL_SHARE * cell * cell) & regions[major]
        if ok.any():
            cells = _descriptors(
                cell_id, ny * nx, lbp[: ny * cell, : nx * cell], colour[: ny * cell, : nx * cell]
            )
            d = chi_square(cells[ok], region_desc[major[ok]])
            spread, n_regions = float(d.mean()), len(np.unique(major[ok]))

    pairs: set[tuple[int, int]] = set()
    for a, b in ((inv[:, :-1], inv[:, 1:]), (inv[:-1, :], inv[1:, :])):
        m = (a != b) & regions[a] & regions[b]
        lo, hi = np.minimum(a[m], b[m]), np.maximum(a[m], b[m])
        pairs.update(zip(lo.tolist(), hi.tolist()))
    sep = math.nan
    if pairs:
        p = np.array(sorted(pairs))
        sep = float(chi_square(region_desc[p[:, 0]], region_desc[p[:, 1]]).mean())
    return RegionQuality(spread=spread, separability=sep, n_regions=n_regions, n_pairs=len(pairs))


def class_regions(labels: np.ndarray, region_class_ids: list[int]) -> np.ndarray:
    """The one-mask-per-class partition of a sample: regions whose stored class id (the largest
    ADE class of the region, ``region_class_ids[k - 1]``) is the same become one region; a region
    of unknown class (-1) stays its own region; unassigned stays 0. Returns H x W int32 labels."""
    k = len(region_class_ids)
    lut = np.zeros(max(k, int(labels.max()) if labels.size else 0) + 1, np.int32)
    seen: dict[int, int] = {}
    nxt = 1
    for r, c in enumerate(region_class_ids, start=1):
        key = int(c) if int(c) >= 0 else -r  # unknown class: a key of its own
        if key not in seen:
            seen[key] = nxt
            nxt += 1
        lut[r] = seen[key]
    for r in range(k + 1, len(lut)):
        lut[r] = nxt
        nxt += 1
    return lut[labels]
