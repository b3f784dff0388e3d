"""Broken ADEChallengeData2016 folders (issue #15): every item a scene or a reason, good ones unchanged.

A base folder holds synthetic images (which the fuzzer may damage) and, when present, the genuine
ADE20K samples as symlinks (read in place, never damaged). Hypothesis draws damages to items
(bytes truncated/flipped/replaced, other modes and bit depths, wrong sizes, class ids > 150,
directories and links in place of files, missing annotations) and extra entries (names that are
not UTF-8, duplicate ids, directories or text named like images, exotic but valid names, hidden
files). Properties: the reader never raises; scenes + rejects account for every image-named entry;
every undamaged item reads exactly as in the undamaged folder; ``textureade build`` exits 0 (1
under --strict with rejects), never with a traceback, and writes the same shard bytes as a build
of the good items alone.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fuzzkit import BYTE_DAMAGE, assert_clean, budget, damage_bytes, deep, rewrite, run_main
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from textureade.errors import safe_text
from textureade.readers import read_ade20k
from textureade.testing.synthetic_ade import write_synthetic_ade

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
N_SYNTHETIC = 6
SPLITS = ("training", "validation")


#: the genuine ADE20K samples beside the clone (../shared); used when present, never modified
GENUINE = Path(__file__).resolve().parents[3] / "shared" / "data" / "ade20k-sceneparsing-samples"


def _base(tmp: Path, with_genuine: bool) -> tuple[Path, dict[str, tuple[bytes, bytes]], list[str]]:
    root = write_synthetic_ade(tmp, n=N_SYNTHETIC, form="challenge", seed=5)
    damageable = sorted(p.stem for s in SPLITS for p in (root / "images" / s).glob("*.jpg"))
    genuine = GENUINE / "ADEChallengeData2016"
    if with_genuine and genuine.is_dir():  # the genuine samples, read in place through links (never damaged)
        for img in sorted((genuine / "images" / "validation").glob("*.jpg")):
            os.symlink(img, root / "images" / "validation" / f"genuine_{img.name}")
            ann = genuine / "annotations" / "validation" / f"{img.stem}.png"
            os.symlink(ann, root / "annotations" / "validation" / f"genuine_{ann.name}")
    ref = {s.id: _digest(s) for s in read_ade20k(root)}
    assert len(ref) >= N_SYNTHETIC
    return root, ref, damageable


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, dict[str, tuple[bytes, bytes]], list[str]]:
    """(folder, {id: (image sha, labels sha)} of its scenes, ids the fuzzer may damage): synthetic
    images and, when present, the genuine samples."""
    return _base(tmp_path_factory.mktemp("ade"), with_genuine=True)


@pytest.fixture(scope="module")
def synthetic_base(tmp_path_factory) -> tuple[Path, dict[str, tuple[bytes, bytes]], list[str]]:
    """The synthetic images alone (small: two builds per example stay quick)."""
    return _base(tmp_path_factory.mktemp("ade"), with_genuine=False)


def _digest(scene) -> tuple[bytes, bytes]:
    import hashlib

    return hashlib.sha256(scene.image.tobytes()).digest(), hashlib.sha256(scene.labels.tobytes()).digest()


def _bomb_png() -> bytes:
    """A tiny PNG whose header claims 50000 x 50000 pixels (PIL's decompression-bomb guard)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


# -- damages to one existing item --------------------------------------------------------------

IMAGE_DAMAGE = (*BYTE_DAMAGE, "dir", "broken_link", "loop_link", "bomb", "mode", "huge_mode")
ANNOTATION_DAMAGE = (*BYTE_DAMAGE, "missing", "dir", "other_size", "colour", "over_150", "bit16", "palette")
#: damages after which the item is certainly rejected (a build of the good items alone matches)
SURE_REJECT = {
    ("image", "empty"), ("image", "text"), ("image", "dir"), ("image", "broken_link"), ("image", "loop_link"),
    ("image", "bomb"), ("annotation", "missing"), ("annotation", "dir"), ("annotation", "other_size"),
    ("annotation", "colour"), ("annotation", "over_150"), ("annotation", "empty"), ("annotation", "text"),
}  # fmt: skip

damage = st.one_of(
    st.tuples(st.just("image"), st.sampled_from(IMAGE_DAMAGE), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(
        st.just("annotation"), st.sampled_from(ANNOTATION_DAMAGE), st.floats(0, 1), st.integers(0, 255)
    ),
)

EXTRA = ("non_utf8", "duplicate", "dir_named_jpg", "text_named_jpg", "exotic_name", "hidden", "link_to_good")
extra = st.tuples(st.sampled_from(EXTRA), st.integers(0, 10_000))


def _split_of(root: Path, item: str) -> str:
    return next(s for s in SPLITS if (root / "images" / s / f"{item}.jpg").exists())


def apply_damage(root: Path, item: str, what: str, kind: str, at: float, value: int) -> None:
    split = _split_of(root, item)
    path = (
        root
        / ("images" if what == "image" else "annotations")
        / split
        / f"{item}.{'jpg' if what == 'image' else 'png'}"
    )
    if kind in BYTE_DAMAGE:
        rewrite(path, damage_bytes(path.read_bytes(), kind, at, value))
    elif kind in ("missing",):
        path.unlink()
    elif kind == "dir":
        path.unlink()
        path.mkdir()
    elif kind == "broken_link":
        path.unlink()
        path.symlink_to(path.parent / "nowhere.jpg")
    elif kind == "loop_link":
        path.unlink()
        path.symlink_to(path.name)
    elif kind == "bomb":
        rewrite(path, _bomb_png())
    elif kind in ("mode", "huge_mode"):
        im = Image.open(path)
        mode = ["L", "CMYK", "P", "RGBA", "I;16"][value % 5] if kind == "mode" else "I"
        arr = np.asarray(im.convert("L"))
        out = Image.fromarray(arr.astype(np.uint16)) if mode in ("I;16", "I") else im.convert(mode)
        path.unlink()
        out.save(path, format="PNG" if mode in ("I;16", "I", "RGBA", "P") else "JPEG")
    else:  # annotation content
        lab = np.asarray(Image.open(path)).astype(np.int64)
        path.unlink()
        if kind == "other_size":
            lab = lab[: max(1, lab.shape[0] - 1 - value % 7)]
            Image.fromarray(lab.astype(np.uint8)).save(path)
        elif kind == "colour":
            rgb = np.stack([lab, (lab + 1 + value % 7) % 256, lab], axis=2).astype(np.uint8)
            Image.fromarray(rgb).save(path)
        elif kind == "over_150":
            lab[value % lab.shape[0], :] = 151 + value % 100
            Image.fromarray(lab.astype(np.uint8)).save(path)
        elif kind == "bit16":
            Image.fromarray(lab.astype(np.uint16)).save(path)
        elif kind == "palette":
            pal = Image.fromarray(lab.astype(np.uint8), mode="P")
            pal.putpalette([(value + i) % 256 for i in range(256) for _ in range(3)])
            pal.save(path)


def add_extra(root: Path, kind: str, value: int, goods: list[str]) -> None:
    src = goods[value % len(goods)]
    split = _split_of(root, src)
    img, ann = root / "images" / split, root / "annotations" / split
    src_img = (img / f"{src}.jpg").read_bytes()
    src_ann = (ann / f"{src}.png").read_bytes()
    tag = f"{value:05d}"
    if kind == "non_utf8":
        raw = os.fsencode(f"ADE_x{tag}") + bytes([0x80 + value % 0x40, 0xFF])
        with open(os.fsencode(img) + b"/" + raw + b".jpg", "wb") as f:
            f.write(src_img)
        with open(os.fsencode(ann) + b"/" + raw + b".png", "wb") as f:
            f.write(src_ann)
    elif kind == "duplicate":
        ext = (".png", ".JPG", ".jpeg")[value % 3]
        (img / f"{src}{ext}").write_bytes(src_img)  # the same bytes: whichever copy is kept reads alike
    elif kind == "dir_named_jpg":
        (img / f"ADE_d{tag}.jpg").mkdir(exist_ok=True)
        (ann / f"ADE_d{tag}.png").write_bytes(src_ann)
    elif kind == "text_named_jpg":
        (img / f"ADE_t{tag}.jpg").write_text("not an image")
        (ann / f"ADE_t{tag}.png").write_bytes(src_ann)
    elif kind == "exotic_name":
        name = ["ADE é ü {}", "ADE\tline{}", "ADE 🙂{}", "ADE'quote\"{}", "ADE\nnew{}"][value % 5].format(tag)
        (img / f"{name}.jpg").write_bytes(src_img)
        if value % 2:
            (ann / f"{name}.png").write_bytes(src_ann)
    elif kind == "hidden":
        (img / f".ADE_h{tag}.jpg").write_bytes(b"junk")
    elif kind == "link_to_good":
        if not (img / f"ADE_l{tag}.jpg").is_symlink():
            (img / f"ADE_l{tag}.jpg").symlink_to(img / f"{src}.jpg")
        (ann / f"ADE_l{tag}.png").write_bytes(src_ann)


def image_entries(root: Path) -> Counter:
    """Safe ids of every non-hidden entry named like an image (what must be a scene or a reason)."""
    ids: Counter = Counter()
    for s in SPLITS:
        folder = os.fsencode(root / "images" / s)
        for raw in os.listdir(folder):
            name = os.fsdecode(raw)
            stem, ext = os.path.splitext(name)
            if ext.lower() in IMAGE_EXTS and not name.startswith("."):
                ids[safe_text(stem)] += 1
    return ids


case = st.tuples(
    st.dictionaries(st.integers(0, N_SYNTHETIC - 1), damage, max_size=3),
    st.lists(extra, max_size=4),
)


def _make(
    base_root: Path, dest: Path, damages: dict, extras: list, goods: list[str], damageable: list[str]
) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(base_root, dest, symlinks=True)
    for i, (what, kind, at, value) in damages.items():
        apply_damage(dest, damageable[i], what, kind, at, value)
    for kind, value in extras:
        add_extra(dest, kind, value, goods)
    return dest


def check_reader(base, tmp: Path, damages: dict, extras: list) -> None:
    root, ref, damageable = base
    damaged = {damageable[i] for i in damages}
    goods = [i for i in damageable if i not in damaged]
    folder = _make(root, tmp / "fuzzed", damages, extras, goods or damageable, damageable)
    rejects: list[tuple[str, str]] = []
    scenes = list(read_ade20k(folder, on_reject=lambda i, r: rejects.append((i, r))))
    for sid, reason in rejects:
        assert reason and "\n" not in reason and sid.encode("utf-8") and reason.encode("utf-8")
    got = Counter(s.id for s in scenes) + Counter(i for i, _ in rejects)
    assert got == image_entries(folder)
    by_id = {}
    for s in scenes:
        by_id.setdefault(s.id, _digest(s))
    for sid, digest in ref.items():
        if sid not in damaged:
            assert by_id.get(sid) == digest, (sid, dict(rejects).get(sid))


FAST, DEEP = budget(25, 400)


@FAST
@given(case)
def test_broken_ade20k_folders_read_every_item_as_a_scene_or_a_reason(base, tmp_path_factory, c):
    check_reader(base, tmp_path_factory.mktemp("f"), *c)


@deep
@DEEP
@given(case)
def test_broken_ade20k_folders_deep(base, tmp_path_factory, c):
    check_reader(base, tmp_path_factory.mktemp("f"), *c)


# -- the build, end to end ----------------------------------------------------------------------

sure_damage = st.sampled_from(sorted(SURE_REJECT)).flatmap(
    lambda wk: st.tuples(st.just(wk[0]), st.just(wk[1]), st.floats(0, 0.5), st.integers(0, 255))
)
build_case = st.tuples(
    st.dictionaries(st.integers(0, N_SYNTHETIC - 1), sure_damage, max_size=2),
    st.lists(
        st.tuples(
            st.sampled_from(("non_utf8", "duplicate", "dir_named_jpg", "text_named_jpg")), st.integers(0, 99)
        ),
        max_size=3,
    ),
)


def check_build(base, tmp: Path, damages: dict, extras: list) -> None:
    from textureade.cli import main

    root, _, damageable = base
    damaged = {damageable[i] for i in damages}
    goods = [i for i in damageable if i not in damaged]
    fuzzed = _make(root, tmp / "fuzzed", damages, extras, goods or damageable, damageable)
    alone = _make(root, tmp / "alone", {}, [], goods, damageable)
    for item in damaged:  # the good items alone: damaged ones removed
        split = _split_of(alone, item)
        (alone / "images" / split / f"{item}.jpg").unlink()
        (alone / "annotations" / split / f"{item}.png").unlink()
    code, out, err = run_main(
        main,
        [
            "textureade",
            "build",
            "--ade20k",
            str(fuzzed),
            "--out",
            str(tmp / "b1"),
            "--no-progress",
            "--workers",
            "1",
            "--strict",
        ],
    )
    assert_clean(code, err, (0, 1))
    n_rejects = len((tmp / "b1" / "rejects.jsonl").read_text().splitlines())
    assert (code == 1) == (n_rejects > 0)
    code2, _, err2 = run_main(
        main,
        [
            "textureade",
            "build",
            "--ade20k",
            str(alone),
            "--out",
            str(tmp / "b2"),
            "--no-progress",
            "--workers",
            "1",
        ],
    )
    assert_clean(code2, err2, (0,))
    shards1 = {p.name: p.read_bytes() for p in sorted((tmp / "b1" / "data").glob("*.parquet"))}
    shards2 = {p.name: p.read_bytes() for p in sorted((tmp / "b2" / "data").glob("*.parquet"))}
    assert shards1 == shards2
    n_alone = len((tmp / "b2" / "rejects.jsonl").read_text().splitlines())
    added = sum(image_entries(fuzzed).values()) - sum(image_entries(alone).values())
    assert n_rejects == n_alone + added  # every broken entry is one reject line, the rest as alone


FAST_BUILD, DEEP_BUILD = budget(2, 40)


@FAST_BUILD
@given(build_case)
def test_textureade_build_on_a_broken_folder_keeps_the_good_samples_bytes(
    synthetic_base, tmp_path_factory, c
):
    check_build(synthetic_base, tmp_path_factory.mktemp("b"), *c)


@deep
@DEEP_BUILD
@given(build_case)
def test_textureade_build_on_a_broken_folder_deep(base, tmp_path_factory, c):
    check_build(base, tmp_path_factory.mktemp("b"), *c)
