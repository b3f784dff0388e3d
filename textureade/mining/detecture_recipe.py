"""The Detecture Miner's ADE20K recipe (``textureade build --mining detecture``; issue #11 item 8).

Written from the authors' procedure (sources and values: ``manifests/mining/detecture.yaml``), so
that ADE20k_Detecture-style data and ours can be built from one ADE20K copy and compared. Input:
the class label map (H x W, 0 = unlabeled), the class names and a
:class:`textureade.config.DetectureRecipeConfig` ``rc``.

1. Typing (:func:`detecture_kind`): the lower-cased class name (for SceneParse150 ids the full
   objectInfo150 name with its synonyms, e.g. ``"palm, palm tree"``) is an OBJECT when any object
   keyword is a SUBSTRING of it, else TEXTURE for a texture keyword, else AMBIGUOUS for an ambiguous
   one, else OBJECT; class 0 is IGNORE and counts in no fraction.
2. Label statistics over the non-zero classes, shares r_i of the image: n = their number, largest
   and median r, small_frac = share of classes with r < ``small_threshold`` (0.1%: "tiny"),
   entropy = -sum p log2 p with p = r / sum r. Stage-A score (0..100) = 100 x (0.28 min(1, n/120)
   + 0.24 (1 - min(1, largest/0.65)) + 0.18 (1 - min(1, median/0.03)) + 0.18 min(1, small_frac/0.55)
   + 0.12 min(1, entropy/4)).
3. Geometry: the 8-connected components of every texture class; "large" = area >=
   ``min_large_region_frac`` of the image. Over the map of large components only, 4-neighbour pixel
   pairs of two different components give per pair a boundary count; strong = pairs with >=
   ``strong_boundary_min_pixels``; boundary_norm = all counts / (2 (H + W)). balance = 1 - largest
   large area / their sum (0 below two). Geometry score = 100 x (0.28 min(1, L/3) + 0.34 min(1, S/2)
   + 0.26 min(1, boundary_norm/0.35) + 0.12 balance) x (1 - min(0.75, 1.15 object_fraction)).
4. Texture-priority score (``apply_texture_priority_scoring``) = clip(0.2 stage_a + 0.6 geometry
   + 20 clip((texture_fraction - 0.65)/0.35, 0, 1) + (6 if 2 <= L <= 4, 2 if L > 4, else -8)
   + (3 if S >= 1 else -4) - 180 clip(object_fraction - 0.002, 0, 1) - 120 ambiguous_fraction
   - 4 max(L - 5, 0), 0, 100). Kept when >= ``selected_min`` (65).
5. Regions (``extract_class_masks``): one mask per class present (instances merged, class 0
   dropped, any type), classes under ``min_region_frac`` (1%) dropped, the ``max_regions`` (5)
   largest kept (ties: lower class id first), the image skipped with fewer than ``min_regions`` (2).
   Region k of the label map is the k-th largest class; other pixels are 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from textureade.config import DetectureRecipeConfig, MiningConfig
from textureade.describe.base import RegionInfo
from textureade.mining.class_types import ClassType
from textureade.mining.selection import Selection
from textureade.mining.types import MiningSkip, RegionSet
from textureade.readers.ade150 import ADE150_FULL_NAMES, first_synonym
from textureade.types import Scene

RECIPE = "detecture"


def detecture_kind(name: str, rc: DetectureRecipeConfig) -> ClassType:
    """The authors' type of one class name: keywords as substrings, object > texture > ambiguous,
    no match -> OBJECT."""
    n = (name or "").lower()
    if any(k in n for k in rc.object_keywords):
        return ClassType.OBJECT
    if any(k in n for k in rc.texture_keywords):
        return ClassType.TEXTURE
    if any(k in n for k in rc.ambiguous_keywords):
        return ClassType.AMBIGUOUS
    return ClassType.OBJECT


def typing_name(cid: int, class_names: dict[int, str]) -> str:
    """The name a class is typed by: the full objectInfo150 name (all synonyms) when ``cid`` is a
    SceneParse150 id named by its first synonym, else the scene's own name ("" when unnamed)."""
    name = class_names.get(cid, "")
    if 1 <= cid <= len(ADE150_FULL_NAMES) and name == first_synonym(ADE150_FULL_NAMES[cid - 1]):
        return ADE150_FULL_NAMES[cid - 1]
    return name


