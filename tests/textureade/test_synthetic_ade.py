"""The synthetic ADE20K writer: deterministic, format-exact, textured regions that follow the labels."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from textureade import read_ade20k
from textureade.errors import UserError
from textureade.testing.synthetic_ade import FULL_TO_150, write_synthetic_ade


def _digest(root):
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("form", ["challenge", "full"])
def test_deterministic_under_seed(tmp_path, form):
    a = write_synthetic_ade(tmp_path / "a", n=3, form=form, seed=7)
    b = write_synthetic_ade(tmp_path / "b", n=3, form=form, seed=7)
    c = write_synthetic_ade(tmp_path / "c", n=3, form=form, seed=8)
    assert _digest(a) == _digest(b) != _digest(c)


def test_challenge_form_is_format_exact(tmp_path):
    root = write_synthetic_ade(tmp_path, n=6, form="challenge")
    assert root.name == "ADEChallengeData2016"
    info = (root / "objectInfo150.txt").read_text().splitlines()
    assert info[0] == "Idx\tRatio\tTrain\tVal\tName" and len(info) == 151
    assert info[1].split("\t")[-1] == "wall" and info[2].split("\t")[-1] == "building, edifice"
    cats = (root / "sceneCategories.txt").read_text().splitlines()
    assert len(cats) == 6 and cats[0].split()[0] == "ADE_train_00000001"
    assert len(list((root / "images" / "training").glob("*.jpg"))) == 4
    assert len(list((root / "annotations" / "validation").glob("*.png"))) == 2
    ann = Image.open(root / "annotations" / "training" / "ADE_train_00000001.png")
    assert (
        ann.mode == "L"
        and ann.size == Image.open(root / "images" / "training" / "ADE_train_00000001.jpg").size
    )
    assert int(np.asarray(ann).max()) <= 150


def test_regions_are_textures_that_follow_the_labels(tmp_path):
    root = write_synthetic_ade(tmp_path, n=6, form="challenge", seed=1)
    for s in read_ade20k(root):
        ids = [c for c in np.unique(s.labels).tolist() if c]
        assert 3 <= len(ids) <= 6, (s.id, ids)
        assert s.labels.min() >= 1  # every pixel belongs to a region
        sizes = [int((s.labels == c).sum()) for c in ids]
        assert min(sizes) < 0.1 * s.labels.size  # a small object besides the big stuff regions
        means = np.array([s.image[s.labels == c].mean(axis=0) for c in ids])
        dists = np.linalg.norm(means[:, None] - means[None], axis=2)[np.triu_indices(len(ids), 1)]
        assert dists.min() > 10, (s.id, dists.min())  # neighbouring regions look different


def test_full_form_reads_back_and_maps_to_the_challenge_form(tmp_path):
    full = write_synthetic_ade(tmp_path / "f", n=4, form="full", seed=4)
    chal = write_synthetic_ade(tmp_path / "c", n=4, form="challenge", seed=4)
    assert full.name == "ADE20K_2021_17_01"
    scenes = list(read_ade20k(full))
    mapped = list(read_ade20k(full, mapping=FULL_TO_150))
    plain = list(read_ade20k(chal))
    assert [s.id for s in scenes] == [s.id for s in plain] == [s.id for s in mapped]
    for s, m, p in zip(scenes, mapped, plain, strict=True):
        assert np.array_equal(m.labels, p.labels)
        assert s.labels.max() > 255 and s.instances.max() >= 3
        whole = [o for o in s.objects if o.part_level == 0]
        assert sorted(o.instance_id for o in whole) == list(range(1, s.instances.max() + 1))
        for o in whole:
            assert (s.labels[s.instances == o.instance_id] == o.class_id).all()
    outdoor = scenes[0]
    assert len(outdoor.parts) == 2 and {o.part_level for o in outdoor.objects} == {0, 1, 2}
    assert any(o.attributes for o in outdoor.objects)
    folder = next((full / "images" / "ADE" / "training").rglob("ADE_train_00000001.json")).parent
    doc = json.loads((folder / "ADE_train_00000001.json").read_text())["annotation"]
    assert {"filename", "folder", "imsize", "source", "scene", "object"} <= set(doc)
    masks = list((folder / "ADE_train_00000001").glob("instance_*_ADE_train_00000001.png"))
    assert len(masks) == len(doc["object"])
    values = set()
    for m in masks:
        values |= set(np.unique(np.asarray(Image.open(m))).tolist())
    assert values == {0, 128, 255}
    seg = np.asarray(Image.open(folder / "ADE_train_00000001_seg.png"))
    assert seg.shape[2] == 3 and (seg[..., 0] % 10 == 0).all()


def test_bad_arguments(tmp_path):
    with pytest.raises(UserError):
        write_synthetic_ade(tmp_path, form="parquet")
    with pytest.raises(UserError):
        write_synthetic_ade(tmp_path, n=0)
