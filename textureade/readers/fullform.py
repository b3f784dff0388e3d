"""Decoding the full ADE20K annotation (ADE20K_2021_17_01 folders and the 1aurent/ADE20K mirror).

Encoding (CSAILVision/ADE20K ``utils_ade20k.loadAde20K``): in ``_seg.png`` class = (R // 10) * 256 + G
(the JSON object's ``name_ndx``; 0 = unlabeled) and the instances are the distinct non-zero B values;
``_parts_N.png`` uses the same encoding for part level N. ``instance_NNN_<id>.png`` masks are mode L
with 255 = visible and 128 = the occluded (amodal) extension.

The per-image JSON mixes types (numbers as strings, ``attributes`` a list, [] or a string,
``occluded`` 'yes'/'no'/[], ``part_level`` inside ``parts``); :func:`parse_objects` reads them all.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textureade.readers.ade150 import ade150_class_names, first_synonym
from textureade.readers.base import ReadError
from textureade.readers.mapping import challenge_size, decode_class, map_classes, nearest_resize
from textureade.types import Scene, SceneObject


@dataclass
class RawObject:
    """One JSON object, types normalised. ``index`` is its position in the JSON list."""

    index: int
    id: int
    name: str
    class_id: int
    part_level: int
    attributes: list[str] = field(default_factory=list)
    occluded: bool | None = None
    instance_mask: str = ""


def as_int(value: Any, default: int = 0) -> int:
    """An int from an int, float, numeric string or one-element list; ``default`` otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if np.isfinite(value) else default
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except ValueError:
            return default
    if isinstance(value, list | tuple) and len(value) == 1:
        return as_int(value[0], default)
    return default


def as_attributes(value: Any) -> list[str]:
    """Attributes from a list of strings, [] / None / "", or a string (comma-separated, or a list literal)."""
    if value is None:
        return []
    if isinstance(value, list | tuple | np.ndarray):
        out: list[str] = []
        for v in value:
            out.extend(as_attributes(v))
        return out
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("[") and text.endswith("]"):
            try:
                return as_attributes(json.loads(text))
            except ValueError:
                try:
                    return as_attributes(ast.literal_eval(text))
                except (ValueError, SyntaxError):
                    text = text[1:-1]
        return [a.strip().strip("'\"").strip() for a in text.split(",") if a.strip().strip("'\"").strip()]
    return [str(value)]


