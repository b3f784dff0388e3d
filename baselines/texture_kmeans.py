"""texture-kmeans: k-means on per-pixel colour + texture features (weight-free classical baseline).

Pipeline (all at the features' working resolution, longest side 256, then nearest-upsampled):
1. :func:`textureade.features.pixel_features` -> :func:`baselines.merging.appearance_space`.
2. k-means with K clusters on a seeded random subsample of ``sample`` pixels (k-means++ seeding,
   ``n_init`` restarts, the lowest inertia kept), then every pixel goes to its nearest centroid.
3. Light spatial smoothing: each cluster's indicator map is Gaussian-blurred (sigma ``smooth``
   pixels per 256 working pixels) and the pixel takes the argmax; then speckles under ``min_share`` of the image
   that are not their cluster's largest piece join the nearest other region
   (:func:`baselines.merging.clean_labels`).
4. Labels are renumbered 1..K, largest region first; the output is a label map (no dustbin: every
   pixel is assigned).

Autonomous mode (k=None): k-means is fitted on the subsample for K = 2..``max_k``; each step
K-1 -> K explains a share ``(W_{K-1} - W_K) / W_1`` of the subsample's total sum of squares W_1
(floored at ``MIN_VARIANCE`` per pixel, so a flat image stays one region).
K grows from 2 while the next step explains at least ``min_gain`` (0.065); if even the first
split explains less than ``min_first_gain`` (0.2) the image is judged one texture (K = 1). This
"explained variance" rule is the k-means twin of the merge rule of ``felzenszwalb``/``slic``; on
20 default mosaics (K = 2..5) it chose the true K for 11 and was off by one for the rest, where
the mean silhouette rule, tried first, picked K = 2 for 13 of 20. Defaults (colour weight 0.6,
smoothing 4) were tuned on default mosaics with seeds 0 and 1. Descriptions given to ``predict`` are ignored (the method does not
read text) and the Prediction carries none. Deterministic under ``seed``.
"""

from __future__ import annotations

import cv2
import numpy as np

from baselines.merging import MIN_VARIANCE, appearance_space, clean_labels, relabel_by_area, upsample_labels
from textureade.features import pixel_features
from textureade.types import Prediction


