"""Regions by appearance: merge look-alike segments, split bimodal ones, keep 2-6 regions.

Procedure (all thresholds in ``MiningConfig``; tests in ``textureade.mining.stats``):
1. initial segments from the annotation (``segments.initial_segments``);
2. appearance descriptors once per image: ``features_fn`` (``textureade.features.pixel_features``)
   on a copy whose long side is <= ``work_max_side``, standardised per image;
3. merge: repeatedly join the candidate pair with the smallest Fisher separability J while
   J < ``merge_separability``; candidates are segments that touch (>= 2 shared boundary pixels at
   the working size) or share a class (instances of one class need not touch);
4. split: for each segment big enough, 2-means on its interior pixels' descriptors (>= 6 working
   px from its edge, where descriptors see the neighbours; no interior, no split; PCA-median start, a seeded subsample of
   <= 600 pixels); split when J(halves) > ``split_separability``, each half
   covers >= ``split_min_frac`` of the image and is spatially coherent (after a 3x3 majority
   smoothing, >= ``split_coherence`` of it lies in connected pieces of >= ``min_region_frac``); then merge again;
5. drop regions under ``min_region_frac``; order by area (largest = region 1); keep at most
   ``max_regions``; skip the image with fewer than ``min_regions`` or coverage < ``min_coverage``.
Every merge, split and drop goes into the provenance. The result depends only on the inputs and
the seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from textureade.config import MiningConfig
from textureade.describe.base import RegionInfo
from textureade.mining.segments import initial_segments
from textureade.mining.selection import boundary_pairs
from textureade.mining.stats import GroupStats, segment_stats, separability, standardise, two_means
from textureade.mining.typing import ClassType, primary_name
from textureade.types import Scene

FeatureFn = Callable[[np.ndarray, int], np.ndarray]
"""(image H x W x 3 uint8, work_max_side) -> h x w x D float32 at the working size (``work_size``)."""
MIN_STAT_PIXELS = 8  # groups with fewer working pixels have unreliable statistics: never merged
MAX_SPLIT_SAMPLE = 600
SPLIT_MARGIN = 6  # working pixels of a segment's edge left out of the split statistics


class MiningSkip(Exception):
    """The image yields no usable region set; the message is the reason (one line)."""


@dataclass
class RegionSet:
    """label_map: H x W int32 (0 = unassigned, 1..K, region 1 the largest); one RegionInfo per region."""

    label_map: np.ndarray
    regions: list[RegionInfo]
    provenance: dict[str, Any] = field(default_factory=dict)


def _r(x: float) -> float:
    return round(float(x), 4)


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


class _Groups:
    """Union of pieces into groups with running appearance statistics and adjacency."""

    def __init__(self, piece_w: np.ndarray, z: np.ndarray, piece_class: dict[int, set[int]]):
        self.z = z
        self.piece_w = piece_w
        # appearance statistics from each piece's interior (>= SPLIT_MARGIN working pixels from any
        # other piece: there the descriptors' windows see only the piece); all its pixels when the
        # interior is smaller than MIN_STAT_PIXELS
        inner = np.where(interior_map(piece_w), piece_w, 0)
        self.stats = segment_stats(piece_w.ravel(), z)
        for p, st in segment_stats(inner.ravel(), z).items():
            if st.n >= MIN_STAT_PIXELS:
                self.stats[p] = st
        self.classes = {g: set(piece_class[g]) for g in piece_class}
        self.owner = {g: g for g in piece_class}
        self.adj: dict[int, set[int]] = {}

    def owner_lut(self) -> np.ndarray:
        lut = np.zeros(max(self.owner) + 1, dtype=np.int32)
        for p, o in self.owner.items():
            lut[p] = o
        return lut

    def group_w(self) -> np.ndarray:
        return self.owner_lut()[self.piece_w]

    def refresh_adjacency(self) -> None:
        self.adj = {g: set() for g in self.classes}
        for (a, b), c in boundary_pairs(self.group_w()).items():
            if a > 0 and c >= 2:
                self.adj[a].add(b)
                self.adj[b].add(a)

    def alive(self) -> list[int]:
        return sorted(g for g in self.classes if g in self.stats)

    def _why(self, a: int, b: int) -> str | None:
        touch = b in self.adj[a]
        same = bool(self.classes[a] & self.classes[b])
        if touch and same:
            return "adjacent, same class"
        return "adjacent" if touch else ("same class" if same else None)

    def merge_pass(
        self, tau: float, names: Callable[[int], list[str]], log: list[dict], min_cross: float = 0.0
    ) -> None:
        """Join the closest candidate pair while J < tau. Groups of different classes must both hold
        >= ``min_cross`` working pixels (thin or tiny segments have descriptors blurred by their
        surroundings); same-class groups only need MIN_STAT_PIXELS."""
        self.refresh_adjacency()
        cache: dict[tuple[int, int], float] = {}

        def dist(a: int, b: int) -> float:
            key = (a, b) if a < b else (b, a)
            if key not in cache:
                cache[key] = separability(self.stats[a], self.stats[b])
            return cache[key]

        while True:
            best: tuple[float, int, int] | None = None
            live = [g for g in self.alive() if self.stats[g].n >= MIN_STAT_PIXELS]
            for i, a in enumerate(live):
                for b in live[i + 1 :]:
                    why = self._why(a, b)
                    if why is None:
                        continue
                    if "same class" not in why and min(self.stats[a].n, self.stats[b].n) < min_cross:
                        continue
                    d = dist(a, b)
                    if d < tau and (best is None or (d, a, b) < best):
                        best = (d, a, b)
            if best is None:
                return
            d, a, b = best
            log.append(
                {"keep": a, "absorb": b, "J": _r(d), "why": self._why(a, b), "names": [names(a), names(b)]}
            )
            self.stats[a] = self.stats[a] + self.stats.pop(b)
            self.classes[a] |= self.classes.pop(b)
            for p, g in self.owner.items():
                if g == b:
                    self.owner[p] = a
            nb = self.adj.pop(b)
            for x in nb:
                self.adj[x].discard(b)
                if x != a:
                    self.adj[x].add(a)
                    self.adj[a].add(x)
            self.adj[a].discard(a)
            cache = {k: v for k, v in cache.items() if a not in k and b not in k}


def valley_ratio(proj: np.ndarray, m0: float, m1: float, bins: int = 32) -> float:
    """Depth of the gap between two modes of a 1-D projection: min density between the modes divided
    by the lower of the two peaks (histogram over the 1st-99th percentile, smoothed with 1-2-3-2-1).

    ~1 for a unimodal or flat distribution (a smooth gradient, e.g. a sky), near 0 for two separate
    modes (brick next to grass).
    """
    lo, hi = np.percentile(proj, [1, 99])
    if hi <= lo:
        return 1.0
    hist, edges = np.histogram(proj, bins=bins, range=(lo, hi))
    hist = np.convolve(hist.astype(np.float64), np.array([1, 2, 3, 2, 1]) / 9.0, mode="same")
    centres = (edges[:-1] + edges[1:]) / 2
    a, b = sorted((m0, m1))
    mid = (a + b) / 2
    left = np.flatnonzero(centres <= mid)
    right = np.flatnonzero(centres > mid)
    if left.size == 0 or right.size == 0:
        return 1.0
    pl = left[np.argmax(hist[left])]
    pr = right[np.argmax(hist[right])]
    peak = min(hist[pl], hist[pr])
    if peak <= 0:
        return 1.0
    return float(hist[pl : pr + 1].min() / peak)


def _block_weights(d: int) -> np.ndarray:
    """2-means weights giving the colour block (the first 3 channels, Lab) and the texture block (the
    rest) equal total weight; the J tests are unaffected (J is invariant to per-channel scale)."""
    if d <= 3:
        return np.ones(d)
    w = np.ones(d)
    w[:3] = np.sqrt((d - 3) / 3.0)
    return w


def interior_map(ids: np.ndarray, margin: int = 0) -> np.ndarray:
    """Boolean map of the pixels whose L1 neighbourhood of radius ``margin`` (default SPLIT_MARGIN)
    holds a single id (the image border does not count as a neighbour)."""
    m = margin or SPLIT_MARGIN
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    f = ids.astype(np.float32)
    lo = cv2.erode(f, cross, iterations=m, borderType=cv2.BORDER_REPLICATE)
    hi = cv2.dilate(f, cross, iterations=m, borderType=cv2.BORDER_REPLICATE)
    return lo == hi


def _coherence(mask: np.ndarray, min_piece: float) -> float:
    """Share of ``mask``'s pixels that lie in connected pieces of >= ``min_piece`` pixels (1 = all in
    solid pieces; low = salt-and-pepper)."""
    comp, k = ndimage.label(mask)
    if k == 0:
        return 0.0
    sizes = np.bincount(comp.ravel())[1:]
    return float(sizes[sizes >= min_piece].sum() / sizes.sum())


def _try_split(
    g: int, grp: _Groups, group_w: np.ndarray, cfg: MiningConfig, rng: np.random.Generator
) -> tuple[np.ndarray, dict] | None:
    """Return (working-size boolean map of the half that leaves, log entry) or None."""
    mask = group_w == g
    n_img = group_w.size
    idx = np.flatnonzero(mask.ravel())
    if idx.size < 2 * cfg.split_min_frac * n_img or idx.size < 16:
        return None
    x = grp.z[idx]
    # statistics come from the segment's interior: near its edge the descriptors' windows see the
    # neighbours, and that blur must not pass for a second texture
    # (a segment too thin to have an interior is never split)
    interior = interior_map(mask.astype(np.uint8)) & mask
    if interior.sum() < 0.5 * idx.size:
        return None
    inner_idx = np.flatnonzero(interior.ravel())
    sample = (
        np.sort(rng.choice(inner_idx.size, MAX_SPLIT_SAMPLE, replace=False))
        if inner_idx.size > MAX_SPLIT_SAMPLE
        else np.arange(inner_idx.size)
    )
    # 2-means (best of three starts by within-cluster SSE) in two spaces: colour and texture blocks
    # weighted equally, and the plain standardised descriptors; the space whose split shows the
    # deeper valley between its two modes is the one tested
    best = None
    for wts in (_block_weights(grp.z.shape[1]), np.ones(grp.z.shape[1])):
        xs = grp.z[inner_idx[sample]] * wts
        lab_s = two_means(xs)
        if lab_s.min() == lab_s.max():
            continue
        c0, c1 = xs[lab_s == 0].mean(axis=0), xs[lab_s == 1].mean(axis=0)
        axis = c1 - c0
        v = valley_ratio((xs * axis).sum(axis=1), float((c0 * axis).sum()), float((c1 * axis).sum()))
        if best is None or v < best[0] - 1e-9:
            best = (v, wts, c0, c1)
    if best is None:
        return None
    valley, wts, c0, c1 = best
    xw = x * wts
    lab = (((xw - c1) ** 2).sum(axis=1) < ((xw - c0) ** 2).sum(axis=1)).astype(np.float32)
    ind = np.zeros(n_img, dtype=np.float32)
    ind[idx] = lab
    ind = ind.reshape(mask.shape)
    # 3x3 majority inside the segment
    num = ndimage.uniform_filter(ind, size=3, mode="nearest")
    den = ndimage.uniform_filter(mask.astype(np.float32), size=3, mode="nearest")
    half1 = mask & (num > 0.5 * den)
    half0 = mask & ~half1
    n0, n1 = int(half0.sum()), int(half1.sum())
    if min(n0, n1) < cfg.split_min_frac * n_img:
        return None
    j = separability(
        GroupStats.of(grp.z[(half0 & interior).ravel()]), GroupStats.of(grp.z[(half1 & interior).ravel()])
    )
    piece = max(cfg.min_region_frac * n_img, 4.0)
    coh = (_coherence(half0, piece), _coherence(half1, piece))
    entry = {
        "group": g,
        "J": _r(j),
        "fractions": [_r(n0 / n_img), _r(n1 / n_img)],
        "coherence": [_r(coh[0]), _r(coh[1])],
        "valley": _r(valley),
    }
    entry["accepted"] = bool(
        j > cfg.split_separability and min(coh) >= cfg.split_coherence and valley <= cfg.split_valley
    )
    entry["interior"] = interior
    return half1, entry


def _upsample_half(half_w: np.ndarray, group_w_mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Full-size boolean map of a split half: bilinear upsampling of its indicator, with values outside
    the segment filled from the nearest segment pixel so the cut follows the working-size decision."""
    if not group_w_mask.all():
        _, (ri, ci) = ndimage.distance_transform_edt(~group_w_mask, return_indices=True)
        ind = half_w[ri, ci].astype(np.float32)
    else:
        ind = half_w.astype(np.float32)
    up = cv2.resize(ind, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return up > 0.5


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
    grp = _Groups(piece_w, z, {s.id: {s.class_id} for s in segments})
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
        found = _try_split(g, grp, group_w, cfg, rng)
        if found is None:
            continue
        half_w, entry = found
        interior = entry.pop("interior")
        if not entry.pop("accepted"):
            entry["names"] = names(g)
            rejected_splits.append(entry)
            continue
        full_mask = owner_lut[piece_f] == g
        half_f = full_mask & _upsample_half(half_w, group_w == g, (h, w))
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
        {"group": int(g), "area_frac": _r(counts[g] / n), "why": "under min_region_frac"}
        for g in order
        if counts[g] < cfg.min_region_frac * n
    ]
    kept = [g for g in order if counts[g] >= cfg.min_region_frac * n]
    for g in kept[cfg.max_regions :]:
        dropped.append({"group": int(g), "area_frac": _r(counts[g] / n), "why": "beyond max_regions"})
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
                "area_frac": _r(seg_counts[s.id] / n),
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
            {"region": k, "group": int(g), "class_ids": ranked, "area_frac": _r(counts[g] / n)}
        )
    prov["regions"] = regions_prov
    prov["coverage"] = _r(coverage)
    return RegionSet(label_map=label_map.astype(np.int32), regions=infos, provenance=prov)
