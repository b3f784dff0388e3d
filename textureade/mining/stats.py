"""Appearance statistics of segments and the two tests the miner applies to them.

Per-pixel descriptors (H x W x D float32, from ``textureade.features.pixel_features``) are first
standardised per image (each dimension to zero mean and unit variance over the image), so that Lab
colour and filter-bank energies weigh alike.

Separability of two pixel groups A and B (the test used for merging and splitting)::

    J(A, B) = sum_d (mean_A[d] - mean_B[d])^2 / ((var_A[d] + var_B[d]) / 2 + eps)

the squared Mahalanobis distance between the group means under the pooled within-group diagonal
covariance (Fisher's criterion). Under a Gaussian model of independent pixels a classifier separating
A from B would err about Phi(-sqrt(J) / 2) of the time; descriptors are smoothed over windows, so
neighbouring pixels are far from independent and slow drifts inside one material reach J ~ 10-15
(two halves of one brick photograph: 13; brick vs grass: > 200). The miner uses one threshold for
both decisions (``merge_separability`` = ``split_separability`` = 20 by default): two segments are
"statistically indistinguishable" when J < 20; a segment is "clearly bimodal" only when its 2-means
halves have J > 20 *and* the 2-means axis shows a valley between two modes (``valley_ratio``; a
smooth gradient such as a sky has none) *and* both halves are spatially solid. Statistics are taken
from segment interiors (see ``regions.interior_map``) where the descriptors' windows do not reach
into neighbouring segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-2  # variance floor in standardised units (flat regions must not look infinitely distinct)


def standardise(features: np.ndarray) -> np.ndarray:
    """H x W x D -> N x D float64, each column with zero mean and unit variance (constant columns -> 0)."""
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    mu = flat.mean(axis=0)
    sd = flat.std(axis=0)
    sd[sd < 1e-8] = 1.0
    return (flat - mu) / sd


@dataclass
class GroupStats:
    """Sufficient statistics of a pixel group: count, per-dimension sum and sum of squares."""

    n: float
    s: np.ndarray
    ss: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.s / max(self.n, 1.0)

    @property
    def var(self) -> np.ndarray:
        m = self.mean
        return np.maximum(self.ss / max(self.n, 1.0) - m * m, 0.0)

    def __add__(self, other: GroupStats) -> GroupStats:
        return GroupStats(self.n + other.n, self.s + other.s, self.ss + other.ss)

    @staticmethod
    def of(x: np.ndarray) -> GroupStats:
        """Stats of an N x D array."""
        return GroupStats(float(x.shape[0]), x.sum(axis=0), (x * x).sum(axis=0))


def segment_stats(seg: np.ndarray, feats: np.ndarray) -> dict[int, GroupStats]:
    """Stats of every segment id > 0 of ``seg`` (flat, length N) over ``feats`` (N x D)."""
    m = int(seg.max()) + 1 if seg.size else 1
    n = np.bincount(seg, minlength=m).astype(np.float64)
    d = feats.shape[1]
    s = np.empty((m, d))
    ss = np.empty((m, d))
    for j in range(d):
        col = feats[:, j]
        s[:, j] = np.bincount(seg, weights=col, minlength=m)
        ss[:, j] = np.bincount(seg, weights=col * col, minlength=m)
    return {i: GroupStats(n[i], s[i], ss[i]) for i in range(1, m) if n[i] > 0}


def separability(a: GroupStats, b: GroupStats) -> float:
    """Fisher separability J of two groups (see the module docstring); 0 = identical means."""
    diff = a.mean - b.mean
    pooled = (a.var + b.var) / 2.0 + EPS
    return float((diff * diff / pooled).sum())


def _lloyd(x: np.ndarray, lab: np.ndarray, iters: int) -> tuple[np.ndarray, float]:
    """Lloyd iterations from a labelling; returns (labels, within-cluster sum of squares).

    The nearest-centre test is the equivalent half-space test 2 x.(c1 - c0) > |c1|^2 - |c0|^2, done
    with elementwise products (no BLAS call)."""
    n = x.shape[0]
    tot = x.sum(axis=0)
    lab = lab.astype(bool)
    for _ in range(iters + 1):
        n1 = int(lab.sum())
        if n1 in (0, n):
            return lab.astype(np.int64), float("inf")
        c1 = x[lab].sum(axis=0) / n1
        c0 = (tot - c1 * n1) / (n - n1)
        w = c1 - c0
        new = 2.0 * (x * w).sum(axis=1) > float((c1 * c1).sum() - (c0 * c0).sum())
        if np.array_equal(new, lab):
            break
        lab = new
    n1 = int(lab.sum())
    if n1 in (0, n):
        return lab.astype(np.int64), float("inf")
    c1 = x[lab].mean(axis=0)
    c0 = x[~lab].mean(axis=0)
    sse = float((x * x).sum() - n1 * (c1 * c1).sum() - (n - n1) * (c0 * c0).sum())
    if lab[0]:  # canonical polarity: the first point is in cluster 0 (immune to a flipped PCA sign)
        lab = ~lab
    return lab.astype(np.int64), sse


def two_means_candidates(x: np.ndarray, iters: int = 15) -> list[tuple[np.ndarray, float]]:
    """Deterministic 2-means of an N x D array from two starts; returns [(labels, SSE)] per start.

    Two starts, no randomness: the median of the projection on the first principal component, and
    the farthest pair (the point farthest from the mean, then the point farthest from
    it); Lloyd iterations from each (SSE = within-cluster sum of squares, inf for a single cluster).
    """
    if x.shape[0] < 4:
        return [(np.zeros(x.shape[0], dtype=np.int64), float("inf"))]
    xc = x - x.mean(axis=0)
    # leading eigenvector of the D x D covariance (D is small). Built with elementwise products, not
    # a BLAS matrix product: threaded OpenBLAS on a tall-thin matrix can spin for 100+ ms on a busy host.
    d = x.shape[1]
    cov = np.empty((d, d))
    for i in range(d):
        cov[i] = (xc * xc[:, i : i + 1]).sum(axis=0)
    cov /= max(x.shape[0] - 1, 1)
    _, vecs = np.linalg.eigh(cov)
    axis = vecs[:, -1]
    if axis[np.argmax(np.abs(axis))] < 0:  # fix the sign so the result is reproducible
        axis = -axis
    proj = (xc * axis).sum(axis=1)
    a = int(np.argmax((xc * xc).sum(axis=1)))
    b = int(np.argmax(((x - x[a]) ** 2).sum(axis=1)))
    far = (((x - x[b]) ** 2).sum(axis=1) < ((x - x[a]) ** 2).sum(axis=1)).astype(np.int64)
    starts = [(proj > np.median(proj)).astype(np.int64), far]
    return [_lloyd(x, start, iters) for start in starts]


def two_means(x: np.ndarray, iters: int = 15) -> np.ndarray:
    """Deterministic 2-means of an N x D array; returns N labels in {0, 1}: the lowest
    within-cluster sum of squares among ``two_means_candidates`` (ties: the earlier start)."""
    if x.shape[0] < 4:
        return np.zeros(x.shape[0], dtype=np.int64)
    best_lab, best_sse = None, float("inf")
    for lab, sse in two_means_candidates(x, iters):
        if best_lab is None or sse < best_sse:
            best_lab, best_sse = lab, sse
    return best_lab
