"""Per-image texture score (0..100) in the spirit of the Detecture Miner.

Inputs: the class label map (H x W int, 0 = unlabeled) and a type per class. Terms, each in [0, 1]
before its weight from the mining manifest (weights sum to 100):
- texture_area: share of the image covered by texture-surface classes;
- large_texture_components: connected components of one texture class covering >=
  ``large_component_frac`` (8%) of the image; 2 or more score 1;
- strong_boundaries: class pairs sharing >= ``strong_boundary_px`` (40) boundary pixels (4-neighbour
  pixel pairs with different labels, both labelled); 3 or more score 1;
- boundary_length: boundary pixels / sqrt(H*W) inside ``boundary_density_range`` scores 1, ramping
  linearly to 0 at half the lower bound and at twice the upper bound;
- segment_count: classes covering >= ``min_segment_frac`` inside ``segment_count_range``;
- largest_share: 1 - the largest class's share beyond 0.5 (a single dominant class scores low);
- tiny_share: 1 - the share of labelled classes that are tiny (< ``min_segment_frac``);
- entropy: the label entropy over classes, normalised by log(6).
Penalties subtract weight x area share for object, ambiguous and unlabeled pixels.

Areas come from the full-size class counts. Components and boundaries are counted at about the
miner's working resolution: on the map sampled every k-th row and column, k = long side //
``work_max_side`` (k = 1 for small images), boundary counts multiplied by k (full-size pixels); a
component of >= 8% of the image and a boundary of >= 40 pixels survive that sampling.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from textureade.config import MiningConfig
from textureade.mining.class_types import ClassType


@dataclass
class Selection:
    """The score of one image and why it is kept or dropped (``reason`` is None when kept)."""

    score: float
    keep: bool
    reason: str | None
    terms: dict[str, float] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def boundary_pairs(labels: np.ndarray) -> dict[tuple[int, int], int]:
    """Shared boundary length of every pair of labels (a < b), counting 4-neighbour pixel pairs.

    labels: non-negative ids. Pairs involving label 0 (unlabeled) are included; callers filter them.
    Each differing neighbour pair is coded as one integer ``a * base + b`` (base = max label + 1),
    so one 1-D ``np.unique`` counts them all, in (a, b) order.
    """
    lab = np.asarray(labels).astype(np.int64)
    if lab.size == 0 or lab.ndim != 2:
        return {}
    base = int(lab.max()) + 1
    codes = []
    for a, b in ((lab[:, :-1], lab[:, 1:]), (lab[:-1], lab[1:])):  # horizontal, vertical neighbours
        differ = a != b
        a, b = a[differ], b[differ]
        codes.append(np.minimum(a, b) * base + np.maximum(a, b))
    uniq, counts = np.unique(np.concatenate(codes), return_counts=True)
    return {(c // base, c % base): n for c, n in zip(uniq.tolist(), counts.tolist())}


def component_sizes(mask: np.ndarray) -> np.ndarray:
    """Pixel counts of the 4-connected components of a boolean map (int64, one per component)."""
    k, comp = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    return np.bincount(comp.ravel(), minlength=k)[1:].astype(np.int64)


def _large_components(mask: np.ndarray, min_size: float) -> int:
    """Number of 4-connected components of a boolean map holding >= ``min_size`` pixels."""
    return int((component_sizes(mask) >= min_size).sum())


def score_stride(shape: tuple[int, int], work_max_side: int) -> int:
    """Sampling step k of the map on which components and boundaries are counted: long side //
    ``work_max_side``, at least 1."""
    return max(1, max(int(shape[0]), int(shape[1])) // max(int(work_max_side), 1))


def _ramp(x: float, lo: float, hi: float) -> float:
    """1 inside [lo, hi], linear down to 0 at lo/2 and at 2*hi."""
    if lo <= x <= hi:
        return 1.0
    if x < lo:
        return max(0.0, (x - lo / 2) / (lo / 2)) if lo > 0 else 0.0
    return max(0.0, 1.0 - (x - hi) / hi) if hi > 0 else 0.0


def score_image(
    labels: np.ndarray, types: dict[int, ClassType], cfg: MiningConfig, counts: np.ndarray | None = None
) -> Selection:
    """Score one class label map; ``types`` must cover every id present (see ``type_classes``).
    ``counts``: ``np.bincount(labels.ravel())`` when the caller has it already."""
    h, w = labels.shape
    n = float(h * w)
    if counts is None:
        counts = np.bincount(labels.ravel())
    ids = np.flatnonzero(counts)
    share = dict(zip(ids.tolist(), (counts[ids] / n).tolist()))  # Python floats: cheap arithmetic below
    area = {t: 0.0 for t in ClassType}
    for cid, s in share.items():
        area[ClassType.IGNORE if cid == 0 else types.get(cid, ClassType.OBJECT)] += s
    unlabeled = share.get(0, 0.0)

    labelled = {c: s for c, s in share.items() if c != 0 and types.get(c) != ClassType.IGNORE}
    big = [s for s in labelled.values() if s >= cfg.min_segment_frac]
    tiny = [s for s in labelled.values() if s < cfg.min_segment_frac]

    tex_ids = [c for c in labelled if types.get(c) == ClassType.TEXTURE]
    k = score_stride((h, w), cfg.work_max_side)
    sub = labels[::k, ::k]
    n_large = 0
    for cid in tex_ids:
        # components per class (two touching texture classes are two components)
        if share[cid] >= cfg.large_component_frac:
            n_large += _large_components(sub == cid, cfg.large_component_frac * sub.size)

    pairs = boundary_pairs(sub)
    scored_pairs = {p: c * k for p, c in pairs.items() if p[0] != 0 and p[0] in labelled and p[1] in labelled}
    n_strong = sum(1 for c in scored_pairs.values() if c >= cfg.strong_boundary_px)
    boundary_px = float(sum(scored_pairs.values()))
    density = boundary_px / math.sqrt(n)

    probs = np.array(list(labelled.values()), dtype=np.float64)
    probs = probs / probs.sum() if probs.size and probs.sum() > 0 else probs
    entropy = float(-(probs * np.log(probs)).sum()) if probs.size else 0.0
    largest = max(labelled.values()) if labelled else 1.0
    lo_n, hi_n = cfg.segment_count_range

    terms = {
        "texture_area": area[ClassType.TEXTURE],
        "large_texture_components": min(n_large / 2.0, 1.0),
        "strong_boundaries": min(n_strong / 3.0, 1.0),
        "boundary_length": _ramp(density, *cfg.boundary_density_range),
        "segment_count": _ramp(float(len(big)), float(lo_n), float(hi_n)) if len(big) >= 2 else 0.0,
        "largest_share": min(max(1.0 - max(largest - 0.5, 0.0) / 0.5, 0.0), 1.0),
        "tiny_share": 1.0 - (len(tiny) / len(labelled) if labelled else 1.0),
        "entropy": min(entropy / math.log(6.0), 1.0),
    }
    penalties = {
        "object_area": area[ClassType.OBJECT],
        "ambiguous_area": area[ClassType.AMBIGUOUS],
        "unlabeled_area": area[ClassType.IGNORE],  # class 0 and ignore-typed classes
    }
    score = sum(cfg.weights.get(k, 0.0) * v for k, v in terms.items())
    score -= sum(cfg.penalties.get(k, 0.0) * v for k, v in penalties.items())
    score = min(max(float(score), 0.0), 100.0)
    weighted = {k: round(cfg.weights.get(k, 0.0) * v, 4) for k, v in terms.items()}
    weighted.update({k: round(-cfg.penalties.get(k, 0.0) * v, 4) for k, v in penalties.items()})
    stats = {
        "n_segments": len(big),
        "n_tiny": len(tiny),
        "n_large_texture_components": n_large,
        "n_strong_boundaries": n_strong,
        "boundary_density": round(density, 4),
        "largest_share": round(largest, 4),
        "entropy": round(entropy, 4),
        "texture_area": round(area[ClassType.TEXTURE], 4),
        "object_area": round(area[ClassType.OBJECT], 4),
        "ambiguous_area": round(area[ClassType.AMBIGUOUS], 4),
        "unlabeled_area": round(unlabeled, 4),
    }
    score = round(score, 3)
    keep = score >= cfg.min_score
    reason = None if keep else f"texture score {score:.1f} < {cfg.min_score:g}"
    return Selection(score=score, keep=keep, reason=reason, terms=weighted, stats=stats)
