"""DAVIS boundary F and Boundary IoU against pixel-loop re-implementations of the definitions."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from benchmark.metrics import score_partition
from benchmark.metrics.boundary import (
    _bit_rows,
    _dilate_disk_rows,
    boundary_f_counts,
    boundary_iou_dilation,
    davis_bound_pix,
    davis_boundary_map,
    disk,
    region_boundary_flags,
)


def dilate(b: np.ndarray, r: int) -> np.ndarray:
    """OpenCV's dilation by the disk (zeros outside the image): the oracle for the bit rows."""
    if r <= 0:
        return b.copy()
    return cv2.dilate(b.view(np.uint8), disk(r), borderType=cv2.BORDER_CONSTANT, borderValue=0).view(bool)


def unpack(rows: np.ndarray, n: int, shape: tuple[int, int]) -> np.ndarray:
    """One map of bit rows (H * n words) back to H x W bool."""
    h, w = shape
    return np.unpackbits(rows.reshape(h, n).view(np.uint8), axis=1, count=w, bitorder="little").view(bool)


# ----------------------------------------------------------------- pixel-loop definitions
def loop_bmap(lab: np.ndarray) -> np.ndarray:
    """DAVIS _seg2bmap, per pixel: differs from right / bottom / bottom-right; edge rules."""
    h, w = lab.shape
    b = np.zeros((h, w), bool)
    for y in range(h):
        for x in range(w):
            if y == h - 1 and x == w - 1:
                continue
            if y == h - 1:
                b[y, x] = lab[y, x] != lab[y, x + 1]
            elif x == w - 1:
                b[y, x] = lab[y, x] != lab[y + 1, x]
            else:
                b[y, x] = (
                    lab[y, x] != lab[y, x + 1] or lab[y, x] != lab[y + 1, x] or lab[y, x] != lab[y + 1, x + 1]
                )
    return b


def loop_dilate(b: np.ndarray, r: int) -> np.ndarray:
    h, w = b.shape
    out = np.zeros_like(b)
    for y in range(h):
        for x in range(w):
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if (
                        dy * dy + dx * dx <= r * r
                        and 0 <= y + dy < h
                        and 0 <= x + dx < w
                        and b[y + dy, x + dx]
                    ):
                        out[y, x] = True
    return out


def loop_davis_f(pred_z: np.ndarray, gt_z: np.ndarray, r: int) -> float:
    pb, gb = loop_bmap(pred_z), loop_bmap(gt_z)
    n_fg, n_gt = pb.sum(), gb.sum()
    if n_fg == 0 and n_gt > 0:
        p, rc = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        p, rc = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        p, rc = 1.0, 1.0
    else:
        p = (pb & loop_dilate(gb, r)).sum() / n_fg
        rc = (gb & loop_dilate(pb, r)).sum() / n_gt
    return 0.0 if p + rc == 0 else 2 * p * rc / (p + rc)


def loop_mask_boundary(mask: np.ndarray, d: int) -> np.ndarray:
    """boundary-iou-api mask_to_boundary: pad by one 0, erode 3x3 d times, mask - eroded."""
    h, w = mask.shape
    cur = np.zeros((h + 2, w + 2), bool)
    cur[1:-1, 1:-1] = mask
    for _ in range(d):
        nxt = np.zeros_like(cur)
        for y in range(h + 2):
            for x in range(w + 2):
                ok = True
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        yy, xx = y + dy, x + dx
                        if 0 <= yy < h + 2 and 0 <= xx < w + 2 and not cur[yy, xx]:
                            ok = False
                nxt[y, x] = ok
        cur = nxt
    return mask & ~cur[1:-1, 1:-1]


def loop_boundary_iou(gmask: np.ndarray, pmask: np.ndarray, d: int) -> float:
    a, b = loop_mask_boundary(gmask, d), loop_mask_boundary(pmask, d)
    return (a & b).sum() / (a | b).sum()


