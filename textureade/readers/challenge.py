"""ADEChallengeData2016 (SceneParse150) folders.

Layout: ``images/{training,validation}/ADE_*.jpg``, ``annotations/{same split}/<stem>.png`` (one
channel, values 0..150, 0 = other), ``objectInfo150.txt`` (tab-separated ``Idx Ratio Train Val Name``,
names with synonyms and sometimes trailing spaces: the first synonym, stripped, is the class name)
and ``sceneCategories.txt`` (``<id> <scene>`` per line). A split may be absent.
"""

from __future__ import annotations

import logging
from pathlib import Path

from textureade.readers.ade150 import N_CLASSES, ade150_class_names, first_synonym
from textureade.readers.base import FORM_CHALLENGE, SPLITS, Ade20kSource, ItemRef, ReadError
from textureade.readers.images import (
    check_class_range,
    check_same_size,
    read_label_map,
    read_photo,
    require_file,
)
from textureade.types import Scene, ValidationError

log = logging.getLogger("textureade.readers")

IMAGE_EXTS = (".jpg", ".jpeg", ".png")


def is_challenge_root(p: Path) -> bool:
    """True when ``p`` looks like an ADEChallengeData2016 folder (images/ + annotations/ with a split)."""
    return (p / "annotations").is_dir() and any((p / "images" / s).is_dir() for s in SPLITS)


def read_object_info(path: Path) -> dict[int, str]:
    """objectInfo150.txt -> {Idx: first synonym}; tolerant of trailing spaces and a ';' synonym separator."""
    names: dict[int, str] = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 2:
            continue
        try:
            idx = int(fields[0].strip())
        except ValueError:
            continue  # the header
        names[idx] = first_synonym(fields[-1])
    return names


def read_scene_categories(path: Path) -> dict[str, str]:
    """sceneCategories.txt -> {image id: scene}."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split()
        if len(fields) >= 2:
            out[fields[0]] = fields[1]
    return out


class ChallengeSource(Ade20kSource):
    """An ADEChallengeData2016 folder: labels are SceneParse150 ids, no instances, parts or objects."""

    form = FORM_CHALLENGE

    def __init__(self, root: Path, mapping: dict[int, int] | None = None) -> None:
        super().__init__(root, mapping)
        info = root / "objectInfo150.txt"
        self.class_names = ade150_class_names()
        if info.is_file():
            try:
                self.class_names.update(read_object_info(info))
            except OSError as exc:
                log.warning("cannot read %s (%s); using the built-in 150 names", info, exc)
        cats = root / "sceneCategories.txt"
        self._scenes_path = cats if cats.is_file() else None
        self._scenes: dict[str, str] | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_scenes"] = None  # re-read lazily in a worker; keeps pickles small
        return state

    def _scene_of(self, item_id: str) -> str | None:
        if self._scenes is None:
            self._scenes = read_scene_categories(self._scenes_path) if self._scenes_path else {}
        return self._scenes.get(item_id)

    def splits(self) -> list[str]:
        return [s for s in SPLITS if (self.root / "images" / s).is_dir()]

    def _items(self, split: str | None) -> list[ItemRef]:
        refs = []
        for s in [split] if split else self.splits():
            folder = self.root / "images" / s
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                # anything named like an image is an item (a directory or a broken link then gets
                # its reject line when loaded); hidden files are not
                if f.suffix.lower() in IMAGE_EXTS and not f.name.startswith("."):
                    refs.append(ItemRef(id=f.stem, split=s, form=self.form, path=str(f)))
        return refs

    def annotation_path(self, ref: ItemRef) -> Path:
        return self.root / "annotations" / str(ref.split) / f"{ref.id}.png"

    def _load(self, ref: ItemRef) -> Scene:
        ann_path = self.annotation_path(ref)
        require_file(ref.path, "image")  # the photo first: a directory named like one says so
        if not ann_path.is_file():
            raise ReadError(f"annotation missing: {ann_path}")
        image, image_bytes = read_photo(ref.path, "image")
        labels = read_label_map(ann_path, "annotation")
        check_same_size(image, labels, "annotation")
        check_class_range(labels, N_CLASSES, "annotation")
        try:
            return Scene(
                id=ref.id,
                image=image,
                labels=labels,
                split=ref.split,
                class_names=dict(self.class_names),
                scene=self._scene_of(ref.id),
                source=self.form,
                image_bytes=image_bytes,
            )
        except ValidationError as exc:
            raise ReadError(str(exc)) from None
