"""The split test of one group: 2-means of its interior descriptors, a valley between the two
modes, then J of the halves and their spatial coherence (``try_split`` -> ``types.SplitTest``).

Everything here works on the working-size maps (long side ``work_max_side``); see
``textureade.mining.regions`` for the procedure and ``textureade.mining.stats`` for the J test.
"""

from __future__ import annotations

import cv2
import numpy as np

from textureade.config import MiningConfig
from textureade.mining.selection import component_sizes
from textureade.mining.stats import GroupStats, separability, two_means
from textureade.mining.types import SplitTest

MAX_SPLIT_SAMPLE = 600  # interior pixels (a seeded subsample) the 2-means sees


def valley_ratio(proj: np.ndarray, m0: float, m1: float, bins: int = 32) -> float:
    """Depth of the gap between two modes of a 1-D projection: min density between the modes divided
    by the lower of the two peaks (histogram over the 1st-99th percentile, smoothed with 1-2-3-2-1;
    each peak is the highest bin on its side of the midpoint of ``m0`` and ``m1``).

    ~1 for a unimodal or flat distribution (a smooth gradient, e.g. a sky), near 0 for two separate
    modes (brick next to grass).
    """
    proj = np.asarray(proj, dtype=np.float64).ravel()
    if proj.size == 0:
        return 1.0
    lo, hi = np.percentile(proj, [1, 99])
    if hi <= lo:
        return 1.0
    hist, edges = np.histogram(proj, bins=bins, range=(lo, hi))
    hist = np.convolve(hist.astype(np.float64), np.array([1, 2, 3, 2, 1]) / 9.0, mode="same")
    centres = (edges[:-1] + edges[1:]) / 2
    mid = (m0 + m1) / 2
    left, right = np.flatnonzero(centres <= mid), np.flatnonzero(centres > mid)
    if left.size == 0 or right.size == 0:
        return 1.0
    pl, pr = left[np.argmax(hist[left])], right[np.argmax(hist[right])]
    peak = min(hist[pl], hist[pr])
    return 1.0 if peak <= 0 else float(hist[pl : pr + 1].min() / peak)


def _coherence(mask: np.ndarray, min_piece: float) -> float:
    """Share of ``mask``'s pixels that lie in 4-connected pieces of >= ``min_piece`` pixels (1 = all
    in solid pieces; low = salt-and-pepper)."""
    sizes = component_sizes(mask)
    if sizes.size == 0:
        return 0.0
    return float(sizes[sizes >= min_piece].sum() / sizes.sum())


def try_split(
    g: int,
    z: np.ndarray,
    group_w: np.ndarray,
    interiors: np.ndarray,
    cfg: MiningConfig,
    rng: np.random.Generator,
) -> SplitTest | None:
    """The split test of group ``g`` of the working-size group map ``group_w``, or None when the
    group is not tested (too small, too thin to have an interior, one 2-means cluster empty, or a
    half under ``split_min_frac``).

    z: (N, D) standardised descriptors of ``group_w``'s pixels; interiors: ``groups.interior_map``
    of ``group_w`` (a pixel's neighbourhood holds only its own group exactly when it does in the
    group's own mask); rng: draws the 2-means subsample (only when the interior is larger).
    """
    mask = group_w == g
    n_img = group_w.size
    size = int(np.count_nonzero(mask))
    if size < 2 * cfg.split_min_frac * n_img or size < 16:
        return None
    # statistics come from the group's interior: near its edge the descriptors' windows see the
    # neighbours, and that blur must not pass for a second texture (no interior, no split)
    interior = interiors & mask
    inner_idx = np.flatnonzero(interior.ravel())
    if inner_idx.size < 0.5 * size:
        return None
    sample = (
        np.sort(rng.choice(inner_idx.size, MAX_SPLIT_SAMPLE, replace=False))
        if inner_idx.size > MAX_SPLIT_SAMPLE
        else np.arange(inner_idx.size)
    )
    xs = z[inner_idx[sample]]
    found = two_means(xs)
    if found is None:
        return None
    c0, c1 = found[1]
    axis = (c1 - c0).astype(np.float32)
    valley = valley_ratio(xs @ axis, float(c0 @ axis), float(c1 @ axis))
    if valley > cfg.split_valley:
        # no valley between the two modes: rejected whatever J and coherence would say
        return SplitTest(g, valley, interior)
    # every pixel of the group to the nearer centre (the half-space test of the two centres)
    thr = 0.5 * float(c1 @ c1 - c0 @ c0)
    ind = ((z @ axis > thr).reshape(mask.shape) & mask).astype(np.float32)
    # 3 x 3 majority inside the group (exact integer counts, edges replicated)
    num = cv2.boxFilter(ind, -1, (3, 3), normalize=False, borderType=cv2.BORDER_REPLICATE)
    den = cv2.boxFilter(mask.astype(np.float32), -1, (3, 3), normalize=False, borderType=cv2.BORDER_REPLICATE)
    half1 = mask & (num > 0.5 * den)
    half0 = mask & ~half1
    n1 = int(np.count_nonzero(half1))
    n0 = size - n1
    if min(n0, n1) < cfg.split_min_frac * n_img:
        return None
    j = separability(
        GroupStats.of(z[(half0 & interior).ravel()]), GroupStats.of(z[(half1 & interior).ravel()])
    )
    piece = max(cfg.min_region_frac * n_img, 4.0)
    coh = (_coherence(half0, piece), _coherence(half1, piece))
    accepted = j > cfg.split_separability and min(coh) >= cfg.split_coherence
    return SplitTest(g, valley, interior, bool(accepted), half1, j, (n0 / n_img, n1 / n_img), coh)