def small_pair(rng: np.random.Generator, h: int, w: int):
    def vor(k):
        s = rng.uniform(0, 1, (k, 2)) * [h, w]
        yy, xx = np.mgrid[0:h, 0:w]
        d = (yy[None] - s[:, 0, None, None]) ** 2 + (xx[None] - s[:, 1, None, None]) ** 2
        return rng.choice(np.arange(1, 60), k, replace=False)[np.argmin(d, axis=0)]

    gt = vor(int(rng.integers(1, 5)))
    pred = vor(int(rng.integers(1, 5))) if rng.random() < 0.6 else rng.integers(0, 4, (h, w)) * 7
    if rng.random() < 0.5:
        gt = np.where(rng.random((h, w)) < 0.1, 0, gt)
    if rng.random() < 0.4:
        pred = np.where(rng.random((h, w)) < 0.15, 0, pred)
    return pred, gt


# ----------------------------------------------------------------- tests
def test_davis_map_matches_loop_and_binary_davis():
    rng = np.random.default_rng(0)
    for _ in range(30):
        lab = rng.integers(0, 3, (int(rng.integers(1, 9)), int(rng.integers(1, 9))))
        want = loop_bmap(lab)
        for dt in (np.int64, np.uint8, np.uint16):
            np.testing.assert_array_equal(davis_boundary_map(lab.astype(dt)), want)


def test_disk_dilation_matches_loop():
    rng = np.random.default_rng(1)
    for r in (1, 2, 3, 5):
        b = rng.random((13, 17)) < 0.05
        np.testing.assert_array_equal(dilate(b, r), loop_dilate(b, r))


def _map_pairs(rng: np.random.Generator):
    """Bool map pairs of odd sizes (rows of 1..3 words, W not a multiple of 64 or 8)."""
    for h, w in [(1, 1), (2, 9), (5, 3), (13, 17), (30, 33), (67, 41), (130, 77), (20, 129), (9, 200)]:
        for density in (0.0, 0.01, 0.2):
            yield rng.random((h, w)) < density, rng.random((h, w)) < 2 * density


def test_bit_rows_round_trip_and_disk_dilation_are_exact():
    rng = np.random.default_rng(4)
    for a, b in _map_pairs(rng):
        for r in (0, 1, 2, 3, 7, 9, 63, 64, 70):
            pad = r // 64 + 2 + int(rng.integers(0, 2))
            rows, n = _bit_rows([a, b], pad)
            np.testing.assert_array_equal(unpack(rows[0], n, a.shape), a)
            np.testing.assert_array_equal(unpack(rows[1], n, b.shape), b)
            near = _dilate_disk_rows(rows, n, r)
            np.testing.assert_array_equal(unpack(near[0], n, a.shape), dilate(a, r))
            np.testing.assert_array_equal(unpack(near[1], n, b.shape), dilate(b, r))
            if r <= 3 and a.size < 500:
                np.testing.assert_array_equal(unpack(near[0], n, a.shape), loop_dilate(a, r))
            n_fg, n_gt = int(b.sum()), int(a.sum())
            want = (int((b & dilate(a, r)).sum()), n_fg, int((a & dilate(b, r)).sum()), n_gt)
            if not (n_fg and n_gt):
                want = (0, n_fg, 0, n_gt)
            assert boundary_f_counts(b, a, r) == want


