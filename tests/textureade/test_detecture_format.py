"""Detecture-form folders: round trip, GT conventions, per-sample rejects, one-line user errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from textureade.detecture_format import detecture_fingerprint, read_detecture_folder, write_detecture_folder
from textureade.errors import UserError
from textureade.types import Sample


def make_sample(sid: str, seed: int, h: int = 14, w: int = 18, k: int = 3) -> Sample:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    label = rng.integers(0, k + 1, (h, w)).astype(np.int32)
    descs = [f"Texture of thing {j}, rough grain, left side" for j in range(k)]
    return Sample(id=sid, image=image, label_map=label, descriptions=descs)


def write_raw(folder: Path, entries: list, files: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, arr in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(folder / rel)
    (folder / "metadata.json").write_text(json.dumps(entries))
    return folder


def test_round_trip_keeps_images_labels_descriptions_and_ids(tmp_path):
    samples = [make_sample("a", 0), make_sample("scene/b 1", 1, k=2), make_sample("a?", 2, k=1)]
    dest = write_detecture_folder(samples, tmp_path / "out")
    meta = json.loads((dest / "metadata.json").read_text())
    assert [m["id"] for m in meta] == ["a", "scene/b 1", "a?"]
    assert all(not Path(m["image_path"]).is_absolute() for m in meta)
    back = list(read_detecture_folder(dest))
    assert [s.id for s in back] == [s.id for s in samples]
    for s, r in zip(samples, back):
        np.testing.assert_array_equal(s.image, r.image)
        np.testing.assert_array_equal(s.label_map, r.label_map)
        assert s.descriptions == r.descriptions
        assert r.provenance["overlap_pixels"] == 0 and r.provenance["resized_masks"] == []
    with pytest.raises(UserError, match="already has a metadata.json"):
        write_detecture_folder(samples, dest)
    write_detecture_folder(samples[:1], dest, overwrite=True)
    assert len(list(read_detecture_folder(dest / "metadata.json"))) == 1


def test_gt_convention_threshold_overlap_and_resize(tmp_path):
    img = np.zeros((4, 6, 3), np.uint8)
    m1 = np.zeros((4, 6), np.uint8)
    m1[:, :4] = 255
    m1[0, 0] = 127  # below the 0.5 threshold: off
    m1[0, 1] = 128  # above: on
    m2 = np.zeros((4, 6), np.uint8)
    m2[:, 3:] = 255  # overlaps m1 in column 3: the later mask wins
    small = np.zeros((2, 3), np.uint8)
    small[1, :] = 255  # 2x3 mask resized (nearest) to 4x6: bottom two rows
    entry = {
        "image_path": "img.png",
        "id": "x",
        "textures": [
            {"description": "one", "mask_path": "m1.png"},
            {"description": "two", "mask_path": "m2.png"},
            {"description": "three", "mask_path": "small.png"},
        ],
    }
    folder = write_raw(
        tmp_path / "d", [entry], {"img.png": img, "m1.png": m1, "m2.png": m2, "small.png": small}
    )
    (s,) = list(read_detecture_folder(folder))
    want = np.array(
        [[0, 1, 1, 2, 2, 2], [1, 1, 1, 2, 2, 2], [3, 3, 3, 3, 3, 3], [3, 3, 3, 3, 3, 3]], dtype=np.int32
    )
    np.testing.assert_array_equal(s.label_map, want)
    assert s.descriptions == ["one", "two", "three"]
    assert s.provenance["overlap_pixels"] == 2 + 12  # column 3 of rows 0-1, and all of rows 2-3
    assert s.provenance["resized_masks"] == [{"texture": 2, "from": [3, 2], "to": [6, 4]}]


def test_per_sample_rejects_keep_reading(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    on = np.full((4, 4), 255, np.uint8)
    outside = tmp_path / "outside.png"
    Image.fromarray(on).save(outside)
    entries = [
        {
            "image_path": "missing.png",
            "id": "no_image",
            "textures": [{"description": "d", "mask_path": "m.png"}],
        },
        {
            "image_path": "img.png",
            "id": "dotdot",
            "textures": [{"description": "d", "mask_path": "../outside.png"}],
        },
        {"image_path": "img.png", "id": "abs", "textures": [{"description": "d", "mask_path": str(outside)}]},
        {
            "image_path": "img.png",
            "id": "corrupt",
            "textures": [{"description": "d", "mask_path": "bad.png"}],
        },
        {"image_path": "img.png", "id": "empty", "textures": [{"description": "d", "mask_path": "off.png"}]},
        {"image_path": "img.png", "id": "none", "textures": []},
        {"image_path": "img.png", "id": "good", "textures": [{"description": "d", "mask_path": "m.png"}]},
        {"image_path": "img.png", "id": "good", "textures": [{"description": "d", "mask_path": "m.png"}]},
        "not an object",
        {
            "image_path": str((tmp_path / "d" / "img.png").resolve()),
            "id": "abs_inside",
            "textures": [{"description": "d", "mask_path": "m.png"}],
        },
    ]
    folder = write_raw(
        tmp_path / "d", entries, {"img.png": img, "m.png": on, "off.png": np.zeros((4, 4), np.uint8)}
    )
    (folder / "bad.png").write_bytes(b"\x89PNG not really")
    rejects: dict[str, str] = {}
    got = list(read_detecture_folder(folder, on_reject=lambda sid, why: rejects.setdefault(sid, why)))
    assert [s.id for s in got] == ["good", "abs_inside"]
    assert "not found" in rejects["no_image"]
    assert "outside the dataset folder" in rejects["dotdot"]
    assert "outside the dataset folder" in rejects["abs"]
    assert "cannot read mask" in rejects["corrupt"]
    assert "empty" in rejects["empty"]
    assert "no textures" in rejects["none"]
    assert "duplicate id" in rejects["good"]
    assert "#8" in rejects and "not a JSON object" in rejects["#8"]
    assert all("\n" not in why for why in rejects.values())


def test_folder_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no metadata.json"):
        list(read_detecture_folder(tmp_path))
    with pytest.raises(UserError, match="not a folder"):
        list(read_detecture_folder(tmp_path / "nope"))
    (tmp_path / "metadata.json").write_text("{broken")
    with pytest.raises(UserError, match="cannot read"):
        list(read_detecture_folder(tmp_path))
    (tmp_path / "metadata.json").write_text('{"a": 1}')
    with pytest.raises(UserError, match="JSON list"):
        list(read_detecture_folder(tmp_path))


def test_entries_of_wrong_types_non_unicode_text_and_odd_paths_are_rejects(tmp_path):
    """Issue #15: every malformed entry is a reject with its reason; the good ones read; the
    fingerprint (what `bench run` computes first) does not crash on them either."""
    from textureade.detecture_format import detecture_fingerprint

    rng = np.random.default_rng(0)
    half = np.zeros((8, 8), np.uint8)
    half[:, :4] = 255
    files = {"a.png": rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), "m.png": half}
    good = {"image_path": "a.png", "id": "good", "textures": [{"description": "d", "mask_path": "m.png"}]}
    entries = [
        {"image_path": 5, "id": ["x"], "textures": "abc"},
        good,
        "not an object",
        {"image_path": "a.png", "id": ["x"], "textures": [{"mask_path": "m.png"}]},
        {"image_path": "a.png", "id": "nul", "textures": [{"mask_path": "m\u0000.png"}]},
        {"image_path": "a.png", "id": "long", "textures": [{"mask_path": "m" * 5000 + ".png"}]},
        {"image_path": "a.png", "id": "sur\ud800", "textures": [{"mask_path": "m.png"}]},
        {"image_path": "a.png", "id": "descr", "textures": [{"description": None, "mask_path": "m.png"}]},
        {"image_path": "a.png", "id": "empty", "textures": []},
        {"image_path": "a.png", "id": "dir", "textures": [{"mask_path": "."}]},
        None,
    ]
    folder = write_raw(tmp_path / "d", entries, files)
    rejects: list[tuple[str, str]] = []
    got = list(read_detecture_folder(folder, on_reject=lambda i, r: rejects.append((i, r))))
    assert [s.id for s in got] == ["good"]
    reasons = [r for _, r in rejects]
    assert len(rejects) == len(entries) - 1 and all("\n" not in r and r.encode() for r in reasons)
    assert rejects[0] == ("#0", "image_path is missing or not a string (got a JSON int)")
    assert rejects[1] == ("#2", "entry 2 is a JSON str, not a JSON object")
    assert rejects[2] == ("a", "id is a JSON list, expected a string")
    assert "not a usable path" in reasons[3] and "cannot read mask" in reasons[4]
    assert rejects[5] == ("sur\\ud800", "id 'sur\\ud800' is not valid Unicode text")
    assert "description is null" in reasons[6] and "empty" in reasons[7] and "directory" in reasons[8]
    assert rejects[9] == ("#10", "entry 10 is null, not a JSON object")
    assert detecture_fingerprint(folder).startswith("sha256:")


def test_non_binary_masks_warn_with_the_threshold_or_reject_under_strict(tmp_path):
    rng = np.random.default_rng(1)
    grey = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))  # 0..224: not 0/255
    files = {"a.png": rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), "g.png": grey}
    entries = [{"image_path": "a.png", "id": "g", "textures": [{"description": "d", "mask_path": "g.png"}]}]
    folder = write_raw(tmp_path / "d", entries, files)
    warnings: list[tuple[str, str, str]] = []
    (s,) = read_detecture_folder(folder, on_warning=lambda *w: warnings.append(w))
    assert s.label_map.tolist() == (grey > 127).astype(np.int32).tolist()
    assert warnings == [
        ("g", "non_binary_mask", "mask g.png is not binary 0/255 (values 0..224, 56 other pixels): "
         "thresholded at > 127")
    ]  # fmt: skip
    rejects: list[tuple[str, str]] = []
    assert list(read_detecture_folder(folder, strict=True, on_reject=lambda *r: rejects.append(r))) == []
    assert rejects == [("g", "mask g.png is not binary 0/255 (values 0..224; --strict)")]


def test_masks_stored_wider_than_8_bits_are_checked_on_their_stored_values(tmp_path):
    """A 16-bit mask of 0/1000 (or a float one of 0/300.5) reads as 0/255 at 8 bits, values above 255
    clipped: the reader flags it from its stored values; a 16-bit mask of 0/255 passes."""
    on = np.zeros((8, 8), bool)
    on[:, :4] = True
    masks = {"w.png": np.where(on, 1000, 0).astype(np.uint16), "b.png": np.where(on, 255, 0).astype(np.uint16),
             "f.tif": np.where(on, 300.5, 0).astype(np.float32)}  # fmt: skip
    files = {"a.png": np.zeros((8, 8, 3), np.uint8), **masks}
    entries = [
        {"image_path": "a.png", "id": m, "textures": [{"description": "d", "mask_path": m}]} for m in masks
    ]
    folder = write_raw(tmp_path / "d", entries, files)
    assert Image.open(folder / "w.png").mode == "I;16" and Image.open(folder / "f.tif").mode == "F"
    warnings: list[tuple[str, str, str]] = []
    samples = list(read_detecture_folder(folder, on_warning=lambda *w: warnings.append(w)))
    assert [s.id for s in samples] == ["w.png", "b.png", "f.tif"]
    assert all(s.label_map.tolist() == on.astype(np.int32).tolist() for s in samples)
    assert [(sid, kind) for sid, kind, _ in warnings] == [
        ("w.png", "non_binary_mask"),
        ("f.tif", "non_binary_mask"),
    ]
    assert warnings[0][2] == (
        "mask w.png is not binary 0/255 (uint16 values 0..1000, read as 8-bit values 0..255, 32 other pixels): "
        "thresholded at > 127"
    )
    assert "float32 values 0..300.5" in warnings[1][2]
    rejects: list[tuple[str, str]] = []
    kept = list(read_detecture_folder(folder, strict=True, on_reject=lambda *r: rejects.append(r)))
    assert [s.id for s in kept] == ["b.png"]
    assert rejects[0] == (
        "w.png",
        "mask w.png is not binary 0/255 (uint16 values 0..1000, read as 8-bit values 0..255; --strict)",
    )


def test_absolute_paths_from_another_machine_are_rerooted(tmp_path):
    """The authors' unified metadata.json carries absolute paths of their machine (#11 item 7)."""
    img = np.zeros((4, 4, 3), np.uint8)
    half = np.zeros((4, 4), np.uint8)
    half[:, :2] = 255
    elsewhere = "/home/someone/datasets/RWTD"
    entries = [
        {  # image and mask re-rooted by their trailing components images/1.png, masks/1_0.png
            "image_path": f"{elsewhere}/images/1.png",
            "id": "moved",
            "textures": [
                {"description": "a", "mask_path": f"{elsewhere}/masks/1_0.png"},
                {"description": "b", "mask_path": "masks/1_1.png"},
            ],
        },
        {  # only the file name matches: the longest existing suffix is the bare name
            "image_path": "/somewhere/else/top.png",
            "id": "by_name",
            "textures": [{"description": "a", "mask_path": "/x/masks/1_0.png"}],
        },
        {  # nothing inside the folder matches any trailing part
            "image_path": f"{elsewhere}/images/404.png",
            "id": "missing",
            "textures": [{"description": "a", "mask_path": "masks/1_0.png"}],
        },
        {  # a '..' in the tail is never tried
            "image_path": "/a/../images/1.png",
            "id": "dotdot_abs",
            "textures": [{"description": "a", "mask_path": "masks/1_0.png"}],
        },
    ]
    folder = write_raw(
        tmp_path / "d",
        entries,
        {"images/1.png": img, "top.png": img, "masks/1_0.png": half, "masks/1_1.png": 255 - half},
    )
    rejects: dict[str, str] = {}
    got = {
        s.id: s
        for s in read_detecture_folder(folder, on_reject=lambda sid, why: rejects.setdefault(sid, why))
    }
    assert sorted(got) == ["by_name", "dotdot_abs", "moved"]
    moved = got["moved"]
    assert moved.provenance["rerooted"] == [
        [f"{elsewhere}/images/1.png", "images/1.png"],
        [f"{elsewhere}/masks/1_0.png", "masks/1_0.png"],
    ]
    assert (moved.label_map[:, :2] == 1).all() and (moved.label_map[:, 2:] == 2).all()
    assert got["by_name"].provenance["rerooted"][0] == ["/somewhere/else/top.png", "top.png"]
    # "/a/../images/1.png" resolves to /images/1.png (outside); its tails images/1.png exists
    assert got["dotdot_abs"].provenance["rerooted"] == [["/a/../images/1.png", "images/1.png"]]
    assert "outside the dataset folder and no file inside it matches" in rejects["missing"]
    assert set(rejects) == {"missing"}