@dataclass
class DetectureStats:
    """The per-image quantities the authors' score is made of (see the module docstring)."""

    n_classes: int
    largest_ratio: float
    median_ratio: float
    small_frac: float
    entropy_bits: float
    stage_a: float
    texture_fraction: float
    object_fraction: float
    ambiguous_fraction: float
    n_large: int
    n_strong: int
    boundary_norm: float
    balance: float
    geometry: float


def stage_a_score(n: int, largest: float, median: float, small_frac: float, entropy: float) -> float:
    weighted = (
        0.28 * min(1.0, n / 120.0)
        + 0.24 * (1.0 - min(1.0, largest / 0.65))
        + 0.18 * (1.0 - min(1.0, median / 0.03))
        + 0.18 * min(1.0, small_frac / 0.55)
        + 0.12 * min(1.0, entropy / 4.0)
    )
    return float(max(0.0, min(100.0, weighted * 100.0)))


def balance_score(areas: list[int]) -> float:
    if len(areas) < 2 or sum(areas) <= 0:
        return 0.0
    return float(max(0.0, min(1.0, 1.0 - max(areas) / float(sum(areas)))))


def geometry_score(
    n_large: int, n_strong: int, boundary_norm: float, balance: float, object_fraction: float
) -> float:
    raw = 100.0 * (
        0.28 * min(1.0, n_large / 3.0)
        + 0.34 * min(1.0, n_strong / 2.0)
        + 0.26 * min(1.0, boundary_norm / 0.35)
        + 0.12 * balance
    )
    return float(max(0.0, min(100.0, raw * (1.0 - min(0.75, object_fraction * 1.15)))))


def large_texture_boundaries(
    labels: np.ndarray, texture_ids: list[int], min_area: float, strong_min: int
) -> tuple[int, int, float, list[int]]:
    """(n_large, n_strong, boundary pixel pairs, large areas) of the texture classes' 8-connected
    components (see step 3)."""
    region_map = np.zeros(labels.shape, np.int32)
    areas: list[int] = []
    for cid in texture_ids:
        n, comp = cv2.connectedComponents((labels == cid).astype(np.uint8), connectivity=8)
        if n <= 1:
            continue
        sizes = np.bincount(comp.ravel(), minlength=n)[1:]
        keep = np.flatnonzero(sizes >= min_area)
        for j in keep:
            areas.append(int(sizes[j]))
            region_map[comp == j + 1] = len(areas)
    pairs = []
    for a, b in ((region_map[:, :-1], region_map[:, 1:]), (region_map[:-1], region_map[1:])):
        m = (a != b) & (a > 0) & (b > 0)
        pairs.append(np.stack([np.minimum(a[m], b[m]), np.maximum(a[m], b[m])], axis=1))
    both = np.concatenate(pairs)
    if not len(both):
        return len(areas), 0, 0.0, areas
    _, counts = np.unique(both, axis=0, return_counts=True)
    return len(areas), int((counts >= strong_min).sum()), float(counts.sum()), areas


def image_stats(labels: np.ndarray, kinds: dict[int, ClassType], rc: DetectureRecipeConfig) -> DetectureStats:
    """Steps 2-3 for a label map whose present ids are all typed in ``kinds``."""
    h, w = labels.shape
    total = float(max(1, h * w))
    counts = np.bincount(labels.ravel())
    ids = [int(c) for c in np.flatnonzero(counts)]
    frac = {t: sum(counts[c] for c in ids if c != 0 and kinds[c] == t) / total for t in ClassType}
    r = np.array([counts[c] / total for c in ids if c != 0], np.float64)
    p = r / max(1e-9, float(r.sum())) if r.size else r
    p = p[p > 0]
    entropy = float(-(p * np.log2(p)).sum()) if p.size else 0.0
    largest = float(r.max()) if r.size else 0.0
    median = float(np.median(r)) if r.size else 0.0
    small = float((r < rc.small_threshold).mean()) if r.size else 0.0
    texture_ids = [c for c in ids if c != 0 and kinds[c] == ClassType.TEXTURE]
    n_large, n_strong, boundary, areas = large_texture_boundaries(
        labels, texture_ids, rc.min_large_region_frac * total, rc.strong_boundary_min_pixels
    )
    norm = boundary / float(max(1, 2 * (h + w)))
    bal = balance_score(areas)
    obj = float(frac[ClassType.OBJECT])
    return DetectureStats(
        n_classes=int(r.size),
        largest_ratio=largest,
        median_ratio=median,
        small_frac=small,
        entropy_bits=entropy,
        stage_a=stage_a_score(int(r.size), largest, median, small, entropy),
        texture_fraction=float(frac[ClassType.TEXTURE]),
        object_fraction=obj,
        ambiguous_fraction=float(frac[ClassType.AMBIGUOUS]),
        n_large=n_large,
        n_strong=n_strong,
        boundary_norm=norm,
        balance=bal,
        geometry=geometry_score(n_large, n_strong, norm, bal, obj),
    )