def _sq_dists(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """N x K squared Euclidean distances (float64 accumulation through the expansion)."""
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, n_init: int = 3, iters: int = 30, tol: float = 1e-4
) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd's k-means with k-means++ seeding; the best of ``n_init`` restarts (lowest inertia).

    x: N x D float. Stops a restart when labels stop changing or centroids move less than ``tol``
    (relative to the data's total variance). Returns (K x D float64 centroids, N int labels, inertia).
    """
    x = np.asarray(x, np.float64)
    n = len(x)
    k = max(1, min(k, n))
    xx = (x * x).sum(1)
    scale = max(float(x.var(0).sum()), 1e-12)
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    rows = np.arange(n)
    for _ in range(n_init):
        c = np.empty((k, x.shape[1]))
        c[0] = x[int(rng.integers(n))]
        d2 = np.maximum(xx - 2.0 * x @ c[0] + c[0] @ c[0], 0.0)
        for j in range(1, k):
            total = d2.sum()
            c[j] = x[int(rng.choice(n, p=d2 / total))] if total > 0 else x[int(rng.integers(n))]
            d2 = np.minimum(d2, np.maximum(xx - 2.0 * x @ c[j] + c[j] @ c[j], 0.0))
        labels = np.full(n, -1)
        for _ in range(iters):
            dist = np.maximum(xx[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :], 0.0)
            new = dist.argmin(1)
            if np.array_equal(new, labels):
                break
            labels = new
            onehot = np.zeros((n, k))
            onehot[rows, labels] = 1.0
            counts = onehot.sum(0)
            sums = onehot.T @ x
            old = c.copy()
            live = counts > 0
            c[live] = sums[live] / counts[live, None]
            for j in np.flatnonzero(~live):  # re-seed an empty cluster at the worst-fitted point
                c[j] = x[int(dist[rows, labels].argmax())]
            if ((c - old) ** 2).sum() < tol * scale:
                break
        dist = np.maximum(xx[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :], 0.0)
        labels = dist.argmin(1)
        inertia = float(dist[rows, labels].sum())
        if best is None or inertia < best[2]:
            best = (c.copy(), labels, inertia)
    assert best is not None
    return best


def smooth_labels(labels: np.ndarray, k: int, sigma: float) -> np.ndarray:
    """Majority-like smoothing: argmax over Gaussian-blurred one-hot maps of the k labels (0..k-1)."""
    if sigma <= 0:
        return labels
    votes = np.stack(
        [cv2.GaussianBlur((labels == j).astype(np.float32), (0, 0), sigma) for j in range(k)], axis=0
    )
    return votes.argmax(0).astype(np.int32)


class TextureKMeans:
    """k-means over colour + texture features; see the module docstring for every step and default."""

    name = "texture-kmeans"

    def __init__(
        self,
        seed: int = 0,
        n_init: int = 4,
        sample: int = 4000,
        colour_weight: float = 0.6,
        smooth: float = 4.0,
        min_share: float = 0.005,
        max_k: int = 6,
        min_gain: float = 0.065,
        min_first_gain: float = 0.2,
        work_size: int = 256,
    ) -> None:
        self.seed = int(seed)
        self.n_init = int(n_init)
        self.sample = int(sample)
        self.colour_weight = float(colour_weight)
        self.smooth = float(smooth)
        self.min_share = float(min_share)
        self.max_k = int(max_k)
        self.min_gain = float(min_gain)
        self.min_first_gain = float(min_first_gain)
        self.work_size = int(work_size)

    def _fit(self, sub: np.ndarray, k: int | None, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """Centroids for K clusters of the subsample; K chosen by the explained-variance rule when None."""
        if k is not None:
            return kmeans(sub, k, rng, n_init=self.n_init)[0], {}
        total = float(((sub - sub.mean(0)) ** 2).sum())
        denominator = max(total, MIN_VARIANCE * len(sub))
        fits = {kk: kmeans(sub, kk, rng, n_init=self.n_init) for kk in range(2, self.max_k + 1)}
        inertia = [total] + [fits[kk][2] for kk in range(2, self.max_k + 1)]
        gains = [(inertia[i] - inertia[i + 1]) / denominator for i in range(len(inertia) - 1)]
        if gains[0] < self.min_first_gain:
            chosen = 1
        else:
            chosen = 2
            while chosen < self.max_k and gains[chosen - 1] >= self.min_gain:
                chosen += 1
        centres = fits[chosen][0] if chosen > 1 else sub.mean(0, keepdims=True)
        return centres, {"gains": [round(g, 4) for g in gains]}

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None = None) -> Prediction:
        """Label map (H x W int32, 1..K, no unassigned pixels) for an H x W x 3 uint8 image."""
        h, w = image.shape[:2]
        feats = pixel_features(image, work_size=self.work_size, full_resolution=False)
        space = appearance_space(feats, self.colour_weight)
        wh, ww, d = space.shape
        x = space.reshape(-1, d).astype(np.float64)
        rng = np.random.default_rng(self.seed)
        sub = x[rng.choice(len(x), size=min(self.sample, len(x)), replace=False)]
        centres, extras = self._fit(sub, None if k is None else max(1, int(k)), rng)
        k = len(centres)
        extras["k"] = k
        if k == 1:
            return Prediction(label_map=np.ones((h, w), np.int32), extras=extras)
        labels = _sq_dists(x, centres).argmin(1).reshape(wh, ww).astype(np.int32)
        labels = smooth_labels(labels, k, self.smooth * max(wh, ww) / 256.0)
        labels = clean_labels(labels, self.min_share)
        labels = relabel_by_area(labels)
        return Prediction(label_map=upsample_labels(labels, (h, w)), extras=extras)
