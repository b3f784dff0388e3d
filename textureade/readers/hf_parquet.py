"""Hugging Face parquet mirrors, read row group by row group with pyarrow (never whole).

- ``scene_parse_150`` (config scene_parsing): ``image`` and ``annotation`` as ``{bytes, path}``
  structs (annotation null in the test split), ``scene_category`` an int (ClassLabel; its names come
  from the schema's ``huggingface`` metadata when present).
- ``1aurent/ADE20K``: ``image``, ``segmentations`` (list of images: ``_seg`` then ``_parts_N``; which
  is which is checked against the objects' classes per part level, so a name-sorted list works too),
  ``instances`` (list of mode-L masks, one per object, in object order), ``filename``, ``folder``,
  ``source``, ``scene`` (list), ``objects`` (the JSON fields; attributes a string, occluded a bool).

The split of a file comes from its path (``train-0000-of-0010.parquet``, ``validation/0000.parquet``).
Files of the test split (no annotations) are skipped.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from textureade.readers.ade150 import N_CLASSES, ade150_class_names
from textureade.readers.base import FORM_HF150, FORM_HF_FULL, SPLITS, Ade20kSource, ItemRef, ReadError
from textureade.readers.fullform import (
    RawObject,
    build_full_scene,
    order_segmentations,
    parse_objects,
    scene_category,
)
from textureade.readers.images import (
    check_class_range,
    check_same_size,
    open_image,
    read_label_map,
    read_photo,
    to_rgb_encoded,
)
from textureade.readers.mapping import decode_class
from textureade.types import Scene, ValidationError

log = logging.getLogger("textureade.readers")

_SPLIT_WORDS = (("training", "training"), ("train", "training"), ("validation", "validation"))
_SPLIT_WORDS += (("valid", "validation"), ("val", "validation"), ("test", "test"))


def split_of(path: Path, root: Path) -> str | None:
    """``training``/``validation``/``test`` from the file name or a folder name, else None."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    for part in reversed(parts):
        name = part.lower().split(".")[0]
        for word, split in _SPLIT_WORDS:
            if re.match(rf"^{word}([-_.]|$)", name):
                return split
    return None


def parquet_form(schema: Any) -> str | None:
    """Which mirror a pyarrow schema belongs to (None: neither)."""
    names = set(schema.names)
    if {"image", "segmentations", "objects"} <= names:
        return FORM_HF_FULL
    if {"image", "annotation", "scene_category"} <= names:
        return FORM_HF150
    return None


def _image_bytes(cell: Any, what: str) -> bytes:
    if isinstance(cell, dict):
        data = cell.get("bytes")
        if data is None and cell.get("path") and Path(cell["path"]).is_file():
            data = Path(cell["path"]).read_bytes()
        if data is None:
            raise ReadError(f"{what} is empty (no bytes in the parquet cell)")
        return data
    if isinstance(cell, bytes | bytearray):
        return bytes(cell)
    raise ReadError(f"{what} is missing")


class _ParquetSource(Ade20kSource):
    """Shared: file listing, split per file, ids per row, one cached row group."""

    id_column = ""

    def __init__(self, root: Path, files: list[Path], mapping: dict[int, int] | None = None) -> None:
        super().__init__(root, mapping)
        self.files = [f for f in files if split_of(f, root) != "test"]
        skipped = len(files) - len(self.files)
        if skipped:
            log.info("skipping %d test-split parquet file(s) (no annotations) under %s", skipped, root)
        self._cache_key: tuple[str, int] | None = None
        self._cache_rows: list[dict] | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache_key"], state["_cache_rows"] = None, None
        return state

    def splits(self) -> list[str]:
        found = {split_of(f, self.root) for f in self.files}
        return [s for s in SPLITS if s in found] + (["unknown"] if None in found else [])

    def _row_ids(self, pf: Any, path: Path, split: str | None) -> list[str | None]:
        raise NotImplementedError

    def _items(self, split: str | None) -> list[ItemRef]:
        import pyarrow.parquet as pq

        refs = []
        for f in self.files:
            s = split_of(f, self.root)
            if split is not None and s != split:
                continue
            pf = pq.ParquetFile(f)
            ids = self._row_ids(pf, f, s)
            n = 0
            for rg in range(pf.metadata.num_row_groups):
                for r in range(pf.metadata.row_group(rg).num_rows):
                    item_id = ids[n] or f"{s or 'unknown'}-{f.stem}-{n:06d}"  # no file name in the row
                    refs.append(
                        ItemRef(id=item_id, split=s, form=self.form, path=str(f), row_group=rg, row=r)
                    )
                    n += 1
        return refs

    def _row(self, ref: ItemRef) -> dict:
        key = (ref.path, ref.row_group)
        if self._cache_key != key:
            import pyarrow.parquet as pq

            try:
                table = pq.ParquetFile(ref.path).read_row_group(ref.row_group)
            except Exception as exc:  # a damaged file or row group: only its rows are lost
                raise ReadError(
                    f"row group {ref.row_group} of {Path(ref.path).name} unreadable: {exc}"
                ) from None
            self._cache_key, self._cache_rows = key, table.to_pylist()
        rows = self._cache_rows or []
        if not 0 <= ref.row < len(rows):
            raise ReadError(f"row {ref.row} not in row group {ref.row_group} of {Path(ref.path).name}")
        return rows[ref.row]


