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

import cv2
import numpy as np

EPS = 1e-2  # variance floor in standardised units (flat regions must not look infinitely distinct)


def standardise(features: np.ndarray, in_place: bool = False) -> np.ndarray:
    """H x W x D -> N x D float32, each column with zero mean and unit variance (constant columns -> 0).

    Column sums come from ``cv2.reduce`` in float64 (numpy's axis-0 reductions over a short inner
    axis are slow). The result is a new array unless ``in_place`` and ``features`` is C-contiguous
    float32 (then ``features`` itself is standardised: one ~1 MB allocation less per image).
    """
    d = features.shape[-1]
    if in_place and features.dtype == np.float32 and features.flags.c_contiguous:
        z = features.reshape(-1, d)
    else:
        z = np.array(features, dtype=np.float32, order="C").reshape(-1, d)
    n = max(z.shape[0], 1)
    mu = cv2.reduce(z, 0, cv2.REDUCE_SUM, dtype=cv2.CV_64F).ravel() / n
    var = np.maximum(cv2.reduce(z, 0, cv2.REDUCE_SUM2, dtype=cv2.CV_64F).ravel() / n - mu * mu, 0.0)
    sd = np.sqrt(var)
    sd[sd < 1e-8] = 1.0
    # row-wise broadcasts over a short (D) inner axis are slow in numpy: operate on the map as
    # rows of W * D values with the (D,) vectors tiled to that length
    rows = z.reshape(features.shape[0], -1) if features.ndim == 3 else z
    reps = rows.shape[1] // d
    rows -= np.tile(mu.astype(np.float32), reps)
    rows *= np.tile((1.0 / sd).astype(np.float32), reps)
    return z


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
        """Stats of an N x D array (sums in float64)."""
        if x.shape[0] == 0:
            return GroupStats(0.0, np.zeros(x.shape[1]), np.zeros(x.shape[1]))
        x = np.ascontiguousarray(x, dtype=np.float32) if x.dtype != np.float64 else x
        if x.dtype == np.float32:
            s = cv2.reduce(x, 0, cv2.REDUCE_SUM, dtype=cv2.CV_64F).ravel()
            ss = cv2.reduce(x, 0, cv2.REDUCE_SUM2, dtype=cv2.CV_64F).ravel()
            return GroupStats(float(x.shape[0]), s, ss)
        return GroupStats(float(x.shape[0]), x.sum(axis=0), (x * x).sum(axis=0))


