"""Class-indexed mIoU exactly as mmseg's IoUMetric (dataset-level sums, ignore, reduce_zero_label)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.metrics import IoUMetricAccumulator, intersect_and_union


def test_mmseg_test_vector():
    pred = np.array([[0, 1], [1, 1]])
    gt = np.array([[0, 1], [255, 0]])
    i, u, p, lab = intersect_and_union(pred, gt, 2, ignore_index=255)
    np.testing.assert_array_equal(i, [1, 1])
    np.testing.assert_array_equal(u, [2, 2])
    np.testing.assert_array_equal(p, [1, 2])
    np.testing.assert_array_equal(lab, [2, 1])
    acc = IoUMetricAccumulator(2)
    acc.add(pred, gt)
    res = acc.compute()
    assert res["mIoU"] == pytest.approx(0.5)
    assert res["aAcc"] == pytest.approx(2 / 3)
    assert res["mAcc"] == pytest.approx((0.5 + 1.0) / 2)


def test_reduce_zero_label():
    gt = np.array([[0, 1, 2], [3, 255, 1]], dtype=np.uint8)
    pred = np.array([[0, 0, 1], [2, 2, 1]])
    # gt 0 -> 255 (ignored), 1 -> 0, 2 -> 1, 3 -> 2, 255 -> 254 -> 255 (ignored)
    i, u, p, lab = intersect_and_union(pred, gt, 3, reduce_zero_label=True)
    np.testing.assert_array_equal(lab, [2, 1, 1])
    np.testing.assert_array_equal(p, [1, 2, 1])
    np.testing.assert_array_equal(i, [1, 1, 1])
    np.testing.assert_array_equal(u, [2, 2, 1])


def test_out_of_range_values_fall_out():
    pred = np.array([[5, 0, 1, 1]])
    gt = np.array([[0, 7, 1, 1]])
    i, u, p, lab = intersect_and_union(pred, gt, 2, ignore_index=255)
    np.testing.assert_array_equal(p, [1, 2])  # pred 5 counts nowhere
    np.testing.assert_array_equal(lab, [1, 2])  # gt 7 counts nowhere, but its pixel's pred 0 does
    np.testing.assert_array_equal(i, [0, 2])


def test_dataset_level_sums_not_mean_of_images_and_nan_classes_skipped():
    acc = IoUMetricAccumulator(4)
    a_pred, a_gt = np.array([[0, 0, 0, 1]]), np.array([[0, 0, 0, 0]])
    b_pred, b_gt = np.array([[1, 1]]), np.array([[1, 0]])
    acc.add(a_pred, a_gt)
    acc.add(b_pred, b_gt)
    res = acc.compute()
    # Summed: class 0 I=3 U=5; class 1 I=1 U=3; classes 2, 3 never appear -> NaN, skipped.
    assert res["IoU"][0] == pytest.approx(3 / 5) and res["IoU"][1] == pytest.approx(1 / 3)
    assert math.isnan(res["IoU"][2]) and math.isnan(res["IoU"][3])
    assert res["mIoU"] == pytest.approx((3 / 5 + 1 / 3) / 2)
    assert res["aAcc"] == pytest.approx(4 / 6)
    per_image = []
    for p, g in [(a_pred, a_gt), (b_pred, b_gt)]:
        i, u, _, _ = intersect_and_union(p, g, 4)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_image.append(np.nanmean(i / u))
    assert np.mean(per_image) != pytest.approx(res["mIoU"])


def test_accumulator_merge_and_random_parity_with_direct_sums():
    rng = np.random.default_rng(0)
    full = IoUMetricAccumulator(5, reduce_zero_label=True)
    parts = [IoUMetricAccumulator(5, reduce_zero_label=True) for _ in range(2)]
    preds, gts = [], []
    for k in range(6):
        g = rng.integers(0, 7, (9, 11)).astype(np.uint8)
        g[rng.random(g.shape) < 0.1] = 255
        p = rng.integers(0, 6, (9, 11))
        preds.append(p)
        gts.append(g)
        full.add(p, g)
        parts[k % 2].add(p, g)
    parts[0].merge(parts[1])
    np.testing.assert_array_equal(parts[0].area_i, full.area_i)
    # Direct sums over all pixels at once equal the streamed sums.
    i, u, _, lab = intersect_and_union(np.concatenate(preds), np.concatenate(gts), 5, reduce_zero_label=True)
    np.testing.assert_array_equal(i, full.area_i)
    np.testing.assert_array_equal(u, full.area_u)
    assert full.compute()["aAcc"] == pytest.approx(i.sum() / lab.sum())
    assert full.n_images == 6
