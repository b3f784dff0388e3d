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
from segment interiors (see ``groups.interior_map``) where the descriptors' windows do not reach
into neighbouring segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

EPS = 1e-2  # variance floor in standardised units (flat regions must not look infinitely distinct)


def standardise(features: np.ndarray) -> np.ndarray:
    """H x W x D -> N x D float32 (a new array), each column with zero mean and unit variance over
    the image (population variance; constant columns -> 0). The moments come from
    ``cv2.meanStdDev`` (one pass, double accumulators)."""
    x = np.ascontiguousarray(features, dtype=np.float32)
    mean, sd = (v.ravel() for v in cv2.meanStdDev(x))
    sd[sd < 1e-8] = 1.0
    z = x.reshape(-1, x.shape[-1]) - mean.astype(np.float32)
    z *= (1.0 / sd).astype(np.float32)
    return z


@dataclass
class GroupStats:
    """Sufficient statistics of a pixel group: count, per-dimension sum and sum of squares (float64)."""

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
        x = np.asarray(x, dtype=np.float64)
        return GroupStats(float(x.shape[0]), x.sum(axis=0), (x * x).sum(axis=0))


def grouped_sums(ids: np.ndarray, z: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-id pixel count, sum and sum of squares of ``z`` (N x D) for ids 0..m-1 (flat ``ids`` of
    length N, every id < m): (m,), (m, D) and (m, D), float64.

    One stable sort by id makes each id's pixels one contiguous run of the transposed (D x N)
    values; ``np.add.reduceat`` sums every run of every dimension in one call. The sort runs on
    16-bit keys when m allows (numpy sorts those by radix sort, ~2x faster; same order), and the
    squares overwrite the float64 copy (one D x N temporary instead of a transposing copy and a
    second array: ~4x faster at 84 x 112, same sums)."""
    d = z.shape[1]
    counts = np.bincount(ids, minlength=m)
    s, ss = np.zeros((m, d)), np.zeros((m, d))
    present = np.flatnonzero(counts)
    if present.size:
        order = np.argsort(ids.astype(np.uint16) if m <= 1 << 16 else ids, kind="stable")
        cols = np.take(z, order, axis=0).T.astype(np.float64)  # D x N, by id
        starts = (np.cumsum(counts) - counts)[present]
        s[present] = np.add.reduceat(cols, starts, axis=1).T
        np.multiply(cols, cols, out=cols)
        ss[present] = np.add.reduceat(cols, starts, axis=1).T
    return counts.astype(np.float64), s, ss


def separability(a: GroupStats, b: GroupStats) -> float:
    """Fisher separability J of two groups (see the module docstring); 0 = identical means."""
    diff = a.mean - b.mean
    pooled = (a.var + b.var) / 2.0 + EPS
    return float((diff * diff / pooled).sum())


def separability_matrix(means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """J of every pair of rows of (G x D) means and variances: a G x G matrix (0 on the diagonal)."""
    diff = means[:, None, :] - means[None, :, :]
    pooled = (variances[:, None, :] + variances[None, :, :]) / 2.0 + EPS
    return (diff * diff / pooled).sum(axis=2)


def two_means(x: np.ndarray, iters: int = 15) -> tuple[np.ndarray, np.ndarray] | None:
    """Deterministic 2-means of an N x D array: (labels (N,) int64 in {0, 1} with the first point in
    cluster 0, centres (2, D) float64 in that order), or None when N < 4 or a cluster ends empty.

    Start: the projection on the first principal component above its median (no randomness); then
    Lloyd iterations (``cv2.kmeans`` in float32) until no centre moves or ``iters`` iterations.
    """
    n = x.shape[0]
    if n < 4:
        return None
    x = np.ascontiguousarray(x, dtype=np.float32)
    centred = x.astype(np.float64)
    centred -= centred.mean(axis=0)
    _, vecs = np.linalg.eigh(centred.T @ centred / n)  # the population covariance
    axis = vecs[:, -1]
    if axis[np.argmax(np.abs(axis))] < 0:  # fix the sign so the result is reproducible
        axis = -axis
    proj = x @ axis.astype(np.float32)  # the mean shifts every point alike
    start = proj > np.median(proj)
    if start.all() or not start.any():
        return None
    criteria = (cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS, int(iters), 0.0)
    _, lab, centres = cv2.kmeans(
        x, 2, start.astype(np.int32).reshape(-1, 1), criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS
    )
    lab = lab.ravel().astype(np.int64)
    if lab.all() or not lab.any():
        return None
    centres = centres.astype(np.float64)
    if lab[0]:
        lab, centres = 1 - lab, centres[::-1]
    return lab, centres