def as_occluded(value: Any) -> bool | None:
    """'yes' -> True, 'no' -> False, a bool as is, [] / '' / None / anything else -> None."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("yes", "y", "true", "1"):
            return True
        if v in ("no", "n", "false", "0"):
            return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


def parse_objects(raw: Any) -> list[RawObject]:
    """The JSON ``annotation.object`` list (or the mirror's ``objects``) -> RawObject list.

    Raises ReadError when ``raw`` is not a list of mappings.
    """
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = [raw]  # a single object serialised without its list
    if not isinstance(raw, list | tuple):
        raise ReadError(f"objects must be a list, got {type(raw).__name__}")
    out = []
    for i, o in enumerate(raw):
        if not isinstance(o, dict):
            raise ReadError(f"object {i} is a {type(o).__name__}, expected a mapping")
        parts = o.get("parts") if isinstance(o.get("parts"), dict) else {}
        level = as_int(parts.get("part_level", o.get("part_level", 0)))
        name = o.get("name") if isinstance(o.get("name"), str) and o.get("name") else o.get("raw_name")
        out.append(
            RawObject(
                index=i,
                id=as_int(o.get("id"), i),
                name=first_synonym(str(name or "")),
                class_id=as_int(o.get("name_ndx")),
                part_level=max(level, 0),
                attributes=as_attributes(o.get("attributes")),
                occluded=as_occluded(o.get("occluded")),
                instance_mask=o.get("instance_mask") if isinstance(o.get("instance_mask"), str) else "",
            )
        )
    return out


def parse_annotation_json(data: bytes, what: str = "JSON") -> dict[str, Any]:
    """The ``annotation`` dict of a per-image JSON file's bytes. Raises ReadError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise ReadError(f"{what} unreadable: {exc}") from None
    ann = doc.get("annotation", doc) if isinstance(doc, dict) else None
    if not isinstance(ann, dict):
        raise ReadError(f"{what} has no 'annotation' mapping")
    return ann


def scene_category(value: Any) -> str | None:
    """``['outdoor', 'urban', 'street']`` -> ``'street'`` (the most specific level); a string as is."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list | tuple | np.ndarray):
        names = [str(v).strip() for v in value if str(v).strip()]
        return names[-1] if names else None
    return None


def decode_instances(rgb: np.ndarray) -> np.ndarray:
    """Instance map from the B channel: the distinct non-zero B values ranked 1..K, B = 0 -> 0. int32."""
    b = rgb[:, :, 2]
    values = np.flatnonzero(np.bincount(b.ravel(), minlength=256))
    values = values[values > 0]
    lut = np.zeros(256, dtype=np.int32)
    lut[values] = np.arange(1, len(values) + 1, dtype=np.int32)
    return lut[b]


def present_ids(arr: np.ndarray) -> list[int]:
    """Sorted distinct values of a non-negative integer map (bincount: linear time)."""
    return np.flatnonzero(np.bincount(arr.ravel())).tolist() if arr.size else []


def class_instance_pairs(classes: np.ndarray, instances: np.ndarray) -> list[tuple[int, int]]:
    """Distinct (class, instance) pairs over pixels with an instance, sorted."""
    fg = instances > 0
    if not fg.any():
        return []
    c, k = classes[fg], instances[fg]
    first = np.zeros(int(k.max()) + 1, dtype=np.int64)
    first[k] = c  # one class per instance in genuine files: check, else count every pair
    if np.array_equal(first[k], c):
        return sorted((int(first[i]), int(i)) for i in np.flatnonzero(np.bincount(k)))
    keys = np.unique(c.astype(np.int64) * 65536 + k)
    return [(int(x // 65536), int(x % 65536)) for x in keys]


def order_segmentations(class_maps: Sequence[np.ndarray], objects: Sequence[RawObject]) -> list[int]:
    """Which of a list of decoded class maps is ``_seg`` and which are ``_parts_1``, ``_parts_2``...

    The documented order is seg first, then parts by level; a mirror that listed the files sorted by
    name would put the parts first. The maps' classes are matched against the objects' classes per
    part level: the seg is the map that best matches the whole objects (the first on ties), the
    parts follow by their best-matching level (stable). Returns indices into ``class_maps``.
    """
    n = len(class_maps)
    by_level: dict[int, set[int]] = {}
    for o in objects:
        if o.class_id > 0:
            by_level.setdefault(o.part_level, set()).add(o.class_id)
    if n < 2 or 0 not in by_level:
        return list(range(n))
    present = [set(present_ids(m)) - {0} for m in class_maps]

    def score(i: int, level: int) -> float:
        return len(present[i] & by_level.get(level, set())) / max(len(present[i]), 1)

    seg = max(range(n), key=lambda i: (score(i, 0), -i))
    rest = [i for i in range(n) if i != seg]
    levels = sorted(lv for lv in by_level if lv > 0)
    if levels:
        rest.sort(key=lambda i: min(levels, key=lambda lv: (-score(i, lv), lv)))
    return [seg] + rest


def assign_instances(
    objects: Sequence[RawObject],
    classes: np.ndarray,
    instances: np.ndarray,
    load_mask: Callable[[RawObject], np.ndarray | None],
) -> dict[int, int]:
    """Instance id (in ``instances``) of each whole object (part_level 0), by object index.

    A class with one instance and one object needs no mask; otherwise the object's instance mask
    (255 = visible) picks the instance covering most of its visible pixels of its class. Objects whose
    mask is missing, of another size, or without visible pixels (fully occluded: 128 only) get no
    entry (instance 0).
    """
    per_class: dict[int, list[int]] = {}
    for c, k in class_instance_pairs(classes, instances):
        per_class.setdefault(c, []).append(k)
    wholes = [o for o in objects if o.part_level == 0]
    count = {c: sum(o.class_id == c for o in wholes) for c in {o.class_id for o in wholes}}
    out: dict[int, int] = {}
    for o in wholes:
        cands = per_class.get(o.class_id, [])
        if not cands:
            continue
        if len(cands) == 1 and count[o.class_id] == 1:
            out[o.index] = cands[0]
            continue
        mask = load_mask(o)
        if mask is None or mask.shape != classes.shape:
            continue
        vis = mask == 255
        if not vis.any() and not (mask == 128).any():
            vis = mask > 0  # a plain binary mask (another 'on' value); 128 alone = fully occluded
        hits = instances[vis]
        hits = hits[np.isin(hits, cands)]  # instances of the object's own class
        if hits.size:
            out[o.index] = int(np.bincount(hits).argmax())
    return out


def build_full_scene(
    *,
    scene_id: str,
    split: str | None,
    image: np.ndarray,
    seg: np.ndarray,
    parts: Sequence[np.ndarray | None],
    objects: Sequence[RawObject],
    load_mask: Callable[[RawObject], np.ndarray | None],
    scene: str | None,
    source: str,
    extra_names: dict[int, str] | None = None,
    mapping: dict[int, int] | None = None,
    image_bytes: bytes | None = None,
) -> Scene:
    """Assemble a full-ADE Scene from decoded arrays (image H x W x 3, seg/parts RGB-encoded).

    ``parts[n - 1]`` is the ``_parts_n`` map (None where a level is missing: all zeros). Without
    ``mapping`` labels/parts are full-ADE ids (``name_ndx``); with it (full id -> SceneParse150 id)
    everything is converted as :func:`textureade.readers.mapping.convert_from_ade` does, the image is
    resized bilinearly to the same size, and class ids of objects are mapped (0 = not among the 150).
    Parts' objects get instance 0 (``instances`` holds whole objects only). ``image_bytes``: the
    image's file when it decodes to ``image`` as is (``Scene.image_bytes``; dropped when resized).
    """
    from textureade.readers.images import check_same_size

    check_same_size(image, seg, "segmentation (_seg.png)")
    classes = decode_class(seg)
    instances = decode_instances(seg)
    part_maps = []
    for level, p in enumerate(parts, 1):
        if p is None:
            part_maps.append(np.zeros_like(classes))
            continue
        check_same_size(image, p, f"part map level {level}")
        part_maps.append(decode_class(p))
    inst_of = assign_instances(objects, classes, instances, load_mask)
    names: dict[int, str] = {}
    for o in objects:
        if o.class_id > 0 and o.name:
            names.setdefault(o.class_id, o.name)
    if mapping is not None:
        size = challenge_size(*classes.shape)
        if size != classes.shape:
            from PIL import Image

            image = np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR))
            image_bytes = None
        classes = map_classes(nearest_resize(classes, size), mapping)
        instances = nearest_resize(instances, size)
        part_maps = [map_classes(nearest_resize(p, size), mapping) for p in part_maps]
        names = ade150_class_names()
    present = set(present_ids(classes))
    for p in part_maps:
        present.update(present_ids(p))
    if mapping is None:  # ids drawn but named by no object: objects.txt, when the copy has one
        names.update({c: extra_names[c] for c in present if c not in names and c in (extra_names or {})})
    class_names = {c: names[c] for c in sorted(names) if c > 0}
    scene_objects = []
    for o in objects:
        cid = o.class_id if mapping is None else (mapping.get(o.class_id, 0) if o.class_id > 0 else 0)
        scene_objects.append(
            SceneObject(
                name=o.name,
                class_id=cid,
                instance_id=inst_of.get(o.index, 0),
                attributes=list(o.attributes),
                part_level=o.part_level,
                occluded=o.occluded,
            )
        )
    return Scene(
        id=scene_id,
        image=image,
        labels=classes,
        split=split,
        instances=instances,
        parts=part_maps,
        objects=scene_objects,
        class_names=class_names,
        scene=scene,
        source=source,
        image_bytes=image_bytes,
    )
