"""The offline describer: valid, distinct, and saying what the pixels show."""

from __future__ import annotations

import numpy as np
import pytest

from textureade.describe import get_describer
from textureade.describe.base import Describer, RegionInfo
from textureade.describe.colors import colour_name, rgb_to_lab
from textureade.describe.offline import OfflineDescriber
from textureade.describe.validate import descriptions_problems
from textureade.errors import UserError


def test_get_describer():
    d = get_describer("offline")
    assert isinstance(d, OfflineDescriber) and isinstance(d, Describer) and d.name == "offline"
    with pytest.warns(FutureWarning, match="'heuristic' is deprecated; use 'offline'"):
        assert isinstance(get_describer("heuristic"), OfflineDescriber)  # the old name still works
    with pytest.raises(UserError, match="unknown describer"):
        get_describer("nope")
    with pytest.raises(UserError, match="bad option"):
        get_describer("offline", wrong=1)


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((200, 30, 30), "red"), ((40, 80, 190), "blue"), ((240, 240, 240), "white"), ((60, 140, 60), "green")],
)
def test_colour_names(rgb, name):
    assert colour_name(rgb_to_lab(np.array([rgb], np.uint8))[0]) == name


def test_features_follow_pixels():
    h, w = 120, 160
    img = np.zeros((h, w, 3), np.uint8)
    img[:60] = (200, 30, 30)  # flat red, top
    stripes = ((np.arange(60) // 3) % 2 * 200 + 30).astype(np.uint8)  # horizontal stripes, bottom
    img[60:] = np.repeat(stripes[:, None], w, axis=1)[..., None]
    lm = np.zeros((h, w), np.int32)
    lm[:60], lm[60:] = 1, 2
    regions = [RegionInfo(1, ["wall"], area=60 * w), RegionInfo(2, ["floor"], ["wooden"], area=60 * w)]
    res = OfflineDescriber().describe(img, lm, regions)
    a, b = res.descriptions
    assert a.startswith("Texture of wall, red") and "smooth" in a and ("upper" in a or "top" in a)
    assert b.startswith("Texture of wooden floor") and "horizontal" in b and ("bottom" in b or "lower" in b)
    assert "regular repeating" in b
    assert descriptions_problems(res.descriptions) == [None, None]
    assert res.provenance["describer"] == "offline"


def test_identical_regions_get_distinct_descriptions():
    img = np.full((80, 80, 3), 128, np.uint8)
    lm = np.zeros((80, 80), np.int32)
    lm[:, :40], lm[:, 40:] = 1, 2
    regions = [RegionInfo(1, ["wall"], area=3200), RegionInfo(2, ["wall"], area=3200)]
    # same name, same look, mirrored positions -> differ by position; force equality with a centred mask
    lm2 = np.zeros((80, 80), np.int32)
    lm2[30:50, 30:40], lm2[30:50, 40:50] = 1, 2
    for m in (lm, lm2):
        res = OfflineDescriber().describe(img, m, regions)
        assert descriptions_problems(res.descriptions) == [None, None], res.descriptions


def test_deterministic_and_valid_on_genuine(ade_samples):
    from textureade.config import load_mining_config
    from textureade.mining import mine_scene
    from textureade.readers import open_ade20k

    src = open_ade20k(ade_samples / "ADEChallengeData2016")
    d = OfflineDescriber()
    for ref in src.items():
        scene = src.load(ref)
        rs = mine_scene(scene, load_mining_config()).regions
        r1 = d.describe(scene.image, rs.label_map, rs.regions)
        r2 = d.describe(scene.image, rs.label_map, rs.regions)
        assert r1.descriptions == r2.descriptions
        assert all(p is None for p in descriptions_problems(r1.descriptions)), r1.descriptions
        for text, region in zip(r1.descriptions, rs.regions):
            assert text.startswith(f"Texture of {region.class_names[0]}")