def test_region_flags_on_blocky_maps_match_per_region_erosion():
    rng = np.random.default_rng(6)
    for h, w in [(3, 4), (9, 14), (37, 50), (101, 66)]:
        for d in (1, 2, 5, 17):
            gt = rng.integers(1, 4, (h // 5 + 1, w // 5 + 1)).repeat(5, 0).repeat(5, 1)[:h, :w]
            flags = region_boundary_flags(davis_boundary_map(gt), d)
            assert flags.dtype == np.uint8 and set(np.unique(flags)) <= {0, 1}
            if d <= 2 and h * w < 200:
                for v in np.unique(gt):
                    np.testing.assert_array_equal(
                        flags.view(bool) & (gt == v), loop_mask_boundary(gt == v, d)
                    )


def test_tolerances_follow_the_papers():
    assert davis_bound_pix((512, 683)) == math.ceil(0.008 * math.hypot(512, 683)) == 7
    assert davis_bound_pix((10, 10), bound_th=3) == 3
    assert boundary_iou_dilation((512, 683)) == 17
    assert boundary_iou_dilation((10, 10)) == 1  # max(1, round(0.28))
    # Python's round: half to even, as the boundary-iou-api's int(round(.)).
    assert boundary_iou_dilation((3, 4), dilation_ratio=0.5) == 2  # round(2.5) == 2


def test_region_flags_match_per_region_erosion():
    rng = np.random.default_rng(2)
    for d in (1, 2, 3):
        for _ in range(4):
            lab = rng.integers(0, 3, (11, 14)) if rng.random() < 0.5 else small_pair(rng, 11, 14)[1]
            flags = region_boundary_flags(davis_boundary_map(lab), d).view(bool)
            for v in np.unique(lab):
                m = lab == v
                np.testing.assert_array_equal(flags & m, loop_mask_boundary(m, d))


@pytest.mark.parametrize("seed", range(5))
def test_boundary_metrics_match_loop_definitions(seed):
    rng = np.random.default_rng(seed)
    for i in range(15):
        h, w = (int(v) for v in rng.integers(1, 16, 2))
        pred, gt = small_pair(rng, h, w)
        bound_th = (0.008, 2.0, 3.0)[i % 3]
        ratio = (0.02, 0.1, 0.2)[i % 3]
        s = score_partition(pred, gt, bound_th=bound_th, dilation_ratio=ratio)
        dom = gt != 0
        gz, pz = np.where(dom, gt, 0), np.where(dom, pred, 0)
        r = davis_bound_pix((h, w), bound_th)
        g_ids = [g for g in np.unique(gz) if g]
        p_ids = [p for p in np.unique(pz) if p]
        if not g_ids or not p_ids:
            continue
        assert s["boundary_f"] == pytest.approx(loop_davis_f(pz, gz, r), abs=1e-12)
        # Matched pairs: brute force is in test_metrics_partition; here use scipy on the IoUs.
        from scipy.optimize import linear_sum_assignment

        iou = np.array(
            [[((gz == g) & (pz == p)).sum() / ((gz == g) | (pz == p)).sum() for p in p_ids] for g in g_ids]
        )
        rows, cols = linear_sum_assignment(iou, maximize=True)
        d = max(1, int(round(ratio * math.hypot(h, w))))
        want = np.mean([loop_boundary_iou(gz == g_ids[a], pz == p_ids[b], d) for a, b in zip(rows, cols)])
        assert s["boundary_iou"] == pytest.approx(want, abs=1e-12)


def test_boundary_hand_cases():
    # Two halves, prediction shifted by one column: DAVIS with tolerance 1 matches everything.
    gt = np.array([[1, 1, 2, 2]] * 4)
    pred = np.array([[1, 1, 1, 2]] * 4)
    s = score_partition(pred, gt, bound_th=1.0)
    assert s["boundary_f"] == 1.0
    s0 = score_partition(pred, gt, bound_th=0.001)  # ceil -> radius 1 as well
    assert s0["boundary_f"] == 1.0
    # GT boundary only (prediction one region): DAVIS P=1, R=0 -> F=0.
    assert score_partition(np.ones_like(gt), gt)["boundary_f"] == 0.0
    # Prediction boundary only (GT one region): P=0, R=1 -> F=0.
    assert score_partition(gt, np.ones_like(gt))["boundary_f"] == 0.0
    # Void pixels are zeroed in both maps first, so a split hidden under void is no boundary.
    gt_v = np.array([[1, 1, 0, 0]] * 4)
    pred_v = np.array([[5, 5, 6, 7]] * 4)
    assert score_partition(pred_v, gt_v)["boundary_f"] == 1.0
    # Boundary IoU on a 4x4 image: d = 1; every pixel of a 2-wide half is boundary.
    assert score_partition(gt * 3, gt)["boundary_iou"] == 1.0
