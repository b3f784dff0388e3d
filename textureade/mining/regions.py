"""Regions by appearance: merge look-alike segments, split bimodal ones, keep 2-6 regions.

Procedure (all thresholds in ``MiningConfig``; tests in ``textureade.mining.stats``):
1. initial segments from the annotation (``segments.initial_segments``);
2. appearance descriptors once per image: ``features_fn`` (``textureade.features.pixel_features``)
   on a copy whose long side is <= ``work_max_side``, standardised per image;
3. merge: repeatedly join the candidate pair with the smallest Fisher separability J while
   J < ``merge_separability``; candidates are segments that touch (>= 2 shared boundary pixels at
   the working size) or share a class (instances of one class need not touch);
4. split (``split.try_split``): for each segment big enough, 2-means on its interior pixels'
   descriptors (>= 6 working px from its edge, where descriptors see the neighbours; no interior,
   no split; two deterministic starts, a seeded subsample of <= 600 pixels, in two weightings of
   the descriptors); split when J(halves) > ``split_separability``, the 2-means axis shows a valley
   (``valley_ratio`` <= ``split_valley``), each half covers >= ``split_min_frac`` of the image and
   is spatially coherent (after a 3x3 majority smoothing, >= ``split_coherence`` of it lies in
   connected pieces of >= ``min_region_frac``); then merge again;
5. drop regions under ``min_region_frac``; order by area (largest = region 1); keep at most
   ``max_regions``; skip the image with fewer than ``min_regions`` or coverage < ``min_coverage``.
Merge statistics come from segment interiors too (``split.interior_map``). Every merge, split
(and rejected split test) and drop goes into the provenance. The result depends only on the inputs and
the seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textureade.config import MiningConfig
from textureade.describe.base import RegionInfo
from textureade.mining.segments import initial_segments
from textureade.mining.split import (
    MIN_STAT_PIXELS,
    Groups,
    r4,
    try_split,
    upsample_half,
)
from textureade.mining.stats import GroupStats, standardise
from textureade.mining.typing import ClassType, primary_name
from textureade.types import Scene

FeatureFn = Callable[[np.ndarray, int], np.ndarray]
"""(image H x W x 3 uint8, work_max_side) -> h x w x D float32 at the working size (``work_size``)."""


class MiningSkip(Exception):
    """The image yields no usable region set; the message is the reason (one line)."""


@dataclass
class RegionSet:
    """label_map: H x W int32 (0 = unassigned, 1..K, region 1 the largest); one RegionInfo per region."""

    label_map: np.ndarray
    regions: list[RegionInfo]
    provenance: dict[str, Any] = field(default_factory=dict)


def work_size(h: int, w: int, max_side: int) -> tuple[int, int]:
    """Working (height, width): long side <= max_side, the same rule as ``features.working_size``."""
    from textureade.features import working_size

    return working_size((h, w), max_side)


def default_features(image: np.ndarray, max_side: int) -> np.ndarray:
    """``textureade.features.pixel_features`` at the working size (h x w x 20 float32)."""
    from textureade.features import pixel_features

    return pixel_features(image, work_size=max_side, full_resolution=False)


def _nearest(arr: np.ndarray, hs: int, ws: int) -> np.ndarray:
    """Nearest-neighbour resample of an H x W id map to hs x ws (pixel centres)."""
    h, w = arr.shape
    rows = np.minimum(((np.arange(hs) + 0.5) * h / hs).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(ws) + 0.5) * w / ws).astype(np.int64), w - 1)
    return arr[np.ix_(rows, cols)]


def mine_regions(
    scene: Scene,
    types: dict[int, ClassType],
    cfg: MiningConfig,
    features_fn: FeatureFn | None = None,
    seed: int = 0,
) -> RegionSet:
    """Mine the texture regions of one scene; raises MiningSkip with a reason when none qualify."""
    seg, segments = initial_segments(scene, types, cfg)
    if not segments:
        raise MiningSkip("no labelled segments")
    h, w = seg.shape
    hs, ws = work_size(h, w, cfg.work_max_side)
    feats = np.asarray((features_fn or default_features)(scene.image, cfg.work_max_side))
    if feats.ndim != 3 or feats.shape[:2] != (hs, ws):
        raise ValueError(f"features_fn returned shape {feats.shape}, expected ({hs}, {ws}, D)")
    z = standardise(feats)
    piece_f = seg.copy()
    piece_w = _nearest(seg, hs, ws)
    grp = Groups(piece_w, z, {s.id: {s.class_id} for s in segments})
    seg_names = {s.id: s.name for s in segments}

    def names(g: int) -> list[str]:
        return sorted({seg_names[p] for p, o in grp.owner.items() if o == g and p in seg_names})

    merges: list[dict] = []
    splits: list[dict] = []
    rejected_splits: list[dict] = []
    grp.merge_pass(cfg.merge_separability, names, merges, cfg.min_region_frac * hs * ws)
    rng = np.random.default_rng([seed, zlib.crc32(scene.id.encode())])
    next_id = len(segments) + 1
    for g in grp.alive():
        owner_lut = grp.owner_lut()
        group_w = owner_lut[piece_w]
        found = try_split(g, grp, group_w, cfg, rng)
        if found is None:
            continue
        half_w, entry = found
        interior = entry.pop("interior")
        if not entry.pop("accepted"):
            entry["names"] = names(g)
            rejected_splits.append(entry)
            continue
        full_mask = owner_lut[piece_f] == g
        half_f = full_mask & upsample_half(half_w, group_w == g, (h, w))
        new = next_id
        next_id += 1
        entry["new"] = new
        entry["names"] = names(g)
        piece_f[half_f] = new
        piece_w[half_w] = new
        seg_names[new] = entry["names"][0] if entry["names"] else "region"
        grp.owner[new] = new
        grp.classes[new] = set(grp.classes[g])
        rest_w = (group_w == g) & ~half_w
        for gid, part in ((new, half_w), (g, rest_w)):
            core = part & interior
            grp.stats[gid] = GroupStats.of(z[(core if core.sum() >= MIN_STAT_PIXELS else part).ravel()])
        splits.append(entry)
    if splits:
        grp.merge_pass(cfg.merge_separability, names, merges, cfg.min_region_frac * hs * ws)
    rs = _finalise(scene, seg, segments, piece_f, grp, cfg, merges, splits, (hs, ws), z.shape[1])
    rs.provenance["split_tests_rejected"] = rejected_splits
    return rs


def _finalise(scene, seg, segments, piece_f, grp, cfg, merges, splits, work, dim) -> RegionSet:
    h, w = seg.shape
    n = float(h * w)
    owner_lut = grp.owner_lut()
    group_f = owner_lut[piece_f]
    counts = np.bincount(group_f.ravel(), minlength=owner_lut.max() + 1)
    order = sorted((g for g in range(1, counts.size) if counts[g] > 0), key=lambda g: (-counts[g], g))
    dropped = [
        {"group": int(g), "area_frac": r4(counts[g] / n), "why": "under min_region_frac"}
        for g in order
        if counts[g] < cfg.min_region_frac * n
    ]
    kept = [g for g in order if counts[g] >= cfg.min_region_frac * n]
    for g in kept[cfg.max_regions :]:
        dropped.append({"group": int(g), "area_frac": r4(counts[g] / n), "why": "beyond max_regions"})
    kept = kept[: cfg.max_regions]
    seg_counts = np.bincount(seg.ravel(), minlength=len(segments) + 1)
    prov: dict[str, Any] = {
        "work_size": list(work),
        "feature_dim": int(dim),
        "segments": [
            {
                "id": s.id,
                "class_id": s.class_id,
                "name": s.name,
                "kind": s.kind,
                "type": s.type,
                "area_frac": r4(seg_counts[s.id] / n),
            }
            for s in segments
        ],
        "merges": merges,
        "splits": splits,
        "dropped": dropped,
    }
    if len(kept) < cfg.min_regions:
        raise MiningSkip(
            f"{len(kept)} region(s) of >= {cfg.min_region_frac:.0%} after merging (need {cfg.min_regions})"
        )
    coverage = sum(counts[g] for g in kept) / n
    if coverage < cfg.min_coverage:
        raise MiningSkip(f"regions cover {coverage:.0%} of the image (need {cfg.min_coverage:.0%})")
    lut = np.zeros(owner_lut.max() + 1, dtype=np.int32)
    for k, g in enumerate(kept, start=1):
        lut[g] = k
    label_map = lut[group_f]
    cls_lut = np.zeros(len(segments) + 1, dtype=np.int64)
    for s in segments:
        cls_lut[s.id] = s.class_id
    cls_f = cls_lut[seg]
    infos: list[RegionInfo] = []
    regions_prov = []
    ncls = int(cls_lut.max()) + 1
    joint = np.bincount((label_map.astype(np.int64) * ncls + cls_f).ravel(), minlength=(len(kept) + 1) * ncls)
    joint = joint.reshape(len(kept) + 1, ncls)
    for k, g in enumerate(kept, start=1):
        row = joint[k]
        cids = np.flatnonzero(row)
        ranked = [int(c) for _, c in sorted(zip(-row[cids], cids.tolist())) if c > 0]
        cnames: list[str] = []
        for c in ranked:
            nm = primary_name(scene.class_names.get(c, f"class {c}"))
            if nm not in cnames:
                cnames.append(nm)
        attrs: list[str] = []
        for s in segments:
            if s.class_id in ranked[:3]:
                attrs.extend(a for a in s.attributes if a not in attrs)
        infos.append(RegionInfo(index=k, class_names=cnames, attributes=attrs, area=int(counts[g])))
        regions_prov.append(
            {"region": k, "group": int(g), "class_ids": ranked, "area_frac": r4(counts[g] / n)}
        )
    prov["regions"] = regions_prov
    prov["coverage"] = r4(coverage)
    return RegionSet(label_map=label_map.astype(np.int32), regions=infos, provenance=prov)
