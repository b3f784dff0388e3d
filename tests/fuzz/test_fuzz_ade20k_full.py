"""Broken ADE20K_2021_17_01 (full form) folders (issue #15): every item a scene or a reason.

Hypothesis damages one item's files (the photo, the colour-coded ``_seg.png``, a ``_parts_N.png``,
an instance mask, the per-image JSON: bytes truncated/flipped/replaced, deleted, a directory in
their place, the JSON replaced by arbitrary JSON values) and adds entries (names that are not
UTF-8, a second file of one id in another scene folder, a directory or a hidden file named like an
image). Properties: the reader never raises; scenes + rejects account for every image-named entry;
every undamaged item reads exactly as in the undamaged folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from fuzzkit import BYTE_DAMAGE, budget, damage_bytes, deep, rewrite
from hypothesis import given
from hypothesis import strategies as st

from textureade.errors import safe_text
from textureade.readers import read_ade20k
from textureade.readers.full import is_image_name
from textureade.testing.synthetic_ade import write_synthetic_ade

N_ITEMS = 5


def _digest(scene) -> tuple[str, ...]:
    arrays = [scene.image, scene.labels] + ([scene.instances] if scene.instances is not None else [])
    return tuple(hashlib.sha256(a.tobytes()).hexdigest() for a in arrays) + (str(len(scene.parts)),)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, dict[str, tuple], list[str]]:
    """(folder, {id: digest} of its scenes, the image paths relative to the folder, by id)."""
    root = write_synthetic_ade(tmp_path_factory.mktemp("full"), n=N_ITEMS, form="full", seed=7)
    images = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jpg") if is_image_name(p.name))
    ref = {s.id: _digest(s) for s in read_ade20k(root)}
    assert len(ref) == N_ITEMS == len(images)
    return root, ref, images


FILES = ("image", "seg", "json", "parts", "instance")
damage = st.tuples(
    st.sampled_from(FILES),
    st.sampled_from((*BYTE_DAMAGE, "missing", "dir", "json_value")),
    st.floats(0, 1),
    st.integers(0, 255),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    ),
)
extra = st.tuples(st.sampled_from(("non_utf8", "duplicate", "dir_named_jpg", "hidden")), st.integers(0, 999))
case = st.tuples(
    st.dictionaries(st.integers(0, N_ITEMS - 1), damage, max_size=2), st.lists(extra, max_size=3)
)


def _target(image: Path, what: str, value: int) -> Path | None:
    stem = image.stem
    if what == "image":
        return image
    if what == "seg":
        return image.with_name(f"{stem}_seg.png")
    if what == "json":
        return image.with_name(f"{stem}.json")
    found = sorted(
        image.parent.glob(f"{stem}_parts_*.png")
        if what == "parts"
        else (image.parent / stem).glob("instance_*.png")
    )
    return found[value % len(found)] if found else None


def apply(root: Path, rel: str, what: str, kind: str, at: float, value: int, doc) -> None:
    path = _target(root / rel, what, value)
    if path is None:
        return
    if kind in BYTE_DAMAGE:
        rewrite(path, damage_bytes(path.read_bytes(), kind, at, value))
    elif kind == "missing":
        path.unlink()
    elif kind == "dir":
        path.unlink()
        path.mkdir()
    elif kind == "json_value":  # the JSON (or, for other files, JSON text where an image belongs)
        rewrite(path, json.dumps(doc if what != "json" or value % 2 else {"annotation": doc}).encode())


def add(root: Path, images: list[str], kind: str, value: int) -> None:
    image = root / images[value % len(images)]
    tag = f"{value:04d}"
    if kind == "non_utf8":
        stem = os.fsencode(image.parent / f"ADE_x{tag}") + b"\xfe"
        for suffix in (".jpg", "_seg.png", ".json"):
            src = image.with_name(image.stem + suffix)
            with open(stem + suffix.encode(), "wb") as f:
                f.write(src.read_bytes())
    elif kind == "duplicate":  # the same id in another scene folder: one of the two is refused
        other = root / "images" / "ADE" / "training" / "zz_other" / "copy"
        other.mkdir(parents=True, exist_ok=True)
        for src in image.parent.glob(f"{image.stem}*"):  # the photo, its maps, JSON, instance folder
            if src.is_dir():
                shutil.copytree(src, other / src.name, dirs_exist_ok=True)
            else:
                shutil.copy(src, other / src.name)
    elif kind == "dir_named_jpg":
        (image.parent / f"ADE_d{tag}.jpg").mkdir(exist_ok=True)
    elif kind == "hidden":
        (image.parent / f"._{image.name}").write_bytes(b"AppleDouble junk")


def image_entries(root: Path) -> Counter:
    """Safe ids of every entry named like an image where the reader looks (what must be a scene
    or a reason): instance folders and folders named like images are not searched."""
    ids: Counter = Counter()
    for split in ("training", "validation"):
        for _dirpath, dirnames, filenames in os.walk(os.fsencode(root / "images" / "ADE" / split)):
            names = {os.fsdecode(f) for f in filenames}
            dirs = [os.fsdecode(d) for d in dirnames]
            for name in [*names, *dirs]:
                if is_image_name(name):
                    ids[safe_text(os.path.splitext(name)[0])] += 1
            dirnames[:] = [os.fsencode(d) for d in dirs if f"{d}.jpg" not in names and not is_image_name(d)]
    return ids


def check(base, tmp: Path, damages: dict, extras: list) -> None:
    root, ref, images = base
    folder = tmp / "full"
    shutil.copytree(root, folder)
    for kind, value in extras:  # first: extras copy intact files
        add(folder, images, kind, value)
    damaged = set()
    for i, (what, kind, at, value, doc) in damages.items():
        apply(folder, images[i], what, kind, at, value, doc)
        damaged.add(Path(images[i]).stem)
    rejects: list[tuple[str, str]] = []
    scenes = list(read_ade20k(folder, on_reject=lambda i, r: rejects.append((i, r))))
    for sid, reason in rejects:
        assert reason and "\n" not in reason and sid.encode("utf-8") and reason.encode("utf-8")
    assert Counter(s.id for s in scenes) + Counter(i for i, _ in rejects) == image_entries(folder)
    got = {}
    for s in scenes:
        got.setdefault(s.id, _digest(s))
    for sid, digest in ref.items():
        if sid not in damaged:
            assert got.get(sid) == digest, (sid, dict(rejects).get(sid))


FAST, DEEP = budget(15, 300)


@FAST
@given(case)
def test_broken_full_ade20k_folders_read_every_item_as_a_scene_or_a_reason(base, tmp_path_factory, c):
    check(base, tmp_path_factory.mktemp("f"), *c)


@deep
@DEEP
@given(case)
def test_broken_full_ade20k_folders_deep(base, tmp_path_factory, c):
    check(base, tmp_path_factory.mktemp("f"), *c)
