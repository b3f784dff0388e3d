"""Region metrics of score_partition against sklearn/skimage, brute force and hand-computed cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from skimage.metrics import variation_of_information as sk_vi
from sklearn.metrics import adjusted_rand_score

from benchmark.metrics import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    METRIC_KEYS,
    SCORE_KEYS,
    adjusted_rand_index,
    partition_stats,
    score_failure,
    score_partition,
    variation_of_information,
)
from textureade.types import ValidationError

REGION_KEYS = ("miou_matched", "iou_panoptic", "miou_many_to_one", "covering", "pixel_acc_matched")


# --------------------------------------------------------------------------- random partitions
def blobs(rng: np.random.Generator, h: int, w: int, k: int) -> np.ndarray:
    """Smooth random partition: nearest of k random seeds (Voronoi cells), random sparse ids."""
    seeds = rng.uniform(0, 1, (k, 2)) * [h, w]
    yy, xx = np.mgrid[0:h, 0:w]
    d = (yy[None] - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2
    ids = rng.choice(np.arange(1, 1000), size=k, replace=False)
    return ids[np.argmin(d, axis=0)]


def noise(rng: np.random.Generator, h: int, w: int, k: int) -> np.ndarray:
    ids = rng.choice(np.arange(1, 50), size=k, replace=False)
    return ids[rng.integers(0, k, (h, w))]


def random_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    h, w = (int(v) for v in rng.integers(1, 26, 2))
    makers = [blobs, noise]
    gt = makers[rng.integers(2)](rng, h, w, int(rng.integers(1, 6)))
    pred = makers[rng.integers(2)](rng, h, w, int(rng.integers(1, 7)))
    if rng.random() < 0.5:  # GT dustbin pixels
        gt = np.where(rng.random((h, w)) < 0.15, 0, gt)
    if rng.random() < 0.5:  # unassigned predicted pixels
        pred = np.where(rng.random((h, w)) < 0.2, 0, pred)
    if rng.random() < 0.3:  # prediction close to the GT
        pred = np.where(rng.random((h, w)) < 0.9, gt * 3, pred)
    return pred, gt


# --------------------------------------------------------------------------- slow reference
def reference(pred: np.ndarray, gt: np.ndarray, ignore_index=None, background=False, brute=True) -> dict:
    """Straight from the definitions: boolean masks per region, brute-force best assignment
    (scipy's linear_sum_assignment on the reference IoUs when ``brute`` is False)."""
    dom = gt != ignore_index if ignore_index is not None else np.ones(gt.shape, bool)
    if not background:
        dom &= gt != 0
    gz, pz = np.where(dom, gt, 0), np.where(dom, pred, 0)
    g_ids = [g for g in np.unique(gz) if g != 0]
    p_ids = [p for p in np.unique(pz) if p != 0]
    gm = {g: gz == g for g in g_ids}
    pm = {p: pz == p for p in p_ids}
    iou = {(g, p): (gm[g] & pm[p]).sum() / (gm[g] | pm[p]).sum() for g in g_ids for p in p_ids}
    out = {"n_gt": len(g_ids), "n_pred": len(p_ids)}
    n = int(dom.sum())
    if not g_ids or not p_ids:
        return out
    # Brute force over every assignment of min(G, P) pairs.
    best, best_pairs, second = -1.0, None, -1.0
    if not brute:
        from scipy.optimize import linear_sum_assignment

        mat = np.array([[iou[(g, p)] for p in p_ids] for g in g_ids])
        r, c = linear_sum_assignment(mat, maximize=True)
        cands = iter([[(g_ids[a], p_ids[b]) for a, b in zip(r, c)]])
    elif len(g_ids) <= len(p_ids):
        cands = ([(g, p) for g, p in zip(g_ids, perm)] for perm in itertools.permutations(p_ids, len(g_ids)))
    else:
        cands = ([(g, p) for g, p in zip(perm, p_ids)] for perm in itertools.permutations(g_ids, len(p_ids)))
    for pairs in cands:
        total = sum(iou[pr] for pr in pairs)
        if total > best + 1e-12:
            best, best_pairs, second = total, pairs, best
        elif total > second:
            second = total
    out["unique"] = best - second > 1e-9
    out["pairs"] = best_pairs
    out["miou_matched"] = best / len(best_pairs)
    out["iou_panoptic"] = best / max(len(g_ids), len(p_ids))
    mapped = np.zeros_like(gz)
    for p in p_ids:
        ov = [(int((pm[p] & gm[g]).sum()), -g, g) for g in g_ids]
        top = max(ov)
        if top[0] > 0:
            mapped[pm[p]] = top[2]
    out["miou_many_to_one"] = np.mean(
        [((mapped == g) & gm[g]).sum() / ((mapped == g) | gm[g]).sum() for g in g_ids]
    )
    sizes = {g: gm[g].sum() for g in g_ids}
    out["covering"] = sum(sizes[g] * max(iou[(g, p)] for p in p_ids) for g in g_ids) / sum(sizes.values())
    correct = sum((gm[g] & pm[p]).sum() for g, p in best_pairs)
    if background:
        correct += int(((gz == 0) & (pz == 0) & dom).sum())
    out["pixel_acc_matched"] = correct / n
    out["ari"] = adjusted_rand_score(gt[dom], pred[dom])
    out["vi_bits"] = float(sk_vi(gt[dom], pred[dom]).sum())  # skimage returns bits
    out["vi"] = out["vi_bits"] * math.log(2)
    return out


def check_against_reference(pred, gt, brute=True, **kw):
    s = score_partition(pred, gt, **kw)
    r = reference(pred, gt, kw.get("ignore_index"), kw.get("gt_zero") == "background", brute)
    assert s["n_gt"] == r["n_gt"] and s["n_pred"] == r["n_pred"]
    if r["n_gt"] == 0 or r["n_pred"] == 0:
        return s, r
    for k in ("miou_matched", "iou_panoptic", "miou_many_to_one", "covering", "ari", "vi", "vi_bits"):
        assert s[k] == pytest.approx(r[k], abs=1e-9), k
    if r["unique"]:
        assert s["pixel_acc_matched"] == pytest.approx(r["pixel_acc_matched"], abs=1e-9)
    return s, r


@pytest.mark.parametrize("seed", range(8))
def test_random_partitions_match_reference(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        pred, gt = random_pair(rng)
        check_against_reference(pred, gt)


def test_random_partitions_background_mode_and_ignore_index():
    rng = np.random.default_rng(100)
    for i in range(200):
        pred, gt = random_pair(rng)
        if i % 2:
            gt = np.where(rng.random(gt.shape) < 0.1, 255, gt)
            check_against_reference(pred, gt, ignore_index=255, gt_zero=("void", "background")[i % 4 == 1])
        else:
            check_against_reference(pred, gt, gt_zero="background")


def test_high_8bit_ids_take_the_3d_histogram_path():
    """8-bit ids are their own codes: past 65536 table cells (GT and predicted ids >= 128) the joint
    histogram is a 3-D OpenCV histogram (with a mask in background mode with ignored pixels);
    scores equal the reference and the same partition relabelled to small ids (16-bit key path)."""
    rng = np.random.default_rng(31)
    for i in range(8):
        gt = np.where(rng.random((40, 50)) < 0.1, 0, blobs(rng, 40, 50, int(rng.integers(2, 7))))
        pred = np.where(rng.random((40, 50)) < 0.1, 0, blobs(rng, 40, 50, int(rng.integers(2, 7))))
        small = []
        for lab, hi in ((gt, 254), (pred, 255)):
            ids = np.unique(lab)
            new = np.zeros(ids.max() + 1, np.int64)
            new[ids[ids > 0]] = rng.choice(np.arange(130, hi + 1), int((ids > 0).sum()), replace=False)
            small.append(np.unique(lab, return_inverse=True)[1].reshape(lab.shape) + (ids[0] > 0))
            lab[...] = new[lab]
        gt[rng.random(gt.shape) < 0.05] = 255
        gt_s = np.where(gt == 255, 255, small[0])
        mode = ("void", "background")[i % 2]
        # int64 ids < 256 (the reference negates ids, so no uint8 here); uint8 below.
        s, _ = check_against_reference(pred, gt, ignore_index=255, gt_zero=mode)
        assert s == score_partition(
            pred.astype(np.uint8), gt.astype(np.uint8), ignore_index=255, gt_zero=mode
        )
        base = score_partition(
            small[1].astype(np.uint8), gt_s.astype(np.uint8), ignore_index=255, gt_zero=mode
        )
        for k in SCORE_KEYS:
            assert s[k] == pytest.approx(base[k], abs=1e-12), k


def test_many_regions_take_the_wide_code_path():
    """Over 256 distinct ids per map the codes are 16-bit and the joint histogram is np.bincount."""
    rng = np.random.default_rng(21)
    for gt_zero in ("void", "background"):
        gt = noise(rng, 40, 45, 49) * 7 + rng.integers(0, 4, (40, 45)) * 1000  # ~190 ids
        gt[rng.random(gt.shape) < 0.1] = 0
        gt[rng.random(gt.shape) < 0.05] = 65535
        pred = rng.integers(0, 300, (40, 45)).astype(np.uint16)
        s, r = check_against_reference(pred, gt, brute=False, ignore_index=65535, gt_zero=gt_zero)
        assert s["n_gt"] > 128 and s["n_pred"] > 128
        assert s["pixel_acc_matched"] == pytest.approx(r["pixel_acc_matched"], abs=1e-9)


def test_keys_and_directions():
    rng = np.random.default_rng(1)
    pred, gt = random_pair(rng)
    s = score_partition(pred, gt)
    assert tuple(s) == SCORE_KEYS
    assert set(HIGHER_IS_BETTER) == set(METRIC_KEYS)
    assert HIGHER_IS_BETTER["vi"] is False and HIGHER_IS_BETTER["vi_bits"] is False
    assert all(HIGHER_IS_BETTER[k] for k in METRIC_KEYS if k not in ("vi", "vi_bits"))
    assert set(LOWER_IS_BETTER) == {"vi", "vi_bits"}
    assert all(isinstance(v, float) for v in s.values())


def test_ari_vi_match_sklearn_skimage_on_large_maps():
    rng = np.random.default_rng(7)
    gt = blobs(rng, 120, 160, 5)
    pred = np.where(rng.random(gt.shape) < 0.1, 0, blobs(rng, 120, 160, 4))
    s = score_partition(pred.astype(np.uint16), gt.astype(np.int32))
    assert s["ari"] == pytest.approx(adjusted_rand_score(gt.ravel(), pred.ravel()), abs=1e-12)
    assert s["vi"] == pytest.approx(sk_vi(gt, pred).sum() * math.log(2), abs=1e-9)
    # vi_bits is skimage's raw sum (log2), no unit conversion on the reference side.
    assert s["vi_bits"] == pytest.approx(float(np.sum(sk_vi(gt, pred))), abs=1e-9)
    assert s["vi_bits"] == pytest.approx(s["vi"] / math.log(2), abs=1e-12)


def test_ari_oracles_from_the_reference_notes():
    assert adjusted_rand_index(np.array([0, 0, 1, 2]), np.array([0, 0, 1, 1])) == pytest.approx(
        0.5714285714285714
    )
    assert adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == pytest.approx(-0.5)
    assert adjusted_rand_index(np.array([0, 0, 0, 0]), np.array([0, 1, 2, 3])) == 0.0
    assert variation_of_information(np.array([1, 1, 2, 2]), np.array([1, 2, 1, 2])) == pytest.approx(
        2 * math.log(2)
    )


def test_hand_computed_different_region_counts():
    gt = np.array([[1, 1, 2, 2]] * 4)
    pred = np.array([[5, 5, 7, 7]] * 2 + [[5, 5, 9, 9]] * 2)
    s = score_partition(pred, gt)
    assert s["n_gt"] == 2 and s["n_pred"] == 3
    assert s["miou_matched"] == pytest.approx(0.75)  # (1 + 0.5) / 2
    assert s["iou_panoptic"] == pytest.approx(0.5)  # 1.5 / 3
    assert s["miou_many_to_one"] == pytest.approx(1.0)  # 7 and 9 both map to 2
    assert s["covering"] == pytest.approx(0.75)  # (8 * 1 + 8 * 0.5) / 16
    assert s["pixel_acc_matched"] == pytest.approx(0.75)  # (8 + 4) / 16
    assert s["ari"] == pytest.approx(adjusted_rand_score(gt.ravel(), pred.ravel()))


def test_perfect_prediction_and_one_region():
    gt = np.array([[3, 3, 8], [3, 8, 8]])
    s = score_partition(gt * 10, gt)
    for k in METRIC_KEYS:
        assert s[k] == pytest.approx(1.0 if HIGHER_IS_BETTER[k] else 0.0), k
    one = np.ones((5, 6), int)
    s = score_partition(one * 4, one)
    assert s["ari"] == 1.0 and s["boundary_f"] == 1.0 and s["boundary_iou"] == 1.0 and s["vi"] == 0.0


def test_empty_prediction_is_scored_as_failure():
    gt = np.array([[1, 1, 2], [1, 2, 2], [0, 2, 2]])
    s = score_partition(np.zeros_like(gt), gt)
    assert s == score_failure(gt)
    assert all(s[k] == 0.0 for k in METRIC_KEYS if HIGHER_IS_BETTER[k])
    assert s["vi"] == pytest.approx(math.log(8))  # 8 domain pixels (GT 0 is void)
    assert s["vi_bits"] == pytest.approx(3.0)  # log2(8)
    assert s["n_gt"] == 2 and s["n_pred"] == 0
    # One GT region covering the image: sklearn would give ARI 1.0, DAVIS F 1.0; still a failure.
    one = np.ones((4, 4), np.uint8)
    s = score_partition(np.zeros_like(one), one)
    assert s["ari"] == 0.0 and s["boundary_f"] == 0.0 and s["vi"] == pytest.approx(math.log(16))
    # Predictions only outside the domain count as empty too.
    pred = np.where(gt == 0, 9, 0)
    assert score_partition(pred, gt) == score_failure(gt)


def test_empty_gt_and_all_ignored():
    z = np.zeros((4, 5), np.uint8)
    s = score_partition(z, z)
    assert all(s[k] == (1.0 if HIGHER_IS_BETTER[k] else 0.0) for k in METRIC_KEYS)
    assert s["n_gt"] == 0 and s["n_pred"] == 0
    # In void mode a prediction on an all-0 GT has no domain: nothing to find, nothing predicted.
    assert score_partition(np.ones_like(z), z)["miou_matched"] == 1.0
    ign = np.full((4, 5), 255, np.uint8)
    s = score_partition(np.ones_like(ign), ign, ignore_index=255)
    assert s["n_gt"] == 0 and s["n_pred"] == 0 and s["ari"] == 1.0
    # Background mode: GT all background, regions predicted -> region keys 0, ARI by formula.
    pred = np.array([[1, 1, 0, 0, 0]] * 4)
    s = score_partition(pred, z, gt_zero="background")
    assert s["n_gt"] == 0 and s["n_pred"] == 1
    assert s["miou_matched"] == 0.0 and s["covering"] == 0.0 and s["boundary_iou"] == 0.0
    assert s["pixel_acc_matched"] == pytest.approx(12 / 20)
    assert s["ari"] == pytest.approx(adjusted_rand_score(z.ravel(), pred.ravel()))


def test_zero_sized_maps_are_empty_maps():
    for shape in [(0, 5), (5, 0), (0, 0)]:
        z = np.zeros(shape, np.uint8)
        s = score_partition(z, z)
        assert all(s[k] == (1.0 if HIGHER_IS_BETTER[k] else 0.0) for k in METRIC_KEYS)
        assert score_failure(z)["vi"] == 0.0 and score_failure(z)["n_gt"] == 0


def test_score_failure_values():
    gt = np.array([[0, 1, 1], [2, 2, 255]])
    f = score_failure(gt, ignore_index=255)
    assert f["n_gt"] == 2 and f["n_pred"] == 0 and f["vi"] == pytest.approx(math.log(4))
    assert score_failure(gt, ignore_index=255, gt_zero="background")["vi"] == pytest.approx(math.log(5))
    assert f["vi_bits"] == pytest.approx(2.0)  # log2(4)
    assert score_failure(np.zeros((3, 3), int))["vi"] == 0.0
    assert score_failure(np.zeros((3, 3), int))["vi_bits"] == 0.0
    assert all(f[k] == 0.0 for k in METRIC_KEYS if HIGHER_IS_BETTER[k])


def test_ids_dtypes_and_relabelling_do_not_matter():
    rng = np.random.default_rng(3)
    gt = blobs(rng, 30, 40, 4)
    pred = np.where(rng.random(gt.shape) < 0.1, 0, blobs(rng, 30, 40, 5))
    base = score_partition(pred, gt)
    ids_p = np.unique(pred)
    big = dict(zip(ids_p, [0] + list(rng.choice(np.arange(70000, 90000), len(ids_p) - 1, replace=False))))
    pred_big = np.vectorize(big.get)(pred).astype(np.int32)
    gt_small = np.unique(gt, return_inverse=True)[1].reshape(gt.shape) + 1
    mid = dict(zip(ids_p, [0] + list(rng.choice(np.arange(130, 256), len(ids_p) - 1, replace=False))))
    pred_mid = np.vectorize(mid.get)(pred).astype(np.uint8)  # 8-bit ids >= 128: compacted by LUT
    for p, g in [
        (pred_mid, gt),
        (pred_mid, (gt_small + 127).astype(np.uint8)),
        (pred_big, gt),
        (pred.astype(np.uint16), gt.astype(np.uint16)),
        (pred_big.astype(np.int64), gt_small.astype(np.uint8)),
    ]:
        s = score_partition(p, g)
        for k in SCORE_KEYS:
            assert s[k] == pytest.approx(base[k], abs=1e-12), k


def test_background_mode_is_detecture_evaluation():
    """gt_zero="background" reproduces Detecture's hungarian_match and ARI over all pixels."""
    rng = np.random.default_rng(11)
    for _ in range(20):
        gt = np.where(rng.random((20, 24)) < 0.3, 0, blobs(rng, 20, 24, 3))
        pred = np.where(rng.random(gt.shape) < 0.2, 0, blobs(rng, 20, 24, 3))
        s = score_partition(pred, gt, gt_zero="background")
        gms = [gt == g for g in np.unique(gt) if g]
        pms = [pred == p for p in np.unique(pred) if p]
        iou = np.array([[(a & b).sum() / (a | b).sum() for b in gms] for a in pms])
        from scipy.optimize import linear_sum_assignment

        r, c = linear_sum_assignment(1.0 - iou)
        assert s["miou_matched"] == pytest.approx(iou[r, c].mean(), abs=1e-9)
        assert s["iou_panoptic"] == pytest.approx(iou[r, c].sum() / max(iou.shape), abs=1e-9)
        assert s["ari"] == pytest.approx(adjusted_rand_score(gt.ravel(), pred.ravel()), abs=1e-12)


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(ValidationError, match="ground truth"):
        score_partition(np.zeros((3, 4), int), np.zeros((4, 3), int))
    with pytest.raises(ValidationError, match="integers"):
        score_partition(np.zeros((3, 3), float), np.zeros((3, 3), int))
    with pytest.raises(ValidationError, match="negative"):
        score_partition(-np.ones((3, 3), int), np.zeros((3, 3), int))
    with pytest.raises(ValidationError, match="gt_zero"):
        score_partition(np.zeros((3, 3), int), np.zeros((3, 3), int), gt_zero="nope")


def test_stats_sums_are_consistent_with_scores():
    rng = np.random.default_rng(5)
    pred, gt = blobs(rng, 25, 25, 4), blobs(rng, 25, 25, 3)
    st = partition_stats(pred, gt)
    assert st.matched_iou_sum / st.n_matched == pytest.approx(st.scores["miou_matched"])
    assert st.covering_num / st.covering_den == pytest.approx(st.scores["covering"])
    assert st.correct / st.n_pixels == pytest.approx(st.scores["pixel_acc_matched"])
    assert st.n_matched == min(st.scores["n_gt"], st.scores["n_pred"])
    r = reference(pred, gt)
    if r["unique"]:
        assert sorted(st.assignment) == sorted((int(g), int(p)) for g, p in r["pairs"])


def test_inputs_are_not_modified_and_layout_does_not_matter():
    rng = np.random.default_rng(8)
    gt = np.where(rng.random((30, 41)) < 0.2, 0, blobs(rng, 30, 41, 4)).astype(np.uint8)
    pred = blobs(rng, 30, 41, 3).astype(np.uint16) * 500
    g0, p0 = gt.copy(), pred.copy()
    base = score_partition(pred.T.copy(), gt.T.copy())
    assert score_partition(pred.T, gt.T) == base  # Fortran-ordered views
    np.testing.assert_array_equal(gt, g0)
    np.testing.assert_array_equal(pred, p0)
    assert score_partition(pred[::2, ::3], gt[::2, ::3]) == score_partition(
        pred[::2, ::3].copy(), gt[::2, ::3].copy()
    )


def test_metrics_import_no_torch_no_sklearn():
    import subprocess
    import sys

    code = "import sys, benchmark.metrics; bad = [m for m in ('torch', 'sklearn') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