class SceneParse150Parquet(_ParquetSource):
    """The ``scene_parse_150`` mirror: SceneParse150 labels, scene category names from the metadata."""

    form = FORM_HF150

    def __init__(self, root: Path, files: list[Path], mapping: dict[int, int] | None = None) -> None:
        super().__init__(root, files, mapping)
        self.class_names = ade150_class_names()
        self.scene_names = _class_label_names(files[0], "scene_category") if files else []

    def _row_ids(self, pf: Any, path: Path, split: str | None) -> list[str | None]:
        try:
            col = pf.read(columns=["image.path"]).column("image").to_pylist()
        except Exception:  # no path field: ids come from the row position
            return [None] * pf.metadata.num_rows
        return [Path(c["path"]).stem if c and c.get("path") else None for c in col]

    def _load(self, ref: ItemRef) -> Scene:
        row = self._row(ref)
        if row.get("annotation") is None:
            raise ReadError("no annotation in this row (a test-split row?)")
        image, image_bytes = read_photo(_image_bytes(row.get("image"), "image"), "image")
        labels = read_label_map(_image_bytes(row["annotation"], "annotation"), "annotation")
        check_same_size(image, labels, "annotation")
        check_class_range(labels, N_CLASSES, "annotation")
        cat = row.get("scene_category")
        scene = None
        if isinstance(cat, int) and 0 <= cat < len(self.scene_names):
            scene = self.scene_names[cat]
        elif isinstance(cat, str):
            scene = cat
        try:
            return Scene(
                id=ref.id,
                image=image,
                labels=labels,
                split=ref.split,
                class_names=dict(self.class_names),
                scene=scene,
                source=self.form,
                image_bytes=image_bytes,
            )
        except ValidationError as exc:
            raise ReadError(str(exc)) from None


class FullAdeParquet(_ParquetSource):
    """The ``1aurent/ADE20K`` mirror: full-ADE ids, instances, parts and objects like the folders."""

    form = FORM_HF_FULL

    def _row_ids(self, pf: Any, path: Path, split: str | None) -> list[str | None]:
        if "filename" not in pf.schema_arrow.names:
            return [None] * pf.metadata.num_rows
        col = pf.read(columns=["filename"]).column("filename").to_pylist()
        return [Path(c).stem if c else None for c in col]

    def _load(self, ref: ItemRef) -> Scene:
        row = self._row(ref)
        segs = row.get("segmentations") or []
        if not segs or segs[0] is None:
            raise ReadError("annotation missing: no segmentation in this row")
        image, image_bytes = read_photo(_image_bytes(row.get("image"), "image"), "image")
        decoded = [
            to_rgb_encoded(
                open_image(_image_bytes(c, f"segmentation {n}"), f"segmentation {n}"), "segmentation"
            )
            for n, c in enumerate(segs)
            if c is not None
        ]
        objects = parse_objects(row.get("objects"))
        order = order_segmentations([decode_class(d) for d in decoded], objects)
        seg, parts = decoded[order[0]], [decoded[i] for i in order[1:]]
        masks = row.get("instances") or []

        def load_mask(o: RawObject) -> np.ndarray | None:
            if len(masks) != len(objects) or masks[o.index] is None:
                return None  # masks are paired with objects by position only
            try:
                return read_label_map(_image_bytes(masks[o.index], "instance mask"), "instance mask")
            except ReadError:
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
                scene=scene_category(row.get("scene")),
                source=self.form,
                mapping=self.mapping,
                image_bytes=image_bytes,
            )
        except ValidationError as exc:
            raise ReadError(str(exc)) from None


def _class_label_names(path: Path, column: str) -> list[str]:
    """ClassLabel names of ``column`` from a parquet file's ``huggingface`` schema metadata."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        info = json.loads(meta.get(b"huggingface", b"{}"))
        feature = info.get("info", {}).get("features", {}).get(column, {})
        names = feature.get("names") or []
        return [str(n) for n in names]
    except (OSError, ValueError, AttributeError):
        return []