def grouped_sums(
    ids: np.ndarray, z: np.ndarray, m: int, want: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-id pixel count, sum and sum of squares of ``z`` (N x D float32) for ids 0..m-1 (flat ``ids``
    of length N): (m,) float64, (m, D) float64, (m, D) float64.

    One stable sort of the ids (radix for small ids), one gather of the rows in that order, then two
    ``cv2.reduce`` per id block on views of it (bincount per column would be D passes over the data).
    ``want``: optional (m,) bool, the ids whose sums are needed (the others' sums are left 0; counts
    are always complete).
    """
    d = z.shape[1]
    counts = np.bincount(ids, minlength=m)[:m]
    s = np.zeros((m, d))
    ss = np.zeros((m, d))
    key = ids.astype(np.int16) if m < 32768 else ids
    order = np.argsort(key, kind="stable")
    rows = np.take(z, order, axis=0)
    ends = np.cumsum(counts).tolist()
    todo = counts > 0 if want is None else (counts > 0) & want[:m]
    for i in np.flatnonzero(todo).tolist():
        blk = rows[ends[i] - int(counts[i]) : ends[i]]
        s[i] = cv2.reduce(blk, 0, cv2.REDUCE_SUM, dtype=cv2.CV_64F).ravel()
        ss[i] = cv2.reduce(blk, 0, cv2.REDUCE_SUM2, dtype=cv2.CV_64F).ravel()
    return counts.astype(np.float64), s, ss


def segment_stats(seg: np.ndarray, feats: np.ndarray) -> dict[int, GroupStats]:
    """Stats of every segment id > 0 of ``seg`` (flat, length N) over ``feats`` (N x D)."""
    m = int(seg.max()) + 1 if seg.size else 1
    n, s, ss = grouped_sums(seg, np.ascontiguousarray(feats, dtype=np.float32), m)
    return {i: GroupStats(n[i], s[i], ss[i]) for i in range(1, m) if n[i] > 0}


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


_KMEANS_CRITERIA = (cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS, 15, 0.0)


def _kmeans2(x: np.ndarray, start: np.ndarray, iters: int) -> tuple[np.ndarray, float]:
    """Lloyd iterations (``cv2.kmeans``, K = 2, from the labelling ``start``, until no centre moves or
    ``iters`` iterations); returns (labels, within-cluster sum of squares), canonical polarity (the
    first point in cluster 0). A start with one cluster empty gives SSE = inf."""
    n = x.shape[0]
    n1 = int(np.count_nonzero(start))
    if n1 in (0, n):
        return np.zeros(n, dtype=np.int64), float("inf")
    crit = (_KMEANS_CRITERIA[0], int(iters), 0.0)
    sse, lab, _ = cv2.kmeans(
        x, 2, start.astype(np.int32).reshape(-1, 1), crit, 1, cv2.KMEANS_USE_INITIAL_LABELS
    )
    lab = lab.reshape(-1)
    n1 = int(np.count_nonzero(lab))
    if n1 in (0, n):
        return np.zeros(n, dtype=np.int64), float("inf")
    if lab[0]:
        lab = 1 - lab
    return lab.astype(np.int64), float(sse)


def sample_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), covariance (D, D), divided by N) of an N x D float32 array, float64, no BLAS."""
    cov, mean = cv2.calcCovarMatrix(
        np.ascontiguousarray(x, dtype=np.float32), None, cv2.COVAR_NORMAL | cv2.COVAR_ROWS | cv2.COVAR_SCALE
    )
    return mean.ravel(), cov


def weighted_moments(moments: tuple[np.ndarray, np.ndarray], w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The moments of ``x * w`` from those of ``x``."""
    mean, cov = moments
    w = w.astype(np.float64)
    return mean * w, cov * np.outer(w, w)


def two_means(
    x: np.ndarray, iters: int = 15, moments: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Deterministic 2-means of an N x D array; returns N labels in {0, 1} (the first point in 0).

    Start: the median of the projection on the first principal component (no randomness); then
    Lloyd iterations (``cv2.kmeans`` in float32) until no centre moves or ``iters`` iterations.
    ``moments``: (mean, covariance) of ``x`` when known (``sample_moments``). No BLAS call (threaded
    OpenBLAS on a tall-thin matrix can spin on a busy host). (An earlier version also ran a
    farthest-pair start and kept the lower within-cluster SSE; on 92 scene/seed cases it changed one
    borderline decision, less than the seed does, at twice the cost.)
    """
    if x.shape[0] < 4:
        return np.zeros(x.shape[0], dtype=np.int64)
    x = np.ascontiguousarray(x, dtype=np.float32)
    return _kmeans2(x, _pca_start(x, moments), iters)[0]


def _pca_start(x: np.ndarray, moments: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Start labelling of ``two_means``: the projection on the first principal component above its
    median (bool (N,)); ``x`` C-contiguous float32."""
    mean, cov = moments if moments is not None else sample_moments(x)
    _, vecs = np.linalg.eigh(cov)
    axis = vecs[:, -1]
    if axis[np.argmax(np.abs(axis))] < 0:  # fix the sign so the result is reproducible
        axis = -axis
    proj = np.einsum("ij,j->i", x, axis.astype(np.float32))  # the mean shifts every point alike
    return proj > _median(proj)


def two_means_centres(x: np.ndarray, iters: int = 15) -> tuple[np.ndarray, np.ndarray] | None:
    """``two_means`` of an N x D float32 array as its two centres (float64 (D,) each, cluster 0 the
    one holding the first point: ``cv2.kmeans``'s own centres, no second pass over the labels), or
    None when a cluster is empty or N < 4."""
    n = x.shape[0]
    if n < 4:
        return None
    x = np.ascontiguousarray(x, dtype=np.float32)
    start = _pca_start(x)
    n1 = int(np.count_nonzero(start))
    if n1 in (0, n):
        return None
    crit = (_KMEANS_CRITERIA[0], int(iters), 0.0)
    _, lab, centres = cv2.kmeans(
        x, 2, start.astype(np.int32).reshape(-1, 1), crit, 1, cv2.KMEANS_USE_INITIAL_LABELS
    )
    n1 = int(np.count_nonzero(lab))
    if n1 in (0, n):
        return None
    c = centres.astype(np.float64)
    return (c[1], c[0]) if lab[0, 0] else (c[0], c[1])


def _median(v: np.ndarray) -> float:
    """``np.median`` of a 1-D array by one partition (the mean of the two middle values for even N)."""
    k = v.size // 2
    if v.size % 2:
        return float(np.partition(v, k)[k])
    part = np.partition(v, (k - 1, k))
    return 0.5 * (float(part[k - 1]) + float(part[k]))
