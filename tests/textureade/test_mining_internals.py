"""The miner's building blocks against direct computations, and that mining keeps no state."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from textureade.mining.finalise import upsample_half
from textureade.mining.segments import MAX_LABEL, label_counts
from textureade.mining.selection import boundary_pairs
from textureade.mining.stats import GroupStats, grouped_sums, standardise


def _pairs_direct(lab: np.ndarray) -> dict[tuple[int, int], int]:
    out: dict[tuple[int, int], int] = {}
    h, w = lab.shape
    for r in range(h):
        for c in range(w):
            for r2, c2 in ((r, c + 1), (r + 1, c)):
                if r2 < h and c2 < w and lab[r, c] != lab[r2, c2]:
                    a, b = sorted((int(lab[r, c]), int(lab[r2, c2])))
                    out[(a, b)] = out.get((a, b), 0) + 1
    return out


@pytest.mark.parametrize("high", [1, 3, 40, 300, 5000, MAX_LABEL + 1])
def test_boundary_pairs_and_counts_match_direct(high):
    rng = np.random.default_rng(high)
    for shape in ((1, 7), (7, 1), (9, 13), (20, 5)):
        lab = rng.integers(0, high, shape).astype(np.int32)
        lab[:, : shape[1] // 2] = lab[0, 0]  # some runs, so not every pair differs
        assert boundary_pairs(lab) == _pairs_direct(lab)
        np.testing.assert_array_equal(label_counts(lab), np.bincount(lab.ravel()))


def test_grouped_sums_and_standardise():
    rng = np.random.default_rng(0)
    feats = rng.normal(2.0, 3.0, size=(30, 40, 5)).astype(np.float32)
    before = feats.copy()
    z = standardise(feats)
    assert (
        z.shape == (1200, 5) and np.allclose(z.mean(0), 0, atol=1e-5) and np.allclose(z.std(0), 1, atol=1e-4)
    )
    assert np.array_equal(feats, before)  # the input is left alone
    ids = rng.integers(0, 6, 1200).astype(np.int32)
    ids[ids == 4] = 5  # id 4 absent
    n, s, ss = grouped_sums(ids, z, 7)
    for i in range(7):
        x = z[ids == i].astype(np.float64)
        assert n[i] == len(x)
        np.testing.assert_allclose(s[i], x.sum(0), atol=1e-4)
        np.testing.assert_allclose(ss[i], (x * x).sum(0), rtol=1e-5, atol=1e-4)
    st = GroupStats.of(z[ids == 2])
    np.testing.assert_allclose(st.mean, z[ids == 2].mean(0), atol=1e-5)


def test_upsample_half_follows_bilinear_resize():
    rng = np.random.default_rng(3)
    half = (
        cv2.resize((rng.random((6, 8)) > 0.5).astype(np.uint8), (64, 48), interpolation=cv2.INTER_NEAREST) > 0
    )
    whole = np.ones_like(half)
    ref = cv2.resize(half.astype(np.float32), (683, 512), interpolation=cv2.INTER_LINEAR) > 0.5
    box = (37, 400, 120, 683)
    got = upsample_half(half, whole, (512, 683), box)
    assert got.shape == (363, 563)
    assert (got != ref[37:400, 120:683]).mean() < 0.01  # 8-bit fixed point vs float: edge pixels only
    # outside the group the indicator comes from the nearest group pixel
    group = np.zeros_like(half)
    group[:, :32] = True
    filled = upsample_half(half & group, group, (512, 683), (0, 512, 0, 683))
    assert (filled[:, 400:] == filled[:, 400:401]).all()  # far right: the group's last column, repeated


def test_mining_keeps_no_state_between_images():
    from textureade.config import load_mining_config
    from textureade.mining import mine_scene
    from textureade.types import Scene

    cfg = load_mining_config()
    rng = np.random.default_rng(5)
    names = {1: "wall", 2: "floor", 3: "grass"}

    def scene(i: int, h: int, w: int) -> Scene:
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        img[:, : w // 3] //= 4
        lab = np.full((h, w), 1, np.int32)
        lab[:, w // 3 :] = 2
        lab[h // 2 :, w // 2 :] = 3
        return Scene(f"s{i}", img, lab, class_names=names)

    a, b = scene(0, 240, 320), scene(1, 300, 200)
    first = mine_scene(a, cfg)
    mine_scene(b, cfg)
    again = mine_scene(a, cfg)
    assert first.provenance() == again.provenance()
    assert np.array_equal(first.regions.label_map, again.regions.label_map)
    assert first.regions.label_map.dtype == np.int32


def test_label_counts_huge_map_and_out_of_range_labels():
    """Exact counts past float32's 2^24 (calcHist counts in pieces); ids above MAX_LABEL refused."""
    lab = np.zeros((1, (1 << 24) + 3), np.int32)
    lab[0, 5], lab[0, -1] = 2, MAX_LABEL
    counts = label_counts(lab)
    assert counts.dtype == np.int64 and counts.size == MAX_LABEL + 1
    assert (counts[0], counts[2], counts[MAX_LABEL], counts.sum()) == ((1 << 24) + 1, 1, 1, lab.size)
    del lab
    with pytest.raises(ValueError, match="outside 0..65535"):
        label_counts(np.full((3, 4), MAX_LABEL + 1, np.int32))
    assert label_counts(np.zeros((0, 4), np.int32)).tolist() == [0]
