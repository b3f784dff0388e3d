"""The offline describer: valid, distinct, and saying what the pixels show."""

from __future__ import annotations

import json

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
        json.dumps(r1.provenance)  # the looks are stored with the sample
        assert all(p is None for p in descriptions_problems(r1.descriptions)), r1.descriptions
        for text, region in zip(r1.descriptions, rs.regions):
            assert text.startswith(f"Texture of {region.class_names[0]}")


# --- known answers: synthetic scenes whose region 1 carries one pattern (on a flat grey background,
# region 2); pattern sizes are fractions of the image so that they read alike at every image size

SIZES = [(300, 400), (512, 683), (96, 128)]
GREY = (128, 128, 128)


def _grid(h: int, w: int, periods: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Row and column coordinates (float, h x w) and a period of 1/periods of the long side in pixels."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return yy, xx, max(h, w) / periods


def _pattern(kind: str, h: int, w: int, periods: int = 16) -> np.ndarray:
    """An h x w x 3 uint8 image of one pattern, periodic ones repeating ``periods`` times along the
    long side."""
    yy, xx, p = _grid(h, w, periods)
    if kind == "horizontal":
        v = (yy // (p / 2)) % 2
    elif kind == "vertical":
        v = (xx // (p / 2)) % 2
    elif kind == "diagonal":
        v = ((xx + yy) // (p / 2)) % 2
    elif kind == "checkerboard":
        v = ((xx // (p / 2)) + (yy // (p / 2))) % 2
    elif kind == "lattice":  # Gaussian blobs on a square grid
        dy, dx = (yy % p) - p / 2, (xx % p) - p / 2
        v = np.exp(-(dx * dx + dy * dy) / (2 * (p / 6) ** 2))
    elif kind == "noise":
        v = np.random.default_rng(0).random((h, w))
    elif kind == "coarse":  # smooth blobs of about 1/10 of the long side
        import cv2

        v = cv2.GaussianBlur(np.random.default_rng(1).random((h, w)), (0, 0), max(h, w) / 40)
        v = (v - v.min()) / (v.max() - v.min())
    elif kind == "flat":
        return np.full((h, w, 3), (150, 110, 70), np.uint8)
    else:
        raise ValueError(kind)
    grey = (30 + 200 * v).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _scene(kind: str, h: int, w: int, periods: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Region 1 = the pattern in the central box (half the height, 60% of the width); region 2 = the
    flat grey rest."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = GREY
    lm = np.full((h, w), 2, np.int32)
    box = (slice(h // 4, h // 4 + h // 2), slice(w // 5, w // 5 + 3 * w // 5))
    img[box] = _pattern(kind, h, w, periods)[box]
    lm[box] = 1
    return img, lm


def _look(kind: str, h: int, w: int, periods: int = 16):
    img, lm = _scene(kind, h, w, periods)
    looks = OfflineDescriber().look(img, lm, 2)
    assert looks[1].smooth and looks[1].colours == ["grey"]  # the background
    return looks[0]


@pytest.mark.parametrize(("h", "w"), SIZES)
@pytest.mark.parametrize("kind", ["horizontal", "vertical", "diagonal"])
def test_stripes_name_their_direction(kind, h, w):
    look = _look(kind, h, w)
    assert look.orientation == kind and look.regular and not look.smooth, look


@pytest.mark.parametrize(("h", "w"), SIZES)
@pytest.mark.parametrize("kind", ["checkerboard", "lattice"])
def test_periodic_patterns_are_regular_without_direction(kind, h, w):
    look = _look(kind, h, w)
    assert look.regular and look.orientation is None and not look.smooth, look


@pytest.mark.parametrize(("h", "w"), SIZES)
@pytest.mark.parametrize("kind", ["horizontal", "vertical", "diagonal", "checkerboard", "lattice"])
def test_fine_periodic_patterns_are_resolved(kind, h, w):
    """A period of 1/40 of the long side (17 px in a 512 x 683 photograph: bricks, planks, tiles) is
    3.2 px at the working side of 128, above the 2 px limit of sampling: still named. This pins how
    small the working side may be (at 112, 2.8 px, the diagonal stripes of 300 x 400 are lost; at 96
    the checkerboard and the lattice too)."""
    look = _look(kind, h, w, periods=40)
    assert look.regular and not look.smooth, look
    assert look.orientation == (kind if kind in ("horizontal", "vertical", "diagonal") else None), look


@pytest.mark.parametrize(("h", "w"), SIZES)
def test_white_noise_is_irregular_and_fine(h, w):
    look = _look("noise", h, w)
    assert not look.regular and look.granularity == "fine-grained" and look.orientation is None, look
    assert not look.smooth


@pytest.mark.parametrize(("h", "w"), SIZES)
def test_blurred_blobs_are_coarse(h, w):
    """(Not pinned: regularity. Blobs this large give few independent lags, and the autocorrelation
    test calls such blurred noise regular for many seeds.)"""
    look = _look("coarse", h, w)
    assert look.granularity == "coarse" and not look.smooth, look


@pytest.mark.parametrize(("h", "w"), SIZES)
def test_flat_colour_is_smooth_and_uniform(h, w):
    img, lm = _scene("flat", h, w)
    res = OfflineDescriber().describe(img, lm, [RegionInfo(1, ["wall"]), RegionInfo(2, ["floor"])])
    assert (
        res.descriptions[0] == "Texture of wall, light brown, smooth and uniform, in the centre of the image"
    )
    assert res.descriptions[1].startswith("Texture of floor, grey, smooth and uniform")


@pytest.mark.parametrize(("h", "w"), SIZES)
@pytest.mark.parametrize("jitter", [True, False])
@pytest.mark.parametrize(
    ("share", "colours"), [(0.6, ["red", "blue"]), (0.35, ["blue", "red"]), (0.85, ["red"])]
)
def test_second_colour_named_from_a_quarter(share, colours, jitter, h, w):
    """Region 1 is red on its left ``share`` and blue on the rest: both named when each is >= 25%,
    the larger first. With ``jitter`` each pixel is off by up to 6 levels (a photograph); without,
    both colours are exactly flat and the larger one holds the median of any split of the pixels,
    which must not stop the clustering (it dropped the second colour with a median start)."""
    img, lm = _scene("flat", h, w)
    rows, cols = np.nonzero(lm == 1)
    x0, x1 = cols.min(), cols.max() + 1
    cut = x0 + round(share * (x1 - x0))
    img[rows.min() : rows.max() + 1, x0:cut] = (200, 30, 30)
    img[rows.min() : rows.max() + 1, cut:x1] = (40, 80, 190)
    if jitter:
        noise = np.random.default_rng(2).integers(-6, 7, img.shape)
        img = (img + noise).clip(0, 255).astype(np.uint8)
    assert OfflineDescriber().look(img, lm, 2)[0].colours == colours


@pytest.mark.parametrize(("h", "w"), SIZES)
@pytest.mark.parametrize(
    ("box", "phrase"),
    [
        ((0.0, 0.3, 0.0, 0.3), "in the upper left of the image"),
        ((0.7, 1.0, 0.35, 0.65), "in the lower part of the image"),
        ((0.4, 0.6, 0.7, 1.0), "on the right of the image"),
        ((0.4, 0.6, 0.4, 0.6), "in the centre of the image"),
        ((0.0, 0.25, 0.0, 1.0), "spanning the top of the image"),
        ((0.0, 1.0, 0.0, 0.2), "running down the left side of the image"),
        ((0.0, 1.0, 0.4, 0.6), "running down the centre"),
        ((0.0, 0.9, 0.0, 0.9), "covering most of the image"),
    ],
)
def test_position_phrases(box, phrase, h, w):
    y0, y1, x0, x1 = (round(f * n) for f, n in zip(box, (h, h, w, w)))
    img = np.full((h, w, 3), GREY, np.uint8)
    lm = np.full((h, w), 2, np.int32)
    lm[y0:y1, x0:x1] = 1
    img[lm == 1] = (40, 80, 190)
    look = OfflineDescriber().look(img, lm, 2)[0]
    assert look.position == phrase and look.colours == ["blue"], look


def test_tiny_and_absent_regions():
    """A region too small to survive the working size is still described from the full-size pixels;
    an absent one is None (and says so)."""
    h, w = 512, 683
    img = np.full((h, w, 3), GREY, np.uint8)
    lm = np.full((h, w), 1, np.int32)
    lm[100:101, 600:601] = 2  # one pixel, upper right
    img[100, 600] = (200, 30, 30)
    looks = OfflineDescriber().look(img, lm, 3)
    assert looks[0].smooth and looks[0].position == "covering most of the image"
    assert looks[1].colours == ["red"] and looks[1].position == "in the upper right of the image"
    assert looks[2] is None
    texts = OfflineDescriber().describe(img, lm, [RegionInfo(i, [n]) for i, n in enumerate("abc", 1)])
    assert texts.descriptions[2] == "Texture of c, not visible at this size, region 3"
