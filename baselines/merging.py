"""Shared pieces of the classical baselines: the appearance space, region merging, label clean-up.

- :func:`appearance_space` turns :func:`textureade.features.pixel_features` into the space the
  classical methods cluster in: every channel z-scored over the image (std floored at 0.02 so a
  flat channel is not blown up into noise), then colour (L, a, b) and texture (contrast + Gabor)
  groups weighted so that each group carries a set share of the total variance.
- :func:`merge_regions` merges an over-segmentation (Felzenszwalb, SLIC) into K regions by
  agglomerative Ward linkage on the region means: the merge that least increases the
  within-region sum of squares goes first; pairs of segments that do not touch pay a
  ``nonadjacent_penalty`` factor (so one texture split over several cells can still join).
  Autonomous stopping: stop when the next merge would add more than ``tau`` of the image's total
  sum of squares, keeping at most ``max_regions`` regions.
- :func:`clean_labels` removes speckle: small connected components (under ``min_share`` of the
  image) that are not the largest piece of their label take the label of the nearest other pixel.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from textureade.features import COLOUR_SLICE, TEXTURE_SLICE, pixel_features, region_descriptors, working_size
from textureade.types import Prediction

STD_FLOOR = 0.02
MIN_VARIANCE = 0.01
"""Per-pixel total variance below which an image counts as flat: the autonomous rules divide by
max(total sum of squares, MIN_VARIANCE * pixels), so float noise on a uniform image is not "structure".
(In the appearance space an image whose every channel varies has a per-pixel total variance of 1.)"""


def appearance_space(features: np.ndarray, colour_weight: float = 0.4) -> np.ndarray:
    """H x W x D float32 features -> H x W x D float32 weighted z-scores (see module docstring).

    colour_weight in [0, 1] is the colour group's share of the total variance; texture gets the rest.
    """
    h, w, d = features.shape
    x = features.reshape(-1, d).astype(np.float32)
    mu = x.mean(0)
    sd = np.maximum(x.std(0), STD_FLOOR)
    z = (x - mu) / sd
    n_col = COLOUR_SLICE.stop - COLOUR_SLICE.start
    n_tex = d - n_col
    weights = np.empty(d, np.float32)
    weights[COLOUR_SLICE] = np.sqrt(colour_weight / n_col)
    weights[TEXTURE_SLICE] = np.sqrt((1.0 - colour_weight) / n_tex)
    return (z * weights).reshape(h, w, d)


def relabel_by_area(labels: np.ndarray) -> np.ndarray:
    """Map the labels of an H x W map (0 included) to 1..K, largest region first; int32."""
    ids, inverse, counts = np.unique(labels.ravel(), return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(len(ids), np.int32)
    rank[order] = np.arange(1, len(ids) + 1, dtype=np.int32)
    return rank[inverse].reshape(labels.shape)


def adjacency(labels: np.ndarray, n: int) -> np.ndarray:
    """n x n bool matrix: True where labels i and j (0..n-1) touch horizontally or vertically."""
    a = np.zeros((n, n), bool)
    for x, y in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        diff = x != y
        a[x[diff], y[diff]] = True
    return a | a.T


def merge_regions(
    segments: np.ndarray,
    space: np.ndarray,
    k: int | None,
    *,
    tau: float = 0.05,
    max_regions: int = 6,
    nonadjacent_penalty: float = 2.0,
) -> tuple[np.ndarray, dict]:
    """Merge an over-segmentation into regions by Ward linkage on appearance.

    segments: H x W integer ids (any values). space: H x W x D appearance features (e.g. from
    :func:`appearance_space`). k: target number of regions, or None for the autonomous rule
    (stop when the next merge costs > tau * total sum of squares, at most max_regions regions).
    Returns (H x W int32 labels 1..K, largest region first; diagnostics dict).
    """
    ids, inverse = np.unique(segments.ravel(), return_inverse=True)
    seg = inverse.reshape(segments.shape).astype(np.int64)
    n = len(ids)
    stats = region_descriptors(space, seg, ignore=None)
    means = np.stack([stats[i].mean for i in range(n)])
    counts = np.array([stats[i].n for i in range(n)], np.float64)
    within = float(sum(stats[i].spread.sum() * stats[i].n for i in range(n)))
    grand = (means * counts[:, None]).sum(0) / counts.sum()
    tss = within + float((counts * ((means - grand) ** 2).sum(1)).sum())
    tss = max(tss, MIN_VARIANCE * float(counts.sum()))
    adj = adjacency(seg, n)
    alive = np.ones(n, bool)
    parent = np.arange(n)

    def cost_row(i: int) -> np.ndarray:
        d2 = ((means - means[i]) ** 2).sum(1)
        c = counts * counts[i] / (counts + counts[i]) * d2
        c = np.where(adj[i], c, c * nonadjacent_penalty)
        c[~alive] = np.inf
        c[i] = np.inf
        return c

    cost = np.full((n, n), np.inf)
    for i in range(n):
        cost[i] = cost_row(i)
    target = max(1, k) if k is not None else 1
    n_alive, last = n, 0.0
    while n_alive > target:
        flat = int(np.argmin(cost))
        i, j = divmod(flat, n)
        c = float(cost[i, j])
        if not np.isfinite(c):
            break
        if k is None and n_alive <= max_regions and c > tau * tss:
            break
        # merge j into i
        total = counts[i] + counts[j]
        means[i] = (means[i] * counts[i] + means[j] * counts[j]) / total
        counts[i] = total
        adj[i] |= adj[j]
        adj[:, i] |= adj[:, j]
        adj[i, i] = False
        alive[j] = False
        parent[parent == j] = i
        cost[j, :] = np.inf
        cost[:, j] = np.inf
        row = cost_row(i)
        cost[i, :] = row
        cost[:, i] = row
        n_alive -= 1
        last = c
    labels = relabel_by_area(parent[seg])
    return labels, {"segments": int(n), "regions": int(n_alive), "last_merge_share": last / tss}


def clean_labels(labels: np.ndarray, min_share: float = 0.005) -> np.ndarray:
    """Reassign small speckles (see module docstring); never removes a label entirely. int32 H x W."""
    labels = labels.astype(np.int32, copy=True)
    min_area = max(1, int(min_share * labels.size))
    holes = np.zeros(labels.shape, bool)
    for lab in np.unique(labels):
        n_comp, comp, stats, _ = cv2.connectedComponentsWithStats(
            (labels == lab).astype(np.uint8), connectivity=4
        )
        if n_comp <= 2:
            continue
        areas = stats[1:, cv2.CC_STAT_AREA]
        biggest = int(np.argmax(areas)) + 1
        small = np.flatnonzero(areas < min_area) + 1
        small = small[small != biggest]
        if len(small):
            holes |= np.isin(comp, small)
    if holes.any() and not holes.all():
        _, (iy, ix) = ndimage.distance_transform_edt(holes, return_indices=True)
        labels = labels[iy, ix]
    return labels


def upsample_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an h x w label map to (H, W); int32."""
    if labels.shape == tuple(shape):
        return labels.astype(np.int32, copy=False)
    return cv2.resize(labels.astype(np.int32), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def downscale(image: np.ndarray, work_size: int) -> np.ndarray:
    """The image at the features' working resolution (INTER_AREA), uint8 RGB."""
    wh, ww = working_size(image.shape[:2], work_size)
    if (wh, ww) == image.shape[:2]:
        return image
    return cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)


