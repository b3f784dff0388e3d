"""Initial segments from the dense annotation, before appearance decides anything.

- SceneParse150 form (no instances): one segment per class.
- Full form: one segment per (class, instance) when ``use_instances`` (pixels without an instance
  stay one segment per class); with ``use_parts``, level-1 parts covering >= ``min_region_frac`` of
  the image are carved out of their parent segment as segments of their own.
Class 0 and classes typed IGNORE never form segments. Appearance later merges segments that look
alike (so instances of one material rejoin) and splits those that do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from textureade.config import MiningConfig
from textureade.mining.class_types import ClassType, primary_name
from textureade.types import Scene


@dataclass
class Segment:
    """What one initial segment is: its class, where it came from, and its objects' attributes."""

    id: int
    class_id: int
    name: str
    kind: str  # "class", "instance" or "part"
    type: str
    attributes: list[str] = field(default_factory=list)
    instance: int = 0


def _attributes(scene: Scene, class_id: int, instance: int, part_level: int) -> list[str]:
    out: list[str] = []
    for obj in scene.objects:
        if obj.class_id != class_id or obj.part_level != part_level:
            continue
        if instance and obj.instance_id and obj.instance_id != instance:
            continue
        for a in obj.attributes:
            a = str(a).strip()
            if a and a not in out:
                out.append(a)
    return out


# Class ids a label map may hold: every reader gives less (SceneParse150 ids are <= 150, full-form
# ADE20K ids (R // 10) * 256 + G are <= 6655), and 16-bit maps can be counted by cv2.calcHist.
MAX_LABEL = (1 << 16) - 1


def label_counts(labels: np.ndarray) -> np.ndarray:
    """Pixels per label of an H x W map of labels 0..MAX_LABEL: int64 (max + 1,), equal to
    ``np.bincount(labels.ravel())``; (1,) zeros for an empty map. Raises ValueError for a label
    outside 0..MAX_LABEL (no reader makes one; a Scene built by hand could).

    Counted by ``cv2.calcHist`` on a uint16 copy, 2-3x faster than np.bincount. Its counts are
    float32, exact below 2^24, so a map of more pixels is counted in pieces of fewer."""
    if labels.size == 0:
        return np.zeros(1, np.int64)
    low, high = (int(v) for v in cv2.minMaxLoc(labels)[:2])
    if low < 0 or high > MAX_LABEL:
        raise ValueError(f"label map holds ids outside 0..{MAX_LABEL} (min {low}, max {high})")
    flat = labels.astype(np.uint16).reshape(1, -1)  # one row: calcHist walks a Mat row by row
    counts = np.zeros(high + 1, np.int64)
    piece = (1 << 24) - 1
    for start in range(0, flat.size, piece):
        hist = cv2.calcHist([flat[:, start : start + piece]], [0], None, [high + 1], [0, high + 1])
        counts += hist.ravel().astype(np.int64)
    return counts


@dataclass
class SegmentMap:
    """The initial segments of an image without materialising a full-size segment map when the
    segments are the classes themselves.

    codes: H x W integer map (the class label map itself, or a code map built for instances/parts);
    lut: int32 array, code -> segment id (0 = none); the segment map is ``lut[codes]``.
    segments: in id order 1..S. areas: int64 (S + 1,), full-size pixels per segment id (0 = none).
    """

    codes: np.ndarray
    lut: np.ndarray
    segments: list[Segment]
    areas: np.ndarray

    def full(self) -> np.ndarray:
        """H x W int32 segment map (0 = none)."""
        return np.take(self.lut, self.codes)


