"""Hugging Face parquet mirrors (scene_parse_150 and 1aurent/ADE20K), written here with pyarrow.

Row groups of 2 rows; the tests check that reading goes row group by row group (never a whole file)
and that the parquet scenes equal the folder scenes they were built from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from textureade import read_ade20k
from textureade.errors import UserError
from textureade.readers import open_ade20k
from textureade.testing.synthetic_ade import write_synthetic_ade

IMG = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def _cell(path: Path | None, name: str | None = None) -> dict | None:
    return (
        None
        if path is None
        else {"bytes": path.read_bytes(), "path": name if name is not None else path.name}
    )


def _write(table: pa.Table, path: Path, meta: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if meta:
        table = table.replace_schema_metadata({b"huggingface": json.dumps(meta).encode()})
    pq.write_table(table, path, row_group_size=2)


@pytest.fixture(scope="module")
def hf150(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hf150")
    root = write_synthetic_ade(tmp / "src", n=8, form="challenge", seed=5)  # 6 train, 2 val
    scenes = sorted({ln.split()[1] for ln in (root / "sceneCategories.txt").read_text().splitlines()})
    names = ["abbey"] + scenes
    meta = {"info": {"features": {"scene_category": {"names": names, "_type": "ClassLabel"}}}}
    cat = {
        ln.split()[0]: names.index(ln.split()[1])
        for ln in (root / "sceneCategories.txt").read_text().splitlines()
    }
    for split, hf in (("training", "train"), ("validation", "validation")):
        imgs = sorted((root / "images" / split).glob("*.jpg"))
        table = pa.table(
            {
                "image": pa.array([_cell(p) for p in imgs], IMG),
                "annotation": pa.array(
                    [_cell(root / "annotations" / split / f"{p.stem}.png") for p in imgs], IMG
                ),
                "scene_category": pa.array([cat[p.stem] for p in imgs], pa.int64()),
            }
        )
        _write(table, tmp / "pq" / "data" / f"{hf}-00000-of-00001.parquet", meta)
    test = pa.table(
        {
            "image": pa.array([_cell(imgs[0], "ADE_test_00000001.jpg")], IMG),
            "annotation": pa.array([None], IMG),
            "scene_category": pa.array([-1], pa.int64()),
        }
    )
    _write(test, tmp / "pq" / "data" / "test-00000-of-00001.parquet", meta)
    return root, tmp / "pq"


def test_scene_parse_150_matches_the_folder_it_came_from(hf150):
    folder, pq_root = hf150
    src = open_ade20k(pq_root)
    assert src.form == "scene_parse_150" and src.splits() == ["training", "validation"]
    from_pq = list(read_ade20k(pq_root))
    from_folder = list(read_ade20k(folder))
    assert [s.id for s in from_pq] == [s.id for s in from_folder]  # test rows are skipped
    for a, b in zip(from_pq, from_folder, strict=True):
        assert a.split == b.split and a.scene == b.scene and a.source == "scene_parse_150"
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.image, b.image)
        assert a.class_names[1] == "wall" and len(a.class_names) == 150
    assert [s.id for s in read_ade20k(pq_root, split="validation")] == [
        "ADE_val_00000001",
        "ADE_val_00000002",
    ]


def test_reading_streams_row_groups(hf150, monkeypatch):
    _, pq_root = hf150
    calls: list[tuple] = []
    real_rg, real_read = pq.ParquetFile.read_row_group, pq.ParquetFile.read

    def spy_rg(self, i, *a, **k):
        calls.append(("rg", i))
        return real_rg(self, i, *a, **k)

    def spy_read(self, *a, columns=None, **k):
        calls.append(("read", tuple(columns or ())))
        assert columns and all("bytes" not in c and c not in ("image", "annotation") for c in columns)
        return real_read(self, *a, columns=columns, **k)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy_rg)
    monkeypatch.setattr(pq.ParquetFile, "read", spy_read)
    it = read_ade20k(pq_root, split="training", limit=1)
    assert [c for c in calls if c[0] == "rg"] == []  # listing reads only the id column
    assert len(list(it)) == 1
    assert [c for c in calls if c[0] == "rg"] == [("rg", 0)]
    calls.clear()
    assert len(list(read_ade20k(pq_root, split="training"))) == 6
    assert [c for c in calls if c[0] == "rg"] == [("rg", 0), ("rg", 1), ("rg", 2)]  # each group once


def test_bad_rows_are_rejected_and_reading_goes_on(tmp_path, hf150):
    folder, _ = hf150
    imgs = sorted((folder / "images" / "training").glob("*.jpg"))[:4]
    cells = [_cell(p) for p in imgs]
    cells[1] = {"bytes": cells[1]["bytes"][:200], "path": cells[1]["path"]}  # truncated JPEG
    anns = [_cell(folder / "annotations" / "training" / f"{p.stem}.png") for p in imgs]
    anns[2] = None  # annotation missing
    table = pa.table(
        {"image": pa.array(cells, IMG), "annotation": pa.array(anns, IMG), "scene_category": [0] * 4}
    )
    _write(table, tmp_path / "train-0.parquet")
    rejects = {}
    ids = [s.id for s in read_ade20k(tmp_path, on_reject=lambda i, r: rejects.__setitem__(i, r))]
    assert ids == ["ADE_train_00000001", "ADE_train_00000004"]
    assert set(rejects) == {"ADE_train_00000002", "ADE_train_00000003"}
    assert "truncated or corrupt" in rejects["ADE_train_00000002"]
    (scene,) = list(read_ade20k(tmp_path, limit=1))
    assert scene.scene is None  # no ClassLabel names in this file's metadata


def _mirror_object(o: dict) -> dict:
    """A genuine-JSON object in the 1aurent/ADE20K types (attributes a string, occluded a bool...)."""
    attrs = o["attributes"]
    parts = o["parts"]
    has = parts["hasparts"] if isinstance(parts["hasparts"], list) else [parts["hasparts"]]
    return {
        "id": int(o["id"]),
        "name": o["name"],
        "name_ndx": int(o["name_ndx"]),
        "hypernym": o["hypernym"],
        "raw_name": o["raw_name"],
        "attributes": ", ".join(attrs) if isinstance(attrs, list) else attrs,
        "depth_ordering_rank": o["depth_ordering_rank"],
        "occluded": {"yes": True, "no": False}.get(o["occluded"]) if isinstance(o["occluded"], str) else None,
        "crop": o["crop"] == "1",
        "parts": {
            "is_part_of": parts["ispartof"] if isinstance(parts["ispartof"], int) else None,
            "part_level": int(parts["part_level"]),
            "has_parts": has,
        },
        "polygon": {"x": o["polygon"]["x"], "y": o["polygon"]["y"]},
    }


@pytest.fixture(scope="module")
def hf_full(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hffull")
    root = write_synthetic_ade(tmp / "src", n=5, form="full", seed=2)
    rows = {"training": [], "validation": []}
    sorted_rows = {"training": [], "validation": []}  # segmentations listed by file name: parts first
    for jpg in sorted((root / "images" / "ADE").rglob("ADE_*.jpg")):
        split = jpg.relative_to(root / "images" / "ADE").parts[0]
        ann = json.loads(jpg.with_suffix(".json").read_text())["annotation"]
        segs = [jpg.with_name(f"{jpg.stem}_seg.png")] + sorted(jpg.parent.glob(f"{jpg.stem}_parts_*.png"))
        rows[split].append(
            {
                "image": _cell(jpg),
                "segmentations": [_cell(p) for p in segs],
                "instances": [_cell(jpg.parent / o["instance_mask"]) for o in ann["object"]],
                "filename": ann["filename"],
                "folder": ann["folder"],
                "source": ann["source"],
                "scene": ann["scene"],
                "objects": [_mirror_object(o) for o in ann["object"]],
            }
        )
        by_name = dict(rows[split][-1], segmentations=[_cell(p) for p in sorted(segs, key=lambda p: p.name)])
        sorted_rows[split].append(by_name)
    for split, hf in (("training", "train"), ("validation", "validation")):
        _write(pa.Table.from_pylist(rows[split]), tmp / "pq" / "data" / f"{hf}-00000-of-00001.parquet")
        _write(pa.Table.from_pylist(sorted_rows[split]), tmp / "pq_sorted" / f"{hf}.parquet")
    return root, tmp / "pq"


@pytest.mark.parametrize("variant", ["pq", "pq_sorted"])
def test_1aurent_mirror_matches_the_folder_it_came_from(hf_full, variant):
    folder, pq_root = hf_full
    pq_root = pq_root.parent / variant
    src = open_ade20k(pq_root)
    assert src.form == "1aurent/ADE20K"
    from_pq, from_folder = list(read_ade20k(pq_root)), list(read_ade20k(folder))
    assert [s.id for s in from_pq] == [s.id for s in from_folder] and len(from_pq) == 5
    for a, b in zip(from_pq, from_folder, strict=True):
        assert a.source == "1aurent/ADE20K" and a.split == b.split and a.scene == b.scene
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.instances, b.instances)
        assert len(a.parts) == len(b.parts) and all(np.array_equal(p, q) for p, q in zip(a.parts, b.parts))
        assert a.class_names == b.class_names
        for oa, ob in zip(a.objects, b.objects, strict=True):
            assert (oa.name, oa.class_id, oa.instance_id, oa.part_level) == (
                ob.name,
                ob.class_id,
                ob.instance_id,
                ob.part_level,
            )
            assert oa.attributes == ob.attributes and oa.occluded == ob.occluded
        assert max(a.labels.max(), 1) > 255  # full-ADE ids, not 150-class ones
        assert {o.instance_id for o in a.objects if o.part_level == 0} == set(range(1, a.instances.max() + 1))


def test_1aurent_mirror_with_mapping(hf_full):
    from textureade.testing.synthetic_ade import FULL_TO_150

    _, pq_root = hf_full
    (scene,) = list(read_ade20k(pq_root, limit=1, mapping=FULL_TO_150))
    assert set(np.unique(scene.labels).tolist()) <= set(FULL_TO_150.values()) | {0}
    assert scene.class_names[1] == "wall"


def test_unknown_and_mixed_parquet_are_user_errors(tmp_path, hf150):
    _write(pa.table({"a": [1, 2, 3]}), tmp_path / "x" / "train.parquet")
    with pytest.raises(UserError, match="no ADE20K copy"):
        read_ade20k(tmp_path / "x")
    _, pq_root = hf150
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.parquet").write_bytes((pq_root / "data" / "train-00000-of-00001.parquet").read_bytes())
    pq.write_table(
        pa.table({"image": pa.array([None], IMG), "segmentations": [[]], "objects": [[]]}),
        mixed / "b.parquet",
    )
    with pytest.raises(UserError, match="mixes parquet files"):
        read_ade20k(mixed)


def test_rows_without_file_names_get_positional_ids(tmp_path, hf150):
    folder, _ = hf150
    imgs = sorted((folder / "images" / "training").glob("*.jpg"))[:3]
    table = pa.table(
        {
            "image": pa.array([{"bytes": p.read_bytes(), "path": None} for p in imgs], IMG),
            "annotation": pa.array(
                [_cell(folder / "annotations" / "training" / f"{p.stem}.png") for p in imgs], IMG
            ),
            "scene_category": [0, 0, 0],
        }
    )
    for split in ("train", "validation"):
        _write(table, tmp_path / split / "0000.parquet")
    ids = [s.id for s in read_ade20k(tmp_path)]
    assert ids == [f"{s}-0000-{n:06d}" for s in ("training", "validation") for n in range(3)]


def test_instance_segmentation_config_is_named_in_the_error(tmp_path):
    _write(
        pa.table({"image": pa.array([None], IMG), "annotation": pa.array([None], IMG)}),
        tmp_path / "train.parquet",
    )
    with pytest.raises(UserError, match="instance_segmentation config"):
        read_ade20k(tmp_path)


def test_a_duplicate_row_is_named_by_its_row_group_and_row(tmp_path, hf150):
    """The duplicate's reject named only the row inside its row group: a copy in row group 1 of
    a file read "row 0; row 0 has it too". Both places are now told apart."""
    folder, _ = hf150
    imgs = sorted((folder / "images" / "training").glob("*.jpg"))[:2]
    anns = [_cell(folder / "annotations" / "training" / f"{p.stem}.png") for p in imgs]
    cells = [_cell(p) for p in imgs] + [_cell(imgs[0])]
    anns = anns + [anns[0]]
    table = pa.table(
        {"image": pa.array(cells, IMG), "annotation": pa.array(anns, IMG), "scene_category": [0] * 3}
    )
    _write(table, tmp_path / "train-0.parquet")  # row groups of 2: the copy is row group 1, row 0
    rejects = {}
    ids = [s.id for s in read_ade20k(tmp_path, on_reject=lambda i, r: rejects.__setitem__(i, r))]
    assert ids == ["ADE_train_00000001", "ADE_train_00000002"]
    assert rejects == {
        "ADE_train_00000001": "duplicate id ADE_train_00000001 (train-0.parquet row group 1 row 0; "
        "train-0.parquet row group 0 row 0 has it too)"
    }
