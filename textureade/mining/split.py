"""Merge and split machinery of the region miner: grouped segments with running appearance
statistics, and the split test (2-means, valley, coherence) of one group.

See ``textureade.mining.regions`` for the procedure and ``textureade.mining.stats`` for the J test.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage

from textureade.config import MiningConfig
from textureade.mining.selection import boundary_pairs
from textureade.mining.stats import GroupStats, segment_stats, separability, two_means

MIN_STAT_PIXELS = 8  # groups with fewer working pixels have unreliable statistics: never merged
MAX_SPLIT_SAMPLE = 600
SPLIT_MARGIN = 6  # working pixels of a segment's edge left out of the split statistics


def r4(x: float) -> float:
    return round(float(x), 4)


class Groups:
    """Union of pieces into groups with running appearance statistics and adjacency."""

    def __init__(self, piece_w: np.ndarray, z: np.ndarray, piece_class: dict[int, set[int]]):
        self.z = z
        self.piece_w = piece_w
        # appearance statistics from each piece's interior (>= SPLIT_MARGIN working pixels from any
        # other piece: there the descriptors' windows see only the piece); all its pixels when the
        # interior is smaller than MIN_STAT_PIXELS
        inner = np.where(interior_map(piece_w), piece_w, 0)
        self.stats = segment_stats(piece_w.ravel(), z)
        for p, st in segment_stats(inner.ravel(), z).items():
            if st.n >= MIN_STAT_PIXELS:
                self.stats[p] = st
        self.classes = {g: set(piece_class[g]) for g in piece_class}
        self.owner = {g: g for g in piece_class}
        self.adj: dict[int, set[int]] = {}

    def owner_lut(self) -> np.ndarray:
        lut = np.zeros(max(self.owner) + 1, dtype=np.int32)
        for p, o in self.owner.items():
            lut[p] = o
        return lut

    def group_w(self) -> np.ndarray:
        return self.owner_lut()[self.piece_w]

    def refresh_adjacency(self) -> None:
        self.adj = {g: set() for g in self.classes}
        for (a, b), c in boundary_pairs(self.group_w()).items():
            if a > 0 and c >= 2:
                self.adj[a].add(b)
                self.adj[b].add(a)

    def alive(self) -> list[int]:
        return sorted(g for g in self.classes if g in self.stats)

    def _why(self, a: int, b: int) -> str | None:
        touch = b in self.adj[a]
        same = bool(self.classes[a] & self.classes[b])
        if touch and same:
            return "adjacent, same class"
        return "adjacent" if touch else ("same class" if same else None)

    def merge_pass(
        self, tau: float, names: Callable[[int], list[str]], log: list[dict], min_cross: float = 0.0
    ) -> None:
        """Join the closest candidate pair while J < tau. Groups of different classes must both hold
        >= ``min_cross`` working pixels (thin or tiny segments have descriptors blurred by their
        surroundings); same-class groups only need MIN_STAT_PIXELS."""
        self.refresh_adjacency()
        cache: dict[tuple[int, int], float] = {}

        def dist(a: int, b: int) -> float:
            key = (a, b) if a < b else (b, a)
            if key not in cache:
                cache[key] = separability(self.stats[a], self.stats[b])
            return cache[key]

        while True:
            best: tuple[float, int, int] | None = None
            live = [g for g in self.alive() if self.stats[g].n >= MIN_STAT_PIXELS]
            for i, a in enumerate(live):
                for b in live[i + 1 :]:
                    why = self._why(a, b)
                    if why is None:
                        continue
                    if "same class" not in why and min(self.stats[a].n, self.stats[b].n) < min_cross:
                        continue
                    d = dist(a, b)
                    if d < tau and (best is None or (d, a, b) < best):
                        best = (d, a, b)
            if best is None:
                return
            d, a, b = best
            log.append(
                {"keep": a, "absorb": b, "J": r4(d), "why": self._why(a, b), "names": [names(a), names(b)]}
            )
            self.stats[a] = self.stats[a] + self.stats.pop(b)
            self.classes[a] |= self.classes.pop(b)
            for p, g in self.owner.items():
                if g == b:
                    self.owner[p] = a
            nb = self.adj.pop(b)
            for x in nb:
                self.adj[x].discard(b)
                if x != a:
                    self.adj[x].add(a)
                    self.adj[a].add(x)
            self.adj[a].discard(a)
            cache = {k: v for k, v in cache.items() if a not in k and b not in k}


def valley_ratio(proj: np.ndarray, m0: float, m1: float, bins: int = 32) -> float:
    """Depth of the gap between two modes of a 1-D projection: min density between the modes divided
    by the lower of the two peaks (histogram over the 1st-99th percentile, smoothed with 1-2-3-2-1).

    ~1 for a unimodal or flat distribution (a smooth gradient, e.g. a sky), near 0 for two separate
    modes (brick next to grass).
    """
    lo, hi = np.percentile(proj, [1, 99])
    if hi <= lo:
        return 1.0
    hist, edges = np.histogram(proj, bins=bins, range=(lo, hi))
    hist = np.convolve(hist.astype(np.float64), np.array([1, 2, 3, 2, 1]) / 9.0, mode="same")
    centres = (edges[:-1] + edges[1:]) / 2
    a, b = sorted((m0, m1))
    mid = (a + b) / 2
    left = np.flatnonzero(centres <= mid)
    right = np.flatnonzero(centres > mid)
    if left.size == 0 or right.size == 0:
        return 1.0
    pl = left[np.argmax(hist[left])]
    pr = right[np.argmax(hist[right])]
    peak = min(hist[pl], hist[pr])
    if peak <= 0:
        return 1.0
    return float(hist[pl : pr + 1].min() / peak)


def _block_weights(d: int) -> np.ndarray:
    """2-means weights giving the colour block (the first 3 channels, Lab) and the texture block (the
    rest) equal total weight; the J tests are unaffected (J is invariant to per-channel scale)."""
    if d <= 3:
        return np.ones(d)
    w = np.ones(d)
    w[:3] = np.sqrt((d - 3) / 3.0)
    return w


def interior_map(ids: np.ndarray, margin: int = 0) -> np.ndarray:
    """Boolean map of the pixels whose L1 neighbourhood of radius ``margin`` (default SPLIT_MARGIN)
    holds a single id (the image border does not count as a neighbour)."""
    m = margin or SPLIT_MARGIN
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    f = ids.astype(np.float32)
    lo = cv2.erode(f, cross, iterations=m, borderType=cv2.BORDER_REPLICATE)
    hi = cv2.dilate(f, cross, iterations=m, borderType=cv2.BORDER_REPLICATE)
    return lo == hi


def _coherence(mask: np.ndarray, min_piece: float) -> float:
    """Share of ``mask``'s pixels that lie in connected pieces of >= ``min_piece`` pixels (1 = all in
    solid pieces; low = salt-and-pepper)."""
    comp, k = ndimage.label(mask)
    if k == 0:
        return 0.0
    sizes = np.bincount(comp.ravel())[1:]
    return float(sizes[sizes >= min_piece].sum() / sizes.sum())


def try_split(
    g: int, grp: Groups, group_w: np.ndarray, cfg: MiningConfig, rng: np.random.Generator
) -> tuple[np.ndarray, dict] | None:
    """Return (working-size boolean map of the half that leaves, log entry) or None."""
    mask = group_w == g
    n_img = group_w.size
    idx = np.flatnonzero(mask.ravel())
    if idx.size < 2 * cfg.split_min_frac * n_img or idx.size < 16:
        return None
    x = grp.z[idx]
    # statistics come from the segment's interior: near its edge the descriptors' windows see the
    # neighbours, and that blur must not pass for a second texture
    # (a segment too thin to have an interior is never split)
    interior = interior_map(mask.astype(np.uint8)) & mask
    if interior.sum() < 0.5 * idx.size:
        return None
    inner_idx = np.flatnonzero(interior.ravel())
    sample = (
        np.sort(rng.choice(inner_idx.size, MAX_SPLIT_SAMPLE, replace=False))
        if inner_idx.size > MAX_SPLIT_SAMPLE
        else np.arange(inner_idx.size)
    )
    # 2-means (best of two starts by within-cluster SSE) in two spaces: colour and texture blocks
    # weighted equally, and the plain standardised descriptors; the space whose split shows the
    # deeper valley between its two modes is the one tested
    best = None
    for wts in (_block_weights(grp.z.shape[1]), np.ones(grp.z.shape[1])):
        xs = grp.z[inner_idx[sample]] * wts
        lab_s = two_means(xs)
        if lab_s.min() == lab_s.max():
            continue
        c0, c1 = xs[lab_s == 0].mean(axis=0), xs[lab_s == 1].mean(axis=0)
        axis = c1 - c0
        v = valley_ratio((xs * axis).sum(axis=1), float((c0 * axis).sum()), float((c1 * axis).sum()))
        if best is None or v < best[0] - 1e-9:
            best = (v, wts, c0, c1)
    if best is None:
        return None
    valley, wts, c0, c1 = best
    xw = x * wts
    lab = (((xw - c1) ** 2).sum(axis=1) < ((xw - c0) ** 2).sum(axis=1)).astype(np.float32)
    ind = np.zeros(n_img, dtype=np.float32)
    ind[idx] = lab
    ind = ind.reshape(mask.shape)
    # 3x3 majority inside the segment
    num = ndimage.uniform_filter(ind, size=3, mode="nearest")
    den = ndimage.uniform_filter(mask.astype(np.float32), size=3, mode="nearest")
    half1 = mask & (num > 0.5 * den)
    half0 = mask & ~half1
    n0, n1 = int(half0.sum()), int(half1.sum())
    if min(n0, n1) < cfg.split_min_frac * n_img:
        return None
    j = separability(
        GroupStats.of(grp.z[(half0 & interior).ravel()]), GroupStats.of(grp.z[(half1 & interior).ravel()])
    )
    piece = max(cfg.min_region_frac * n_img, 4.0)
    coh = (_coherence(half0, piece), _coherence(half1, piece))
    entry = {
        "group": g,
        "J": r4(j),
        "fractions": [r4(n0 / n_img), r4(n1 / n_img)],
        "coherence": [r4(coh[0]), r4(coh[1])],
        "valley": r4(valley),
    }
    entry["accepted"] = bool(
        j > cfg.split_separability and min(coh) >= cfg.split_coherence and valley <= cfg.split_valley
    )
    entry["interior"] = interior
    return half1, entry


def upsample_half(half_w: np.ndarray, group_w_mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Full-size boolean map of a split half: bilinear upsampling of its indicator, with values outside
    the segment filled from the nearest segment pixel so the cut follows the working-size decision."""
    if not group_w_mask.all():
        _, (ri, ci) = ndimage.distance_transform_edt(~group_w_mask, return_indices=True)
        ind = half_w[ri, ci].astype(np.float32)
    else:
        ind = half_w.astype(np.float32)
    up = cv2.resize(ind, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return up > 0.5