def initial_segments(
    scene: Scene, types: dict[int, ClassType], cfg: MiningConfig, counts: np.ndarray | None = None
) -> SegmentMap:
    """The initial segments of ``scene`` (see the module docstring). ``counts``: the class label
    histogram when the caller has it (``label_counts(scene.labels)``)."""
    labels = scene.labels
    use_inst = cfg.use_instances and scene.instances is not None
    use_parts = cfg.use_parts and bool(scene.parts)
    if counts is None:
        counts = label_counts(labels)
    keep = np.zeros(counts.size, dtype=bool)
    for cid, t in types.items():
        if cid > 0 and t != ClassType.IGNORE and cid < keep.size:
            keep[cid] = True
    if not use_inst:
        lut = np.zeros(counts.size, dtype=np.int32)
        segments: list[Segment] = []
        for cid in np.flatnonzero(keep & (counts > 0)).tolist():
            sid = len(segments) + 1
            lut[cid] = sid
            name = primary_name(scene.class_names.get(cid, f"class {cid}"))
            segments.append(Segment(sid, cid, name, "class", types[cid].value, _attributes(scene, cid, 0, 0)))
        areas = np.bincount(lut, weights=counts, minlength=len(segments) + 1).astype(np.int64)
        sm = SegmentMap(labels, lut, segments, areas)
        return _carve_parts(scene, types, cfg, sm) if use_parts else sm
    valid = keep[labels]
    inst = np.where(valid, scene.instances, 0).astype(np.int64)
    width = int(inst.max()) + 1
    codes = np.where(valid, labels.astype(np.int64) * width + inst + 1, 0)
    # codes: 0 = no segment, else 1 + class * width + instance; bincount instead of a sort
    uniq = [c - 1 if c else -1 for c in np.flatnonzero(np.bincount(codes.ravel())).tolist()]
    if -1 not in uniq:
        uniq = [-1, *uniq]
    index = np.zeros(max(uniq) + 2, dtype=np.int64)
    index[np.array(uniq) + 1] = np.arange(len(uniq))
    inverse = index[codes]
    lut = np.zeros(len(uniq), dtype=np.int32)
    segments = []
    for j, code in enumerate(uniq):
        if code < 0:
            continue
        cid, inst_id = (code // width, code % width) if width > 1 else (code, 0)
        sid = len(segments) + 1
        lut[j] = sid
        name = primary_name(scene.class_names.get(cid, f"class {cid}"))
        kind = "instance" if inst_id else "class"
        segments.append(
            Segment(sid, cid, name, kind, types[cid].value, _attributes(scene, cid, inst_id, 0), inst_id)
        )
    seg = lut[inverse]
    sm = SegmentMap(seg, np.arange(len(segments) + 1, dtype=np.int32), segments, np.zeros(0, np.int64))
    if use_parts:
        return _carve_parts(scene, types, cfg, sm)
    sm.areas = np.bincount(seg.ravel(), minlength=len(segments) + 1).astype(np.int64)
    return sm


def _carve_parts(scene: Scene, types: dict[int, ClassType], cfg: MiningConfig, sm: SegmentMap) -> SegmentMap:
    """Level-1 parts covering >= ``min_region_frac`` become segments of their own (one per parent)."""
    seg = sm.full()
    segments = list(sm.segments)
    parts = scene.parts[0]
    n = seg.size
    for pid in np.unique(parts[parts > 0]).tolist():
        pmask = (parts == pid) & (seg > 0)
        if pmask.sum() < cfg.min_region_frac * n:
            continue
        pname = scene.class_names.get(pid, f"part {pid}")
        ptype = types.get(pid, ClassType.OBJECT)
        if ptype == ClassType.IGNORE:
            continue
        # a part keeps apart from each parent segment it lies in
        for parent in np.unique(seg[pmask]).tolist():
            piece = pmask & (seg == parent)
            if piece.sum() < cfg.min_region_frac * n:
                continue
            sid = len(segments) + 1
            seg[piece] = sid
            segments.append(
                Segment(sid, pid, primary_name(pname), "part", ptype.value, _attributes(scene, pid, 0, 1))
            )
    areas = np.bincount(seg.ravel(), minlength=len(segments) + 1).astype(np.int64)
    return SegmentMap(seg, np.arange(len(segments) + 1, dtype=np.int32), segments, areas)
