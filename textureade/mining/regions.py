"""Regions by appearance: merge look-alike segments, split bimodal ones, keep 2-6 regions.

Procedure (all thresholds in ``MiningConfig``; tests in ``textureade.mining.stats``):
1. initial segments from the annotation (``segments.initial_segments``);
2. appearance descriptors once per image at the working size (long side <= ``work_max_side``):
   ``textureade.features.pixel_features(full_resolution=False)``, standardised per image;
3. merge: repeatedly join the candidate pair with the smallest Fisher separability J while
   J < ``merge_separability``; candidates are segments that touch (>= 2 shared boundary pixels at
   the working size) or share a class (instances of one class need not touch);
4. split (``split.try_split``): for each segment big enough, 2-means on its interior pixels'
   descriptors (>= 6 working px from its edge, where descriptors see the neighbours; no interior,
   no split; one deterministic start, a seeded subsample of <= 600 pixels); the 2-means axis must
   show a valley (``valley_ratio`` <= ``split_valley``) -- a test that fails here stops (logged as
   "no valley"); then every pixel goes to the nearer centre and the group is split when
   J(halves) > ``split_separability``, each half covers >= ``split_min_frac`` of the image and
   is spatially coherent (after a 3x3 majority smoothing, >= ``split_coherence`` of it lies in
   connected pieces of >= ``min_region_frac``); then merge again;
5. drop regions under ``min_region_frac``; order by area (largest = region 1); keep at most
   ``max_regions``; skip the image with fewer than ``min_regions`` or coverage < ``min_coverage``.
Everything up to 5 runs on the working-size maps (segment map sampled by nearest neighbour); the
full-size region map is one lookup over the annotation (code -> segment -> group -> region) plus,
for each split, its working-size half upsampled inside the group's bounding box
(``finalise.full_size_regions``); areas are full-size pixel counts.
Merge statistics come from segment interiors too (``split.interior_map``). Every merge, split
(and rejected split test) and drop goes into the provenance. The result depends only on the inputs and
the seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textureade.config import MiningConfig
from textureade.describe.base import RegionInfo
from textureade.features import pixel_features, working_size
from textureade.mining.finalise import full_size_regions
from textureade.mining.segments import initial_segments
from textureade.mining.split import MIN_STAT_PIXELS, Groups, interior_map, try_split
from textureade.mining.stats import GroupStats, standardise
from textureade.mining.typing import ClassType
from textureade.types import Scene


class MiningSkip(Exception):
    """The image yields no usable region set; the message is the reason (one line)."""


@dataclass
class RegionSet:
    """label_map: H x W int32 (0 = unassigned, 1..K, region 1 the largest); one RegionInfo per region."""

    label_map: np.ndarray
    regions: list[RegionInfo]
    provenance: dict[str, Any] = field(default_factory=dict)


def _nearest(arr: np.ndarray, hs: int, ws: int) -> np.ndarray:
    """Nearest-neighbour resample of an H x W id map to hs x ws (pixel centres)."""
    h, w = arr.shape
    rows = np.minimum(((np.arange(hs) + 0.5) * h / hs).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(ws) + 0.5) * w / ws).astype(np.int64), w - 1)
    return arr[np.ix_(rows, cols)]


@dataclass
class _Split:
    """An accepted split, for the full-size map: ``new`` leaves group ``group`` (at the working size,
    ``half_w`` of ``group_mask_w``)."""

    group: int
    new: int
    half_w: np.ndarray
    group_mask_w: np.ndarray


def mine_regions(
    scene: Scene,
    types: dict[int, ClassType],
    cfg: MiningConfig,
    seed: int = 0,
    class_counts: np.ndarray | None = None,
) -> RegionSet:
    """Mine the texture regions of one scene; raises MiningSkip with a reason when none qualify.
    ``class_counts``: ``segments.label_counts(scene.labels)`` when the caller has it."""
    sm = initial_segments(scene, types, cfg, class_counts)
    segments = sm.segments
    if not segments:
        raise MiningSkip("no labelled segments")
    h, w = scene.labels.shape
    hs, ws = working_size((h, w), cfg.work_max_side)
    z = standardise(pixel_features(scene.image, cfg.work_max_side, full_resolution=False))
    piece_w = np.take(sm.lut, _nearest(sm.codes, hs, ws))
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
    owner_at_split = grp.owner_lut()
    group_w = owner_at_split[piece_w]
    accepted: list[_Split] = []
    interiors = interior_map(group_w)  # splits below only relabel inside a group
    for g in grp.alive():
        found = try_split(g, grp, group_w, cfg, rng, interiors)
        if found is None:
            continue
        half_w, entry = found
        interior = entry.pop("interior")
        if not entry.pop("accepted"):
            entry["names"] = names(g)
            rejected_splits.append(entry)
            continue
        new = next_id
        next_id += 1
        entry["new"] = new
        entry["names"] = names(g)
        rest_w = (group_w == g) & ~half_w
        accepted.append(_Split(g, new, half_w, group_w == g))
        piece_w[half_w] = new
        group_w[half_w] = new
        seg_names[new] = entry["names"][0] if entry["names"] else "region"
        grp.owner[new] = new
        grp.classes[new] = set(grp.classes[g])
        for gid, part in ((new, half_w), (g, rest_w)):
            core = part & interior
            grp.stats[gid] = GroupStats.of(z[(core if core.sum() >= MIN_STAT_PIXELS else part).ravel()])
        splits.append(entry)
    if splits:
        grp.merge_pass(cfg.merge_separability, names, merges, cfg.min_region_frac * hs * ws)
    rs = _finalise(scene, sm, grp, cfg, merges, splits, accepted, owner_at_split, (hs, ws), z.shape[1])
    rs.provenance["split_tests_rejected"] = rejected_splits
    return rs


def _finalise(scene, sm, grp, cfg, merges, splits, accepted, owner_at_split, work, dim) -> RegionSet:
    """The full-size region map and provenance (``finalise.full_size_regions``)."""
    label_map, infos, prov = full_size_regions(scene, sm, grp.owner_lut(), accepted, owner_at_split, cfg)
    prov = {"work_size": list(work), "feature_dim": int(dim), **prov, "merges": merges, "splits": splits}
    order = ["work_size", "feature_dim", "segments", "merges", "splits", "dropped", "regions", "coverage"]
    return RegionSet(label_map=label_map, regions=infos, provenance={k: prov[k] for k in order})