def priority_terms(s: DetectureStats) -> dict[str, float]:
    """Step 4's terms (signed: penalties negative); the score is their clipped sum."""
    large = float(s.n_large)
    return {
        "stage_a": 0.20 * s.stage_a,
        "geometry": 0.60 * s.geometry,
        "texture_bonus": 20.0 * float(np.clip((s.texture_fraction - 0.65) / 0.35, 0.0, 1.0)),
        "region_bonus": 6.0 if 2.0 <= large <= 4.0 else (2.0 if large >= 2.0 else -8.0),
        "strong_bonus": 3.0 if s.n_strong >= 1 else -4.0,
        "object_penalty": -180.0 * float(np.clip(s.object_fraction - 0.002, 0.0, 1.0)),
        "ambiguous_penalty": -120.0 * float(np.clip(s.ambiguous_fraction, 0.0, 1.0)),
        "clutter_penalty": -4.0 * float(np.clip(large - 5.0, 0.0, 99.0)),
    }


def score_detecture(labels: np.ndarray, kinds: dict[int, ClassType], rc: DetectureRecipeConfig) -> Selection:
    """Steps 2-4 as a Selection (score rounded to 4 decimals for the record; the decision is
    taken on the exact score)."""
    stats = image_stats(labels, kinds, rc)
    terms = priority_terms(stats)
    score = float(min(max(sum(terms.values()), 0.0), 100.0))
    keep = score >= rc.selected_min
    reason = None if keep else f"texture-priority score {score:.1f} < {rc.selected_min:g} (detecture recipe)"
    return Selection(
        score=round(score, 4),
        keep=keep,
        reason=reason,
        terms={k: round(v, 4) for k, v in terms.items()},
        stats={k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(stats).items()},
    )


def class_regions(labels: np.ndarray, class_names: dict[int, str], rc: DetectureRecipeConfig) -> RegionSet:
    """Step 5; MiningSkip("regions", ...) below ``min_regions``."""
    total = float(labels.size)
    counts = np.bincount(labels.ravel())
    present = [(int(counts[c]), int(c)) for c in np.flatnonzero(counts) if c != 0]
    small = [c for a, c in present if a / total < rc.min_region_frac]
    big = sorted(((a, c) for a, c in present if a / total >= rc.min_region_frac), key=lambda x: -x[0])
    kept, beyond = big[: rc.max_regions], big[rc.max_regions :]
    provenance = {
        "recipe": RECIPE,
        "dropped_small": small,
        "dropped_beyond_max": [c for _, c in beyond],
        "regions": [
            {
                "class_ids": [c],
                "names": [class_names.get(c, f"class_{c}")],
                "area": a,
                "share": round(a / total, 6),
            }
            for a, c in kept
        ],
    }
    if len(kept) < rc.min_regions:
        raise MiningSkip(
            "regions",
            f"{len(kept)} ADE classes cover >= {rc.min_region_frac:.0%} of the image, the detecture recipe needs "
            f"{rc.min_regions}",
        )
    label_map = np.zeros(labels.shape, np.int32)
    regions = []
    for k, (a, c) in enumerate(kept, start=1):
        label_map[labels == c] = k
        regions.append(RegionInfo(index=k, class_names=[class_names.get(c, f"class_{c}")], area=a))
    return RegionSet(label_map=label_map, regions=regions, provenance=provenance)


def mine_detecture(scene: Scene, cfg: MiningConfig) -> tuple[Selection, RegionSet | None, MiningSkip | None]:
    """One scene through the recipe: (selection, regions or None, why no sample or None)."""
    rc = cfg.detecture
    if rc is None:
        raise ValueError("recipe detecture needs its 'detecture:' config block")
    labels = np.asarray(scene.labels)
    ids = [int(c) for c in np.unique(labels)]
    kinds = {
        c: ClassType.IGNORE if c == 0 else detecture_kind(typing_name(c, scene.class_names), rc) for c in ids
    }
    selection = score_detecture(labels, kinds, rc)
    selection.stats["kinds"] = {str(c): str(t) for c, t in kinds.items()}
    if not selection.keep:
        return selection, None, MiningSkip("select", selection.reason or "not kept")
    try:
        return selection, class_regions(labels, scene.class_names, rc), None
    except MiningSkip as exc:
        return selection, None, exc
