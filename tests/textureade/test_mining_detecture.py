"""The Detecture Miner's ADE20K recipe (#11 item 8): hand-computed scores and regions on synthetic
scenes, the genuine ADE20K samples, the config and `textureade build --mining detecture`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from textureade import read_ade20k
from textureade.cli import cli
from textureade.config import BuildConfig, load_mining_config
from textureade.errors import UserError
from textureade.mining.class_types import ClassType
from textureade.mining.detecture_recipe import (
    class_regions,
    detecture_kind,
    image_stats,
    score_detecture,
    typing_name,
)
from textureade.mining.item import mine_item
from textureade.mining.mine import mine_scene
from textureade.mining.types import MiningSkip
from textureade.readers.ade150 import ade150_class_names
from textureade.types import Scene

NAMES = ade150_class_names()  # SceneParse150 ids: 1 wall, 3 sky, 5 tree, 21 car, 29 rug, 2 building
T, OBJ, A = ClassType.TEXTURE, ClassType.OBJECT, ClassType.AMBIGUOUS


@pytest.fixture(scope="module")
def cfg():
    return load_mining_config("detecture")


@pytest.fixture(scope="module")
def rc(cfg):
    return cfg.detecture


def scene(labels: np.ndarray, sid: str = "ADE_train_00000001") -> Scene:
    img = np.zeros((*labels.shape, 3), np.uint8)
    return Scene(
        id=sid, image=img, labels=labels.astype(np.int32), class_names=NAMES, source="ADEChallengeData2016"
    )


def test_recipe_config_from_its_manifest(cfg, rc):
    assert cfg.recipe == "detecture"
    assert (rc.selected_min, rc.small_threshold, rc.min_region_frac, rc.max_regions, rc.min_regions) == (
        65,
        0.001,
        0.01,
        5,
        2,
    )
    assert (
        len(rc.texture_keywords) == 37 and len(rc.object_keywords) == 37 and len(rc.ambiguous_keywords) == 10
    )
    # the default recipe's resolved config reads as before recipes existed (fingerprint unchanged)
    assert (
        "recipe" not in load_mining_config().to_dict()
        and "detecture" not in BuildConfig().to_dict()["mining"]
    )
    assert BuildConfig(mining_config="detecture").to_dict()["mining"]["recipe"] == "detecture"
    assert BuildConfig(mining_config="detecture").fingerprint() != BuildConfig().fingerprint()
    same = BuildConfig(ade20k="a", out="b", mining_config="default").validate()
    assert same.fingerprint() == BuildConfig(ade20k="a", out="b").validate().fingerprint()
    with pytest.raises(UserError, match="no mining manifest 'nope'"):
        load_mining_config("nope")
    with pytest.raises(UserError, match="needs recipe: detecture"):
        load_mining_config(None, {"detecture": {}})


def test_keyword_typing_is_by_substring_with_full_names(rc):
    assert detecture_kind("carpet", rc) == OBJ  # "car" is inside "carpet": objects win
    assert detecture_kind("windowpane, window", rc) == A
    assert detecture_kind("skyscraper", rc) == T  # "sky"
    assert detecture_kind("ottoman, pouf, pouffe, puff, hassock", rc) == OBJ  # "man"
    assert detecture_kind("hill", rc) == OBJ  # no keyword -> object
    # SceneParse150 classes are typed by their full objectInfo150 name (all synonyms)
    palm = next(i for i, n in NAMES.items() if n == "palm")
    assert typing_name(palm, NAMES) == "palm, palm tree" and detecture_kind(typing_name(palm, NAMES), rc) == T
    land = next(i for i, n in NAMES.items() if n == "land")
    assert detecture_kind(typing_name(land, NAMES), rc) == T  # "land, ground, soil"
    assert typing_name(5000, {5000: "odd name"}) == "odd name"  # not a 150 id: its own name


def test_two_textures_hand_computed(cfg, rc):
    """Left half wall (1), right half sky (3), 100 x 100."""
    lab = np.ones((100, 100), np.int32)
    lab[:, 50:] = 3
    s = image_stats(lab, {1: T, 3: T}, rc)
    stage_a = 100 * (0.28 * 2 / 120 + 0.24 * (1 - 0.5 / 0.65) + 0.18 * 0 + 0.18 * 0 + 0.12 * 1 / 4)
    geometry = 100 * (0.28 * 2 / 3 + 0.34 * 1 / 2 + 0.26 * (100 / 400) / 0.35 + 0.12 * 0.5)
    assert (s.n_classes, s.n_large, s.n_strong, s.entropy_bits) == (2, 2, 1, 1.0)
    assert s.boundary_norm == pytest.approx(100 / 400) and s.balance == pytest.approx(0.5)
    assert s.stage_a == pytest.approx(stage_a) and s.geometry == pytest.approx(geometry)
    sel = score_detecture(lab, {1: T, 3: T}, rc)
    expected = 0.2 * stage_a + 0.6 * geometry + 20 + 6 + 3  # full texture bonus, 2 large, 1 strong
    assert sel.score == pytest.approx(expected, abs=1e-4) and expected == pytest.approx(66.9439, abs=1e-4)
    assert sel.keep
    mined = mine_scene(scene(lab), cfg)
    assert mined.skip is None and mined.recipe == "detecture"
    rs = mined.regions
    # a tie in area: the lower class id first
    assert [r.class_names for r in rs.regions] == [["wall"], ["sky"]] and [r.area for r in rs.regions] == [
        5000
    ] * 2
    assert (rs.label_map[:, :50] == 1).all() and (rs.label_map[:, 50:] == 2).all()
    assert mined.provenance()["mining_recipe"] == "detecture"


def test_object_and_tiny_classes_hand_computed(rc):
    """A car (21) of 10 x 10 in the sky; one rug (29, an object: "car" in "carpet") pixel run of 5."""
    lab = np.ones((100, 100), np.int32)
    lab[:, 50:] = 3
    lab[10:20, 70:80] = 21
    lab[99, 0:5] = 29
    kinds = {1: T, 3: T, 21: OBJ, 29: OBJ}
    assert detecture_kind(typing_name(29, NAMES), rc) == OBJ
    s = image_stats(lab, kinds, rc)
    assert s.object_fraction == pytest.approx(105 / 1e4) and s.texture_fraction == pytest.approx(
        1 - 105 / 1e4
    )
    assert s.small_frac == pytest.approx(1 / 4)  # the rug is under 0.1% ("tiny"), 1 class of 4
    r = np.array([4995, 4900, 100, 5]) / 1e4
    p = r / r.sum()
    assert s.entropy_bits == pytest.approx(-(p * np.log2(p)).sum())
    assert s.median_ratio == pytest.approx(np.median(r)) and s.largest_ratio == pytest.approx(0.4995)
    sel = score_detecture(lab, kinds, rc)
    assert sel.terms["object_penalty"] == pytest.approx(-180 * (105 / 1e4 - 0.002), abs=1e-4)
    factor = 1 - 1.15 * 105 / 1e4
    assert s.geometry == pytest.approx(
        factor * 100 * (0.28 * 2 / 3 + 0.34 / 2 + 0.26 * s.boundary_norm / 0.35 + 0.12 * s.balance)
    )
    # wall (4995 px) | sky (4900 px, the car a hole in it) share the 100 pairs of columns 49|50
    assert (s.n_large, s.n_strong) == (2, 1) and s.boundary_norm == pytest.approx(100 / 400)
    assert s.balance == pytest.approx(1 - 4995 / 9895)


def test_regions_rule(rc):
    """0 unlabeled 10%; classes of 40, 20, 15, 8, 5, 1.5 and 0.5%: the 5 largest >= 1% are kept."""
    shares = {0: 1000, 1: 4000, 3: 2000, 5: 1500, 7: 800, 10: 500, 18: 150, 21: 50}
    flat = np.concatenate([np.full(n, c, np.int32) for c, n in shares.items()])
    lab = flat.reshape(100, 100)
    rs = class_regions(lab, NAMES, rc)
    assert [r.class_names[0] for r in rs.regions] == [NAMES[c] for c in (1, 3, 5, 7, 10)]
    assert rs.provenance["dropped_small"] == [21] and rs.provenance["dropped_beyond_max"] == [18]
    assert [r["class_ids"] for r in rs.provenance["regions"]] == [[1], [3], [5], [7], [10]]
    for k, c in enumerate((1, 3, 5, 7, 10), start=1):
        assert ((rs.label_map == k) == (lab == c)).all()
    assert ((rs.label_map == 0) == np.isin(lab, [0, 18, 21])).all()
    one = np.zeros((100, 100), np.int32)
    one[:, :90] = 1
    one[:, 90:] = 21
    one[0, 90:] = 3  # 10 pixels: 0.1%
    with pytest.raises(MiningSkip, match="2 ADE classes|needs 2") as err:
        class_regions(np.where(one == 21, 0, one), NAMES, rc)
    assert err.value.stage == "regions"


def test_mine_item_provenance_names_the_recipe(cfg):
    lab = np.ones((100, 100), np.int32)
    lab[:, 50:] = 3
    res = mine_item(scene(lab), "training", cfg, seed=0, val_fraction=0.0)
    assert res.pending is not None
    prov = res.pending.provenance
    assert prov["mining_recipe"] == "detecture" and prov["region_class_ids"] == [1, 3]
    assert prov["regions"]["recipe"] == "detecture" and prov["selection"]["keep"]
    low = mine_item(scene(np.ones((100, 100), np.int32)), "training", cfg, seed=0, val_fraction=0.0)
    assert low.reject["stage"] == "select" and "detecture recipe" in low.reject["reason"]


def test_genuine_samples(ade_samples, cfg, rc):
    scenes = {s.id: s for s in read_ade20k(ade_samples / "ADEChallengeData2016")}
    s1 = scenes["ADE_val_00000001"]
    ids = sorted(int(c) for c in np.unique(s1.labels))
    assert ids == [0, 1, 2, 3, 5, 7, 10, 18]
    kinds = {c: detecture_kind(typing_name(c, s1.class_names), rc) for c in ids if c}
    # wall, sky, tree, road, grass, plant: texture; building: ambiguous
    assert kinds == {1: T, 2: A, 3: T, 5: T, 7: T, 10: T, 18: T}
    st = image_stats(s1.labels, {0: ClassType.IGNORE, **kinds}, rc)
    counts = np.bincount(s1.labels.ravel(), minlength=19)
    n = s1.labels.size
    assert st.texture_fraction == pytest.approx(sum(counts[c] for c in (1, 3, 5, 7, 10, 18)) / n)
    assert st.ambiguous_fraction == pytest.approx(counts[2] / n) and st.object_fraction == 0.0
    assert st.n_classes == 7 and st.largest_ratio == pytest.approx(max(counts[1:]) / n)
    for sid, sc in scenes.items():
        mined = mine_scene(sc, cfg)
        assert mined.recipe == "detecture"
        assert mined.selection.keep == (mined.selection.score >= 65), sid
        # the region rule, checked against a direct count of the annotation
        c = np.bincount(sc.labels.ravel())
        big = sorted((-int(c[i]), i) for i in np.flatnonzero(c) if i and c[i] / sc.labels.size >= 0.01)[:5]
        try:
            rs = class_regions(sc.labels, sc.class_names, rc)
            assert [r["class_ids"][0] for r in rs.provenance["regions"]] == [i for _, i in big]
        except MiningSkip:
            assert len(big) < 2


def test_cli_build_with_the_detecture_recipe(ade_samples, tmp_path):
    out = tmp_path / "b"
    res = CliRunner().invoke(
        cli,
        [
            "build",
            "--ade20k",
            str(ade_samples / "ADEChallengeData2016"),
            "--out",
            str(out),
            "--mining",
            "detecture",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert len(rejects) == 3 and all("detecture recipe" in r["reason"] for r in rejects)
    assert all(math.isfinite(r["score"]) for r in rejects)
    assert "the Detecture Miner's recipe" in (out / "README.md").read_text()  # the card says how it was built