def test_fingerprint_counts_the_rerooted_file(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    on = np.full((4, 4), 255, np.uint8)
    rel = [
        {"image_path": "images/1.png", "id": "a", "textures": [{"description": "a", "mask_path": "m.png"}]}
    ]
    folder = write_raw(tmp_path / "d", rel, {"images/1.png": img, "m.png": on})
    before = detecture_fingerprint(folder)
    (folder / "images" / "1.png").write_bytes((folder / "images" / "1.png").read_bytes() + b"x")
    after = detecture_fingerprint(folder)
    assert before != after  # sanity: sizes matter
    absolute = [
        {
            "image_path": "/elsewhere/images/1.png",
            "id": "a",
            "textures": [{"description": "a", "mask_path": "m.png"}],
        }
    ]
    folder2 = write_raw(tmp_path / "e", absolute, {"images/1.png": img, "m.png": on})
    fp1 = detecture_fingerprint(folder2)
    (folder2 / "images" / "1.png").write_bytes((folder2 / "images" / "1.png").read_bytes() + b"x")
    assert detecture_fingerprint(folder2) != fp1  # the re-rooted file's size is hashed


def test_symlink_loops_in_mask_and_image_paths_are_rejects_not_crashes(tmp_path):
    """Python 3.11's Path.resolve raises RuntimeError (not OSError) on a symlink loop: a looping
    mask or image path was a traceback of `bench run`; it is a reject, and the good entry reads."""
    rng = np.random.default_rng(0)
    half = np.zeros((8, 8), np.uint8)
    half[:, :4] = 255
    files = {"a.png": rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), "m.png": half}
    entries = [
        {"image_path": "a.png", "id": "good", "textures": [{"mask_path": "m.png"}]},
        {"image_path": "a.png", "id": "mloop", "textures": [{"mask_path": "loop.png"}]},
        {"image_path": "loop.png", "id": "iloop", "textures": [{"mask_path": "m.png"}]},
        {
            "image_path": str(tmp_path / "elsewhere" / "loop.png"),
            "id": "abs",
            "textures": [{"mask_path": "m.png"}],
        },
    ]
    folder = write_raw(tmp_path / "d", entries, files)
    (folder / "loop.png").symlink_to("loop.png")
    rejects: list[tuple[str, str]] = []
    got = list(read_detecture_folder(folder, on_reject=lambda i, r: rejects.append((i, r))))
    assert [s.id for s in got] == ["good"]
    assert [i for i, _ in rejects] == ["mloop", "iloop", "abs"]
    assert all("\n" not in r for _, r in rejects)
    assert detecture_fingerprint(folder).startswith("sha256:")
