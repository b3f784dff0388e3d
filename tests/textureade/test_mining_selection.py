"""Class typing by keyword and the per-image texture score."""

from __future__ import annotations

import numpy as np
import pytest

from textureade.config import load_mining_config, resolve_build_config
from textureade.errors import UserError
from textureade.mining.class_types import ClassType, class_type, primary_name, type_classes
from textureade.mining.selection import boundary_pairs, score_image


@pytest.fixture(scope="module")
def cfg():
    return load_mining_config()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wall", ClassType.TEXTURE),
        ("floor, flooring", ClassType.TEXTURE),
        ("wall socket", ClassType.OBJECT),  # object keywords win
        ("floor lamp", ClassType.OBJECT),
        ("windowpane;window", ClassType.OBJECT),
        ("building, edifice", ClassType.AMBIGUOUS),
        ("sand trap", ClassType.TEXTURE),  # texture beats ambiguous
        ("flux capacitor", ClassType.OBJECT),  # unknown -> object
        ("other", ClassType.IGNORE),
        ("", ClassType.IGNORE),
    ],
)
def test_class_type(cfg, name, expected):
    assert class_type(name, cfg) == expected


def test_type_classes_ids(cfg):
    types = type_classes({1: "wall", 2: "person"}, [0, 1, 2, 7], cfg)
    assert types == {0: ClassType.IGNORE, 1: ClassType.TEXTURE, 2: ClassType.OBJECT, 7: ClassType.OBJECT}
    assert primary_name("windowpane, window ") == "windowpane"


def test_boundary_pairs_hand_counted():
    lab = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    assert boundary_pairs(lab) == {(1, 2): 2, (1, 3): 2, (2, 3): 1}


def _texture_scene():
    lab = np.zeros((100, 100), np.int32)
    lab[:40], lab[40:70], lab[70:] = 1, 2, 3  # wall / floor / grass bands
    return lab, {1: "wall", 2: "floor", 3: "grass", 4: "person", 5: "chair"}


def test_texture_image_scores_high_object_image_low(cfg):
    lab, names = _texture_scene()
    sel = score_image(lab, type_classes(names, [1, 2, 3], cfg), cfg)
    assert sel.keep and sel.reason is None and sel.score >= 70
    assert sel.stats["n_large_texture_components"] == 3 and sel.stats["n_strong_boundaries"] == 2
    objs = lab.copy()
    objs[:, 20:] = 4
    objs[60:, 50:] = 5
    sel2 = score_image(objs, type_classes(names, [1, 2, 3, 4, 5], cfg), cfg)
    assert not sel2.keep and sel2.score < sel.score
    assert sel2.reason.startswith("texture score") and sel2.terms["object_area"] < 0


def test_single_class_image_is_dropped(cfg):
    lab = np.ones((50, 50), np.int32)
    sel = score_image(lab, {1: ClassType.TEXTURE}, cfg)
    assert not sel.keep


def test_genuine_scores(ade_samples, cfg):
    from textureade.readers import open_ade20k

    src = open_ade20k(ade_samples / "ADEChallengeData2016")
    scene = src.load(src.items()[0])  # ADE_val_00000001: sky, building, grass, tree ...
    ids = np.unique(scene.labels).tolist()
    sel = score_image(scene.labels, type_classes(scene.class_names, ids, cfg), cfg)
    assert 0 <= sel.score <= 100 and sel.keep
    assert sel.stats["unlabeled_area"] == pytest.approx((scene.labels == 0).mean(), abs=1e-3)


def test_config_layers(tmp_path):
    y = tmp_path / "b.yaml"
    y.write_text("workers: 3\nlimit: 5\nmining:\n  min_score: 10\n")
    c = resolve_build_config({"ade20k": "x", "out": "o", "limit": 7, "workers": None}, y)
    assert (c.workers, c.limit, c.mining_resolved().min_score) == (3, 7, 10)  # CLI > YAML > defaults
    assert c.mining_resolved().min_regions == 2
    d = c.to_dict()
    assert d["mining"]["min_score"] == 10 and "workers" not in c.output_dict()
    y.write_text("bogus: 1\n")
    with pytest.raises(UserError, match="unknown key"):
        resolve_build_config({"ade20k": "x", "out": "o"}, y)
    with pytest.raises(UserError, match="--vlm"):
        resolve_build_config({"ade20k": "x", "out": "o", "describer": "vlm"})
    with pytest.raises(UserError, match="unknown key"):
        resolve_build_config({"ade20k": "x", "out": "o", "mining": {"nope": 1}})
