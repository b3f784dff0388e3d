"""Regions by appearance: merge and split cases whose right answer is known, plus the keep rules."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data as skd

from textureade.config import load_mining_config
from textureade.mining import mine_scene
from textureade.mining.class_types import type_classes
from textureade.mining.regions import mine_regions
from textureade.mining.split import valley_ratio
from textureade.mining.stats import GroupStats, separability, two_means
from textureade.mining.types import MiningSkip
from textureade.types import Scene

NAMES = {1: "wall", 2: "floor", 3: "grass", 4: "earth, ground", 5: "sky", 6: "person"}


def _rgb(a: np.ndarray) -> np.ndarray:
    return np.repeat(a[..., None], 3, 2) if a.ndim == 2 else a[..., :3]


@pytest.fixture(scope="module")
def tex() -> dict[str, np.ndarray]:
    return {
        "brick": _rgb(skd.brick())[:384, :512].copy(),
        "grass": _rgb(skd.grass())[:384, :512].copy(),
        "gravel": _rgb(skd.gravel())[:384, :512].copy(),
    }


@pytest.fixture(scope="module")
def cfg():
    return load_mining_config()


def _mine(image, labels, cfg, seed=0):
    scene = Scene("t", image, labels, class_names=NAMES)
    types = type_classes(NAMES, np.unique(labels).tolist(), cfg)
    return mine_regions(scene, types, cfg, seed=seed)


def test_two_segments_of_one_texture_are_merged(tex, cfg):
    image = tex["brick"].copy()
    image[256:] = tex["grass"][256:]
    labels = np.zeros((384, 512), np.int32)
    labels[:256, :256], labels[:256, 256:], labels[256:] = 1, 2, 3  # wall | floor, both brick; grass below
    rs = _mine(image, labels, cfg)
    assert len(rs.regions) == 2
    assert rs.regions[0].class_names == ["wall", "floor"]  # merged, largest class first (tie: lower id)
    assert rs.regions[1].class_names == ["grass"]
    merges = rs.provenance["merges"]
    assert len(merges) == 1 and merges[0]["why"] == "adjacent" and merges[0]["J"] < cfg.merge_separability
    # the partition is exactly the annotation's brick / grass split
    assert (rs.label_map[:256] == 1).all() and (rs.label_map[256:] == 2).all()


def test_different_textures_are_not_merged(tex, cfg):
    image = tex["brick"].copy()
    image[:, 256:] = tex["grass"][:, 256:]
    labels = np.zeros((384, 512), np.int32)
    labels[:, :256], labels[:, 256:] = 1, 2
    rs = _mine(image, labels, cfg)
    assert [r.class_names for r in rs.regions] in (["wall"], ["floor"]) or len(rs.regions) == 2
    assert rs.provenance["merges"] == []


def test_half_brick_half_grass_segment_is_split(tex, cfg):
    image = tex["brick"].copy()
    image[:, 256:] = tex["grass"][:, 256:]
    image[288:] = tex["gravel"][288:]
    labels = np.zeros((384, 512), np.int32)
    labels[:288], labels[288:] = 1, 4  # one "wall" segment over brick and grass; earth over gravel
    rs = _mine(image, labels, cfg)
    assert len(rs.regions) == 3
    (split,) = rs.provenance["splits"]
    assert split["J"] > cfg.split_separability and split["valley"] <= cfg.split_valley
    # the two halves of the wall follow the brick/grass edge (a few working pixels of blur allowed)
    left, right = rs.label_map[:288, :256], rs.label_map[:288, 256:]
    lk = np.bincount(left.ravel()).argmax()
    rk = np.bincount(right.ravel()).argmax()
    assert lk != rk and {lk, rk} <= {1, 2}
    assert (left == lk).mean() > 0.85 and (right == rk).mean() > 0.85
    assert rs.regions[lk - 1].class_names == ["wall"] == rs.regions[rk - 1].class_names
    assert (rs.label_map[288:] == 3).all()


def test_smooth_gradient_is_not_split(cfg, tex):
    h, w = 256, 384
    ramp = np.linspace(40, 230, h)[:, None, None] * np.ones((1, w, 1))
    sky = np.concatenate([ramp * 0.6, ramp * 0.8, ramp], axis=2).astype(np.uint8)
    image = sky.copy()
    image[192:] = tex["grass"][192:h, :w]
    labels = np.full((h, w), 5, np.int32)
    labels[192:] = 3
    rs = _mine(image, labels, cfg)
    assert rs.provenance["splits"] == []
    assert len(rs.regions) == 2


def test_small_regions_dropped_and_too_few_skip(tex, cfg):
    image = tex["brick"].copy()
    image[:, 256:] = tex["grass"][:, 256:]
    labels = np.full((384, 512), 1, np.int32)
    labels[:, 256:] = 3
    labels[:10, :10] = 6  # a person patch of 0.05% of the image
    rs = _mine(image, labels, cfg)
    assert len(rs.regions) == 2
    assert (rs.label_map[:10, :10] == 0).all()
    assert any(d["why"] == "under min_region_frac" for d in rs.provenance["dropped"])
    one = np.full((384, 512), 1, np.int32)
    with pytest.raises(MiningSkip, match="region"):
        _mine(tex["brick"], one, cfg)


def test_at_most_max_regions_largest_first(cfg):
    rng = np.random.default_rng(0)
    h, w = 240, 320
    labels = np.zeros((h, w), np.int32)
    image = np.zeros((h, w, 3), np.uint8)
    widths = [80, 60, 50, 40, 30, 25, 20, 15]  # 8 vertical bands of distinct flat colours
    x = 0
    for i, bw in enumerate(widths, start=1):
        labels[:, x : x + bw] = i
        image[:, x : x + bw] = rng.integers(0, 256, 3)
        x += bw
    scene = Scene("bands", image, labels, class_names={i: f"wall {i}" for i in range(1, 9)})
    rs = mine_regions(scene, type_classes(scene.class_names, range(1, 9), cfg), cfg)
    areas = [r.area for r in rs.regions]
    assert len(areas) == cfg.max_regions and areas == sorted(areas, reverse=True)
    beyond = [d for d in rs.provenance["dropped"] if d["why"] == "beyond max_regions"]
    assert beyond and max(d["area_frac"] for d in beyond) * rs.label_map.size <= min(areas) + 1


def test_deterministic_under_seed(tex, cfg):
    image = tex["brick"].copy()
    image[:, 256:] = tex["grass"][:, 256:]
    image[288:] = tex["gravel"][288:]
    labels = np.zeros((384, 512), np.int32)
    labels[:288], labels[288:] = 1, 4
    a, b = _mine(image, labels, cfg, seed=3), _mine(image, labels, cfg, seed=3)
    assert np.array_equal(a.label_map, b.label_map) and a.provenance == b.provenance


def test_stats_helpers():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 4))
    y = rng.normal(size=(500, 4)) + np.array([3.0, 0, 0, 0])
    assert separability(GroupStats.of(x), GroupStats.of(x[::-1])) == pytest.approx(0.0, abs=1e-9)
    assert 7 < separability(GroupStats.of(x), GroupStats.of(y)) < 11  # 3^2 / 1
    lab, centres = two_means(np.concatenate([x, y]))
    assert lab[0] == 0 and (lab[:500] == 0).mean() > 0.9 and (lab[500:] == 1).mean() > 0.9
    assert centres[1][0] - centres[0][0] == pytest.approx(3.0, abs=0.3)
    assert two_means(x[:3]) is None and two_means(np.ones((10, 4))) is None
    uni = rng.uniform(size=5000)
    bi = np.concatenate([rng.normal(0, 0.1, 2500), rng.normal(1, 0.1, 2500)])
    assert valley_ratio(uni, 0.25, 0.75) > 0.6
    assert valley_ratio(bi, 0.0, 1.0) < 0.2


def test_genuine_samples_mine(ade_samples, cfg):
    from textureade.readers import open_ade20k

    src = open_ade20k(ade_samples / "ADEChallengeData2016")
    for ref in src.items():
        m = mine_scene(src.load(ref), cfg)
        assert m.selection.keep, m.selection
        rs = m.regions
        assert rs is not None and 2 <= len(rs.regions) <= 6
        n = rs.label_map.size
        for r in rs.regions:
            assert r.area / n >= cfg.min_region_frac and r.class_names
        assert set(np.unique(rs.label_map)) <= set(range(len(rs.regions) + 1))


def test_instances_of_one_material_rejoin_and_parts_stand_apart(tex, cfg):
    from textureade.types import SceneObject

    image = tex["brick"].copy()
    image[:, 128:384] = tex["grass"][:, 128:384]  # brick | grass | the same brick again
    image[:, 384:] = tex["brick"][:, :128]
    image[96:288, 176:336] = tex["gravel"][96:288, 176:336]  # a gravel "part" inside the grass
    labels = np.full((384, 512), 1, np.int32)  # wall left and right ...
    labels[:, 128:384] = 3  # ... grass between them
    inst = np.zeros((384, 512), np.int32)
    inst[:, :128], inst[:, 384:], inst[:, 128:384] = 1, 2, 3  # two wall instances, not touching
    parts = np.zeros((384, 512), np.int32)
    parts[96:288, 176:336] = 4
    objects = [
        SceneObject("wall", 1, instance_id=1, attributes=["brick"]),
        SceneObject("wall", 1, instance_id=2),
        SceneObject("grass", 3, instance_id=3),
        SceneObject("earth", 4, part_level=1, attributes=["gravel"]),
    ]
    scene = Scene("inst", image, labels, instances=inst, parts=[parts], objects=objects, class_names=NAMES)
    types = type_classes(NAMES, [1, 3, 4], cfg)
    rs = mine_regions(scene, types, cfg)
    kinds = [s["kind"] for s in rs.provenance["segments"]]
    assert kinds == ["instance", "instance", "instance", "part"]
    assert [m["why"] for m in rs.provenance["merges"]] == ["same class"]
    names = sorted(r.class_names[0] for r in rs.regions)
    assert names == ["earth", "grass", "wall"]
    wall = next(r for r in rs.regions if r.class_names == ["wall"])
    assert wall.attributes == ["brick"] and wall.area == 2 * 384 * 128
    earth = next(r for r in rs.regions if r.class_names == ["earth"])
    assert earth.attributes == ["gravel"] and (rs.label_map[96:288, 176:336] == earth.index).all()
