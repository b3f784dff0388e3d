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

import numpy as np

from textureade.config import MiningConfig
from textureade.mining.typing import ClassType, primary_name
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


def initial_segments(
    scene: Scene, types: dict[int, ClassType], cfg: MiningConfig
) -> tuple[np.ndarray, list[Segment]]:
    """Return (H x W int32 segment map with 0 = none, segments in id order 1..S)."""
    labels = scene.labels
    keep = np.zeros(int(labels.max()) + 1, dtype=bool)
    for cid, t in types.items():
        if cid > 0 and t != ClassType.IGNORE and cid < keep.size:
            keep[cid] = True
    valid = keep[labels]
    if cfg.use_instances and scene.instances is not None:
        inst = np.where(valid, scene.instances, 0).astype(np.int64)
        width = int(inst.max()) + 1
        codes = np.where(valid, labels.astype(np.int64) * width + inst + 1, 0)
    else:
        codes = np.where(valid, labels.astype(np.int64) + 1, 0)
        width = 1
    # codes: 0 = no segment, else 1 + class * width + instance; bincount instead of a sort
    uniq = [c - 1 if c else -1 for c in np.flatnonzero(np.bincount(codes.ravel())).tolist()]
    if -1 not in uniq:
        uniq = [-1, *uniq]
    index = np.zeros(max(uniq) + 2, dtype=np.int64)
    index[np.array(uniq) + 1] = np.arange(len(uniq))
    inverse = index[codes]
    lut = np.zeros(len(uniq), dtype=np.int32)
    segments: list[Segment] = []
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
    if cfg.use_parts and scene.parts:
        parts = scene.parts[0]
        n = labels.size
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
    return seg, segments