class OversegmentAndMerge:
    """Base of the over-segment-then-merge methods (felzenszwalb, slic).

    Subclasses implement ``segments(small) -> h x w int ids`` on the working-resolution image; this
    class merges them by Ward linkage on mean colour + texture features (:func:`merge_regions`) to K
    regions, or with ``k=None`` until a merge would add more than ``tau`` of the total sum of squares
    (at most ``max_regions``), and nearest-upsamples labels 1..K (largest first) to the image.
    Descriptions are ignored and none are returned. Deterministic.
    """

    name = ""

    def __init__(
        self,
        colour_weight: float = 0.6,
        tau: float = 0.04,
        max_regions: int = 6,
        nonadjacent_penalty: float = 2.0,
        work_size: int = 256,
    ) -> None:
        self.colour_weight = float(colour_weight)
        self.tau = float(tau)
        self.max_regions = int(max_regions)
        self.nonadjacent_penalty = float(nonadjacent_penalty)
        self.work_size = int(work_size)

    def segments(self, small: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None = None) -> Prediction:
        """Label map (H x W int32, 1..K, every pixel assigned) for an H x W x 3 uint8 image."""
        small = downscale(image, self.work_size)
        space = appearance_space(pixel_features(small, work_size=None), self.colour_weight)
        labels, info = merge_regions(
            self.segments(small),
            space,
            k,
            tau=self.tau,
            max_regions=self.max_regions,
            nonadjacent_penalty=self.nonadjacent_penalty,
        )
        info["k"] = int(labels.max())
        return Prediction(label_map=upsample_labels(labels, image.shape[:2]), extras=info)
