"""Regions by appearance: merge look-alike segments, split bimodal ones, keep 2-6 regions.

Procedure (all thresholds in ``MiningConfig``; the J test in ``textureade.mining.stats``):
1. initial segments from the annotation (``segments.initial_segments``);
2. appearance descriptors once per image at the working size (long side <= ``work_max_side``):
   ``textureade.features.pixel_features(full_resolution=False)``, standardised per image;
3. merge (``Groups.merge_pass``): repeatedly join the candidate pair with the smallest Fisher
   separability J while J < ``merge_separability``; candidates are segments that touch (>= 2 shared
   boundary pixels at the working size) or share a class (instances of one class need not touch);
4. split (``split.try_split``, then ``Groups.split``): for each group big enough, 2-means on its
   interior pixels' descriptors (>= 6 working px from its edge, where descriptors see the
   neighbours; no interior, no split; one deterministic start, a seeded subsample of <= 600
   pixels); the 2-means axis must show a valley (``valley_ratio`` <= ``split_valley``) -- a test
   that fails here stops (logged as "no valley"); then every pixel goes to the nearer centre and
   the group is split when J(halves) > ``split_separability``, each half covers >=
   ``split_min_frac`` of the image and is spatially coherent (after a 3x3 majority smoothing, >=
   ``split_coherence`` of it lies in connected pieces of >= ``min_region_frac``); then merge again;
5. drop regions under ``min_region_frac``; order by area (largest = region 1); keep at most
   ``max_regions``; skip the image with fewer than ``min_regions`` or coverage < ``min_coverage``.
Everything up to 5 runs on the working-size maps (segment map sampled by nearest neighbour); the
full-size region map is one lookup over the annotation (code -> segment -> group -> region) plus,
for each split, its working-size half upsampled inside the group's bounding box
(``finalise.full_size_regions``); areas are full-size pixel counts.
Merge statistics come from segment interiors too (``groups.interior_map``). Every merge, split
(and rejected split test) and drop goes into the provenance. The result depends only on the inputs
and the seed.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from textureade.config import MiningConfig
from textureade.features import pixel_features, working_size
from textureade.mining.class_types import ClassType
from textureade.mining.finalise import full_size_regions
from textureade.mining.groups import Groups, interior_map
from textureade.mining.segments import initial_segments
from textureade.mining.split import try_split
from textureade.mining.stats import standardise
from textureade.mining.types import AcceptedSplit, MiningSkip, RegionSet
from textureade.readers.mapping import nearest_resize
from textureade.types import Scene


def mine_regions(
    scene: Scene,
    types: dict[int, ClassType],
    cfg: MiningConfig,
    seed: int = 0,
    class_counts: np.ndarray | None = None,
) -> RegionSet:
    """Mine the texture regions of one scene; raises MiningSkip (stage "regions") when none qualify.
    ``class_counts``: ``segments.label_counts(scene.labels)`` when the caller has it."""
    sm = initial_segments(scene, types, cfg, class_counts)
    if not sm.segments:
        raise MiningSkip("regions", "no labelled segments")
    hs, ws = working_size(scene.labels.shape, cfg.work_max_side)
    z = standardise(pixel_features(scene.image, cfg.work_max_side, full_resolution=False))
    grp = Groups(np.take(sm.lut, nearest_resize(sm.codes, (hs, ws))), z, sm.segments)
    min_cross = cfg.min_region_frac * hs * ws
    merges: list[dict[str, Any]] = []
    splits: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    grp.merge_pass(cfg.merge_separability, merges, min_cross)

    rng = np.random.default_rng([seed, zlib.crc32(scene.id.encode())])
    owner_at_split = grp.owner_lut()
    group_w = owner_at_split[grp.piece_w]
    interiors = interior_map(group_w)  # splits below only relabel inside a group
    accepted: list[AcceptedSplit] = []
    for g in grp.alive():
        test = try_split(g, z, group_w, interiors, cfg, rng)
        if test is None:
            continue
        names = grp.names(g)
        if not test.accepted:
            rejected.append(test.log(names))
            continue
        assert test.half_w is not None
        new = grp.split(g, test.half_w, test.interior)
        accepted.append(AcceptedSplit(g, new, test.half_w, group_w == g))
        group_w[test.half_w] = new
        splits.append(test.log(names, new))
    if splits:
        grp.merge_pass(cfg.merge_separability, merges, min_cross)

    label_map, infos, prov = full_size_regions(scene, sm, grp.owner_lut(), accepted, owner_at_split, cfg)
    provenance = {
        "work_size": [hs, ws],
        "feature_dim": int(z.shape[1]),
        "segments": prov["segments"],
        "merges": merges,
        "splits": splits,
        "dropped": prov["dropped"],
        "regions": prov["regions"],
        "coverage": prov["coverage"],
        "split_tests_rejected": rejected,
    }
    return RegionSet(label_map=label_map, regions=infos, provenance=provenance)
