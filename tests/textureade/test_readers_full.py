"""ADE20K_2021_17_01 folders, built here by hand from the published encoding (ade20k.md).

Fixture: a 40 x 60 image with wall (2978), floor (976), two persons (1831; JSON ids 2 and 5, told
apart only by their instance masks; a third, id 8, is fully occluded: its mask holds only 128), an ashcan (64, a class id below 256, no mask file), a door
(774, part level 1) and its handle (1180, part level 2). B codes 85/170/255/43/128: the instance
ids are the ranks of the distinct non-zero B values: 43->1, 85->2, 128->3, 170->4, 255->5.
"""

from __future__ import annotations

import json
import pathlib
import pickle

import numpy as np
import pytest
from PIL import Image

from textureade import read_ade20k
from textureade.errors import UserError
from textureade.readers import open_ade20k
from textureade.readers.mapping import convert_from_ade

STEM = "ADE_train_00000007"


def encode(classes: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack([(classes // 256) * 10, classes % 256, b], axis=2).astype(np.uint8)


def obj(i, name, ndx, level=0, attributes=None, occluded="no", ispartof=None, **kw):
    rec = {
        "id": i,
        "name": name,
        "name_ndx": ndx,
        "hypernym": [],
        "raw_name": name.split(",")[0],
        "attributes": [] if attributes is None else attributes,
        "depth_ordering_rank": 1,
        "occluded": occluded,
        "crop": "0",
        "parts": {"hasparts": [], "ispartof": [] if ispartof is None else ispartof, "part_level": level},
        "instance_mask": f"{STEM}/instance_{int(i):03d}_{STEM}.png",
        "polygon": {"x": [1, 2, 3], "y": [1, 2, 3], "click_date": []},
    }
    rec.update(kw)
    return rec


def write_full(root: pathlib.Path, h: int = 40, w: int = 60, scale: int = 1) -> pathlib.Path:
    """Write one image in ADE20K_2021_17_01 form; ``scale`` multiplies every size (for resizing tests)."""
    folder = root / "ADE20K_2021_17_01" / "images" / "ADE" / "training" / "home_or_hotel" / "bedroom"
    (folder / STEM).mkdir(parents=True)
    H, W = h * scale, w * scale
    cls = np.zeros((H, W), np.int32)
    b = np.zeros((H, W), np.int32)
    s = scale
    regions = {  # name: (class, B, rows, cols)
        "wall": (2978, 85, (0, 20 * s), (0, W)),
        "floor": (976, 170, (20 * s, H), (0, W)),
        "person_a": (1831, 255, (10 * s, 35 * s), (5 * s, 15 * s)),
        "person_b": (1831, 43, (10 * s, 35 * s), (40 * s, 50 * s)),
        "ashcan": (64, 128, (30 * s, 38 * s), (25 * s, 30 * s)),
    }
    vis = {}
    for key, (c, code, (y0, y1), (x0, x1)) in regions.items():
        m = np.zeros((H, W), bool)
        m[y0:y1, x0:x1] = True
        cls[m], b[m] = c, code
        vis[key] = m
    cls[:, W - s :], b[:, W - s :] = 0, 0  # an unlabeled strip on the right
    for key, (c, code, _, _) in regions.items():
        vis[key] &= (cls == c) & (b == code)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(folder / f"{STEM}.jpg", quality=95)
    Image.fromarray(encode(cls, b)).save(folder / f"{STEM}_seg.png")
    p1, p2 = np.zeros((H, W), np.int32), np.zeros((H, W), np.int32)
    p1[2 * s : 18 * s, 20 * s : 30 * s] = 774  # a door in the wall
    p2[9 * s : 11 * s, 27 * s : 29 * s] = 1180  # its handle
    Image.fromarray(encode(p1, (p1 > 0) * 255)).save(folder / f"{STEM}_parts_1.png")
    Image.fromarray(encode(p2, (p2 > 0) * 255)).save(folder / f"{STEM}_parts_2.png")
    objects = [
        obj(0, "wall", 2978, attributes=[], occluded="yes"),
        obj(1, "floor, flooring", "976", attributes="wooden, polished", occluded=[]),
        obj("2", "person, individual, someone", 1831, attributes=["sitting"]),
        obj(3, "ashcan, trash can", 64, attributes="", occluded="no", crop="1"),
        obj(5, "person, individual, someone", "1831", attributes=["standing", "smiling"], occluded=[]),
        obj(6, "door", 774, level="1", ispartof=0, attributes=["painted"]),
        obj(7, "handle", 1180, level=2, ispartof=6, occluded="yes"),
        obj(8, "person, individual, someone", 1831, occluded="yes"),  # hidden behind person 2
    ]
    masks = {0: vis["wall"], 1: vis["floor"], 2: vis["person_a"], 5: vis["person_b"]}
    for i, m in masks.items():
        png = np.zeros((H, W), np.uint8)
        png[m] = 255
        if i == 0:
            png[(cls != 2978) & (np.arange(H)[:, None] < 20 * s)] = 128  # amodal wall behind the persons
        Image.fromarray(png, mode="L").save(folder / STEM / f"instance_{i:03d}_{STEM}.png")
    hidden = np.where(vis["person_a"], 128, 0).astype(np.uint8)  # amodal only: no visible pixel
    Image.fromarray(hidden, mode="L").save(folder / STEM / f"instance_008_{STEM}.png")
    doc = {
        "annotation": {
            "filename": f"{STEM}.jpg",
            "folder": "ADE20K_2021_17_01/images/ADE/training/home_or_hotel/bedroom",
            "imsize": [H, W, 3],
            "source": {"folder": "x", "filename": "y.jpg", "origin": "test"},
            "scene": ["indoor", "home_or_hotel", "bedroom"],
            "object": objects,
        }
    }
    (folder / f"{STEM}.json").write_text(json.dumps(doc))
    return folder


def test_full_form_decodes_the_published_encoding(tmp_path):
    write_full(tmp_path)
    (scene,) = list(read_ade20k(tmp_path))  # pointed at the parent folder
    assert scene.id == STEM and scene.split == "training" and scene.source == "ADE20K_2021_17_01"
    assert scene.scene == "bedroom"
    assert sorted(np.unique(scene.labels).tolist()) == [0, 64, 976, 1831, 2978]
    assert scene.labels[0, 0] == 2978 and scene.labels[39, 0] == 976 and scene.labels[20, 10] == 1831
    assert sorted(np.unique(scene.instances).tolist()) == [0, 1, 2, 3, 4, 5]
    assert scene.instances[0, 0] == 2 and scene.instances[39, 0] == 4 and scene.instances[32, 27] == 3
    assert scene.instances[20, 10] == 5 and scene.instances[20, 45] == 1
    assert len(scene.parts) == 2
    assert sorted(np.unique(scene.parts[0]).tolist()) == [0, 774] and scene.parts[0][5, 25] == 774
    assert sorted(np.unique(scene.parts[1]).tolist()) == [0, 1180] and scene.parts[1][10, 28] == 1180
    by_name = [
        (o.name, o.class_id, o.instance_id, o.attributes, o.part_level, o.occluded) for o in scene.objects
    ]
    assert by_name == [
        ("wall", 2978, 2, [], 0, True),
        ("floor", 976, 4, ["wooden", "polished"], 0, None),
        ("person", 1831, 5, ["sitting"], 0, False),
        ("ashcan", 64, 3, [], 0, False),
        ("person", 1831, 1, ["standing", "smiling"], 0, None),
        ("door", 774, 0, ["painted"], 1, False),
        ("handle", 1180, 0, [], 2, True),
        ("person", 1831, 0, [], 0, True),  # fully occluded: no instance
    ]
    assert scene.class_names == {
        64: "ashcan",
        774: "door",
        976: "floor",
        1180: "handle",
        1831: "person",
        2978: "wall",
    }


def test_index_pickle_is_never_loaded_and_objects_txt_fills_names(tmp_path, monkeypatch):
    folder = write_full(tmp_path)
    root = tmp_path / "ADE20K_2021_17_01"
    sentinel = tmp_path / "pickle_was_loaded"

    class Boom:
        def __reduce__(self):
            return (pathlib.Path.touch, (sentinel,))

    (root / "index_ade20k.pkl").write_bytes(pickle.dumps(Boom()))
    calls = []
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    # a class drawn in the seg that no JSON object names: objects.txt supplies the name
    seg = np.asarray(Image.open(folder / f"{STEM}_seg.png")).copy()
    seg[0:2, 0:2] = ((3000 // 256) * 10, 3000 % 256, 85)
    Image.fromarray(seg).save(folder / f"{STEM}_seg.png")
    (root / "objects.txt").write_text("Idx\tName\n3000\twindow shade, blind\n2978\tnot the json name\n")
    (scene,) = list(read_ade20k(root))
    assert not sentinel.exists() and calls == []
    assert scene.class_names[3000] == "window shade" and scene.class_names[2978] == "wall"


def test_full_form_bad_inputs_are_rejected(tmp_path):
    folder = write_full(tmp_path / "a")
    for k in range(4):  # three more copies of the same image under other ids
        stem = f"ADE_train_0000001{k}"
        for f in folder.glob(f"{STEM}*"):
            if f.is_file():
                (folder / f.name.replace(STEM, stem)).write_bytes(f.read_bytes())
    (folder / "ADE_train_00000010.json").write_text('{"annotation": {"object": [')  # broken JSON
    (folder / "ADE_train_00000011_seg.png").unlink()  # annotation missing
    small = np.asarray(Image.open(folder / "ADE_train_00000012_parts_1.png"))[:-3]
    Image.fromarray(small).save(folder / "ADE_train_00000012_parts_1.png")  # part map of another size
    (folder / "ADE_train_00000013.json").write_text('{"annotation": {"object": 5}}')  # objects not a list
    rejects = {}
    scenes = list(read_ade20k(tmp_path / "a", on_reject=lambda i, r: rejects.__setitem__(i, r)))
    assert [s.id for s in scenes] == [STEM]
    assert "JSON" in rejects["ADE_train_00000010"] and "unreadable" in rejects["ADE_train_00000010"]
    assert "annotation missing" in rejects["ADE_train_00000011"]
    assert "part map level 1" in rejects["ADE_train_00000012"]
    assert "objects must be a list" in rejects["ADE_train_00000013"]


def test_mapping_converts_the_full_form_like_convert_from_ade(tmp_path):
    folder = write_full(tmp_path, scale=16)  # 640 x 960: resized to 512 x 768
    table = {2978: 1, 976: 4, 1831: 13, 774: 15}
    src = open_ade20k(tmp_path, mapping=table)
    (scene,) = [src.load(r) for r in src.items()]
    seg = np.asarray(Image.open(folder / f"{STEM}_seg.png"))
    assert scene.labels.shape == (512, 768) and scene.image.shape == (512, 768, 3)
    assert np.array_equal(scene.labels, convert_from_ade(seg, table))
    assert sorted(np.unique(scene.labels).tolist()) == [0, 1, 4, 13]  # the ashcan (64) is unmapped -> 0
    assert scene.parts[0].shape == (512, 768) and sorted(np.unique(scene.parts[0]).tolist()) == [0, 15]
    assert sorted(np.unique(scene.parts[1]).tolist()) == [0]  # the handle is among no 150 classes
    assert [o.class_id for o in scene.objects] == [1, 4, 13, 0, 13, 15, 0, 13]
    assert scene.class_names[1] == "wall" and scene.class_names[13] == "person"
    assert sorted(np.unique(scene.instances).tolist()) == [0, 1, 2, 3, 4, 5]


def test_mapping_file_path_is_accepted(ade_samples, tmp_path):
    write_full(tmp_path)
    (scene,) = list(read_ade20k(tmp_path, mapping=ade_samples / "convertFromADE" / "mapFromADE.txt"))
    assert sorted(np.unique(scene.labels).tolist()) == [0, 1, 4, 13, 139]  # ashcan is challenge 139
    with pytest.raises(UserError, match="cannot read the mapping file"):
        read_ade20k(tmp_path, mapping=tmp_path / "nope.txt")
