"""Dataset-level aggregation: streaming sums of sufficient statistics and bootstrap intervals.

Two averages are reported for the partition metrics:
- per-image mean (the Detecture tables): each image's score, then the mean over images;
- pooled (dataset-level) variants where the metric has one: the per-image sums are added over
  the dataset first and the ratio taken once (BSDS/ODS style). They weight large or
  many-region images more and are reported beside, never instead of, the per-image means.
Memory is constant in the number of images: only sums and counts are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np

from benchmark.metrics.boundary import f_from_counts
from benchmark.metrics.partition import METRIC_KEYS, PartitionStats

#: The summed fields of :class:`PartitionStats`: all but the per-image scores and assignment.
_SUM_FIELDS = tuple(f.name for f in fields(PartitionStats) if f.name not in ("scores", "assignment"))


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


@dataclass
class PartitionAccumulator:
    """Streaming per-image means and pooled dataset-level partition metrics.

    ``add(stats)`` takes a :class:`PartitionStats` (from ``partition_stats``); a failed image goes
    through ``add_failure`` so it counts with its failure scores (0) in the means and adds only
    GT mass (denominators) to the pooled sums. ``result()`` returns ``{"n_images",
    "mean_<key>", "pooled_<name>"}``; a pooled ratio with a zero denominator is NaN.
    """

    keys: tuple[str, ...] = METRIC_KEYS
    sums: dict[str, float] = field(default_factory=dict)
    n_images: int = 0
    pooled: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_SUM_FIELDS, 0))

    def add_scores(self, scores: dict[str, float]) -> None:
        """Add one image's per-image scores to the running means."""
        for k in self.keys:
            self.sums[k] = self.sums.get(k, 0.0) + float(scores[k])
        self.n_images += 1

    def add(self, stats: PartitionStats) -> None:
        """Add one scored image: its scores to the means and its sums to the pooled variants."""
        self.add_scores(stats.scores)
        for f in _SUM_FIELDS:
            self.pooled[f] += getattr(stats, f)

    def add_failure(self, scores: dict[str, float], empty: PartitionStats | None = None) -> None:
        """Add a failed image: its failure scores to the means and, given ``empty`` (the
        ``partition_stats`` of an all-unassigned prediction on the same GT), its GT mass to the
        pooled denominators (its regions, pixels, covering mass and GT boundary pixels)."""
        self.add_scores(scores)
        if empty is not None:
            for f in ("max_gp", "n_pixels", "covering_den", "bf_n_gt"):
                self.pooled[f] += getattr(empty, f)

    def result(self) -> dict[str, float]:
        out: dict[str, float] = {"n_images": float(self.n_images)}
        for k in self.keys:
            out[f"mean_{k}"] = self.sums.get(k, 0.0) / self.n_images if self.n_images else float("nan")
        p = self.pooled
        out["pooled_miou_matched"] = _ratio(p["matched_iou_sum"], p["n_matched"])
        out["pooled_iou_panoptic"] = _ratio(p["matched_iou_sum"], p["max_gp"])
        out["pooled_covering"] = _ratio(p["covering_num"], p["covering_den"])
        out["pooled_pixel_acc_matched"] = _ratio(p["correct"], p["n_pixels"])
        out["pooled_boundary_f"] = f_from_counts(
            p["bf_fg_match"], p["bf_n_fg"], p["bf_gt_match"], p["bf_n_gt"]
        )
        out["pooled_boundary_iou"] = _ratio(p["biou_inter"], p["biou_union"])
        return out


def bootstrap_ci(
    values: Iterable[float], n: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float]:
    """Seeded percentile bootstrap interval of the mean of per-image scores.

    Draws ``n`` resamples of the m values with replacement (``np.random.default_rng(seed)``),
    takes each resample's mean and returns the ``alpha/2`` and ``1 - alpha/2`` quantiles
    (numpy's default linear interpolation). m = 0 -> (nan, nan); m = 1 -> (v, v). Values must
    be finite (failed images enter as their failure scores, never as NaN). Deterministic for a
    given seed; memory is bounded by resampling in chunks.
    """
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64).ravel()
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if v.size == 0:
        return float("nan"), float("nan")
    if not np.all(np.isfinite(v)):
        raise ValueError("bootstrap_ci: values must be finite (score failures, do not drop them as NaN)")
    m = v.size
    rng = np.random.default_rng(seed)
    means = np.empty(n)
    chunk = max(1, min(n, 4_000_000 // m))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        idx = rng.integers(0, m, size=(stop - start, m))
        means[start:stop] = v[idx].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)
