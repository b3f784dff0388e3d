"""ADE20K_2021_17_01 folders: the full dataset (3,688 classes, instances, parts, attributes).

Layout: ``images/ADE/{training,validation}/<scene path>/<id>.jpg`` with ``<id>_seg.png``,
``<id>_parts_N.png``, ``<id>.json`` and ``<id>/instance_NNN_<id>.png`` beside it; ``objects.txt``
at the root. ``index_ade20k.pkl`` is a pickle and is never loaded: the per-image JSONs carry the
same facts.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from textureade.readers.base import FORM_FULL, SPLITS, Ade20kSource, ItemRef, ReadError
from textureade.readers.fullform import (
    RawObject,
    build_full_scene,
    parse_annotation_json,
    parse_objects,
    scene_category,
)
from textureade.readers.images import read_label_map, read_photo, read_rgb_encoded, require_file
from textureade.types import Scene, ValidationError

log = logging.getLogger("textureade.readers")

_PARTS = re.compile(r"_parts_(\d+)\.png$")
_DERIVED = re.compile(r"(_seg|_parts_\d+)$")


def is_image_name(name: str) -> bool:
    """True for ``<id>.jpg``/``.jpeg`` names that are images of the form (not hidden, not derived maps)."""
    stem, ext = os.path.splitext(name)
    return ext.lower() in (".jpg", ".jpeg") and not name.startswith(".") and not _DERIVED.search(stem)


def is_full_root(p: Path) -> bool:
    """True when ``p`` looks like an ADE20K_2021_17_01 folder (``images/ADE/<split>``)."""
    return any((p / "images" / "ADE" / s).is_dir() for s in SPLITS)


def read_objects_txt(path: Path) -> dict[int, str]:
    """objects.txt -> {class id: name}; empty when the file cannot be understood.

    Tab-separated with a header. A leading integer column is taken as the id; otherwise the
    1-based row order is (objectnames order = ``name_ndx``). Names are reduced to the first synonym.
    Only used for ids that no object of the image's JSON names.
    """
    from textureade.readers.ade150 import first_synonym

    try:
        raw = path.read_bytes()
    except OSError as exc:
        log.warning("cannot read %s (%s); class names come from the JSON files only", path, exc)
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    out: dict[int, str] = {}
    for row, line in enumerate(lines[1:], 1):
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) >= 2 and fields[0].isdigit():
            out[int(fields[0])] = first_synonym(fields[1])
        elif fields[0]:
            out[row] = first_synonym(fields[0])
    return out


class FullSource(Ade20kSource):
    """An ADE20K_2021_17_01 folder: labels are full-ADE ids (``name_ndx``) unless a mapping is given."""

    form = FORM_FULL

    def __init__(self, root: Path, mapping: dict[int, int] | None = None) -> None:
        super().__init__(root, mapping)
        objects_txt = root / "objects.txt"
        self._objects_txt = objects_txt if objects_txt.is_file() else None
        self._extra_names: dict[int, str] | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_extra_names"] = None
        return state

    def extra_names(self) -> dict[int, str]:
        if self._extra_names is None:
            self._extra_names = read_objects_txt(self._objects_txt) if self._objects_txt else {}
        return self._extra_names

    def splits(self) -> list[str]:
        return [s for s in SPLITS if (self.root / "images" / "ADE" / s).is_dir()]

    def _items(self, split: str | None) -> list[ItemRef]:
        refs = []
        for s in [split] if split else self.splits():
            top = self.root / "images" / "ADE" / s
            for dirpath, dirnames, filenames in os.walk(top):
                names = set(filenames)
                # a folder named like an image is an item (its reject says so), not a scene folder
                odd = [d for d in dirnames if is_image_name(d)]
                # an image's instance-mask folder carries its stem: do not descend into it
                dirnames[:] = sorted(d for d in dirnames if f"{d}.jpg" not in names and d not in odd)
                for f in filenames + odd:
                    if is_image_name(f):
                        stem = os.path.splitext(f)[0]
                        refs.append(ItemRef(id=stem, split=s, form=self.form, path=os.path.join(dirpath, f)))
        return refs

    def _load(self, ref: ItemRef) -> Scene:
        img_path = Path(ref.path)
        require_file(img_path, "image")  # a directory named like an image says so, not "seg missing"
        folder, stem = img_path.parent, img_path.stem
        seg_path = folder / f"{stem}_seg.png"
        json_path = folder / f"{stem}.json"
        if not seg_path.is_file():
            raise ReadError(f"annotation missing: {seg_path}")
        if not json_path.is_file():
            raise ReadError(f"JSON missing: {json_path}")
        try:
            ann = parse_annotation_json(json_path.read_bytes(), f"JSON {json_path.name}")
        except OSError as exc:
            raise ReadError(f"JSON {json_path.name} unreadable: {exc.strerror or exc}") from None
        objects = parse_objects(ann.get("object"))
        image, image_bytes = read_photo(img_path, "image")
        seg = read_rgb_encoded(seg_path, "segmentation")
        levels = {}
        for f in folder.glob(f"{glob_escape(stem)}_parts_*.png"):
            m = _PARTS.search(f.name)
            if m and f.name == f"{stem}_parts_{m.group(1)}.png" and int(m.group(1)) > 0:
                levels[int(m.group(1))] = f
        parts = [
            read_rgb_encoded(levels[n], f"part map {n}") if n in levels else None
            for n in range(1, max(levels, default=0) + 1)
        ]

        def load_mask(o: RawObject) -> np.ndarray | None:
            rel = o.instance_mask or f"{stem}/instance_{o.id:03d}_{stem}.png"
            p = folder / rel
            if not p.is_file():
                return None
            try:
                return read_label_map(p, "instance mask")
            except ReadError as exc:
                log.debug("%s: %s", ref.id, exc)
                return None

        try:
            return build_full_scene(
                scene_id=ref.id,
                split=ref.split,
                image=image,
                seg=seg,
                parts=parts,
                objects=objects,
                load_mask=load_mask,
                scene=scene_category(ann.get("scene")),
                source=self.form,
                extra_names=self.extra_names(),
                mapping=self.mapping,
                image_bytes=image_bytes,
            )
        except ValidationError as exc:
            raise ReadError(str(exc)) from None


def glob_escape(text: str) -> str:
    """Escape glob metacharacters in a file stem."""
    return re.sub(r"([*?\[])", r"[\1]", text)
