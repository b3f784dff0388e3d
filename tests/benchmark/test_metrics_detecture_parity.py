"""score_partition(..., n_pred=K) against the Detecture authors' per-sample scorer, re-derived here.

The re-derivation follows the semantics of ``metrics_utils.compute_sample_metrics``
(github.com/aviadcohz/Qwen2SAM_Detecture_Benchmark): score stack -> softmax with a constant
dustbin logit appended last -> argmax (first maximum) -> one mask per channel -> IoU and Dice
matrices in float32 over all K channels -> ``linear_sum_assignment`` on 1 - IoU -> means; ARI
by sklearn over every pixel with GT 0 a label; dustbin share = argmax on the dustbin. It works
on boolean masks, pixel by pixel, and shares no code with ``benchmark.metrics``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

from benchmark.metrics import DETECTURE_KEYS, METRIC_KEYS, score_partition
from textureade.types import ValidationError, scores_to_partition


# ------------------------------------------------------------------ the authors' definitions
def authors_argmax(logits: np.ndarray, dustbin_logit: float = 0.0) -> np.ndarray:
    """(K, H, W) channel logits -> H x W argmax map: 0..K-1 = channels, K = dustbin."""
    k, h, w = logits.shape
    stack = np.concatenate([logits, np.full((1, h, w), dustbin_logit, logits.dtype)])
    stack = stack - stack.max(axis=0, keepdims=True)
    e = np.exp(stack)
    probs = e / e.sum(axis=0, keepdims=True)
    return probs.argmax(axis=0)


def authors_scores(logits: np.ndarray, gt_masks: list[np.ndarray]) -> dict[str, float]:
    """The six per-sample values, from the authors' definitions (keys named as ours)."""
    k = logits.shape[0]
    m = len(gt_masks)
    amap = authors_argmax(logits)
    preds = [amap == i for i in range(k)]
    iou = np.zeros((max(k, 1), max(m, 1)), np.float32)
    dice = np.zeros_like(iou)
    for i in range(k):
        for j in range(m):
            inter = np.logical_and(preds[i], gt_masks[j]).sum()
            union = np.logical_or(preds[i], gt_masks[j]).sum()
            total = preds[i].sum() + gt_masks[j].sum()
            iou[i, j] = 0.0 if union == 0 else float(inter) / float(union)
            dice[i, j] = 1.0 if total == 0 else float(2.0 * inter) / float(total)
    out = {"miou_matched": 0.0, "iou_panoptic": 0.0, "dice_matched": 0.0, "dice_panoptic": 0.0}
    if k and m:
        rows, cols = linear_sum_assignment(1.0 - iou[:k, :m])
        mi = [float(iou[r, c]) for r, c in zip(rows, cols)]
        md = [float(dice[r, c]) for r, c in zip(rows, cols)]
        out = {
            "miou_matched": float(np.mean(mi)),
            "iou_panoptic": sum(mi) / max(k, m),
            "dice_matched": float(np.mean(md)),
            "dice_panoptic": sum(md) / max(k, m),
        }
    gt_class = np.zeros(amap.shape, np.int32)
    for j, mask in enumerate(gt_masks):
        gt_class[mask] = j + 1
    out["ari"] = float(adjusted_rand_score(gt_class.ravel(), amap.ravel())) if m else 0.0
    out["dustbin_share"] = float((amap == k).mean())
    return out


def label_map_from_scores(scores: np.ndarray) -> np.ndarray:
    """Our label map from a (K + 1) x H x W score stack in our layout (dustbin FIRST) by the
    authors' rule: the dustbin moved last, softmax, first maximum; channel k -> label k, dustbin
    -> 0. Written independently of ``textureade.types.scores_to_partition``, which must agree.)"""
    k = scores.shape[0] - 1
    stack = np.concatenate([scores[1:], scores[:1]])
    z = stack - stack.max(axis=0, keepdims=True)
    e = np.exp(z)
    amap = (e / e.sum(axis=0, keepdims=True)).argmax(axis=0)
    return np.where(amap == k, 0, amap + 1).astype(np.int32)


def gt_masks_of(gt: np.ndarray) -> list[np.ndarray]:
    """One mask per GT id present (ascending), GT 0 = background: the authors' gt_masks."""
    return [gt == v for v in np.unique(gt) if v != 0]


def assert_parity(logits: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    k = logits.shape[0]
    want = authors_scores(logits, gt_masks_of(gt))
    scores = np.concatenate([np.zeros((1,) + gt.shape, logits.dtype), logits])
    pred = label_map_from_scores(scores)
    got = score_partition(pred, gt, gt_zero="background", n_pred=k)
    for key in DETECTURE_KEYS:
        assert got[key] == pytest.approx(want[key], abs=1e-6), (key, got[key], want[key])
    return got


# ------------------------------------------------------------------ random stacks
def random_gt(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Blocky GT with 0..5 regions (random ids) and, half the time, background 0."""
    m = int(rng.integers(0, 6))
    if m == 0:
        return np.zeros((h, w), np.int64)
    ids = rng.choice(np.arange(1, 40), m, replace=False)
    coarse = rng.integers(0, m, (h // 3 + 1, w // 3 + 1)).repeat(3, 0).repeat(3, 1)[:h, :w]
    gt = ids[coarse]
    if rng.random() < 0.5:
        gt[rng.random((h, w)) < 0.2] = 0
    return gt


def random_logits(rng: np.random.Generator, k: int, gt: np.ndarray) -> np.ndarray:
    """K channels: quantised logits (exact ties with each other and with the dustbin's 0),
    continuous ones, empty channels (never above the dustbin) and channels following a GT region."""
    h, w = gt.shape
    out = np.empty((k, h, w), np.float32)
    ids = [v for v in np.unique(gt) if v != 0]
    for c in range(k):
        kind = rng.integers(0, 4)
        if kind == 0:
            out[c] = rng.integers(-1, 2, (h, w))  # ties
        elif kind == 1:
            out[c] = rng.standard_normal((h, w))
        elif kind == 2:
            out[c] = -5.0  # empty channel
        else:
            target = gt == ids[int(rng.integers(len(ids)))] if ids else rng.random((h, w)) < 0.5
            out[c] = np.where(target, 2.0, -2.0) + np.where(rng.random((h, w)) < 0.1, -4.0, 0.0)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_random_stacks_match_the_authors(seed):
    rng = np.random.default_rng(seed)
    seen = {"k>m": 0, "k<m": 0, "empty channel": 0, "tie": 0, "background": 0, "k=0": 0, "m=0": 0}
    for _ in range(80):
        h, w = (int(v) for v in rng.integers(3, 20, 2))
        gt = random_gt(rng, h, w)
        k = int(rng.integers(0, 7))
        logits = random_logits(rng, k, gt)
        assert_parity(logits, gt)
        m = len(gt_masks_of(gt))
        amap = authors_argmax(logits)
        seen["k>m"] += k > m
        seen["k<m"] += k < m
        seen["empty channel"] += any(not np.any(amap == i) for i in range(k))
        top2 = np.sort(np.concatenate([logits, np.zeros((1, h, w), np.float32)]), axis=0)[-2:]
        seen["tie"] += bool(k and np.any(top2[0] == top2[1]))
        seen["background"] += bool(np.any(gt == 0) and m)
        seen["k=0"] += k == 0
        seen["m=0"] += m == 0
    assert all(v > 0 for v in seen.values()), seen


def test_matching_ties_decide_dice_the_same_way():
    """Two channels with the same IoU to one GT region but different Dice elsewhere: the
    assignment (and so Dice) follows scipy on the authors' float32 cost matrix."""
    gt = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [0, 0, 0, 0]])
    for logits in (
        np.stack([np.where(gt == 1, 1.0, -1.0), np.where(gt == 1, 1.0, -1.0)]).astype(np.float32),
        np.stack([np.where(gt > 0, 1.0, -1.0), np.where(gt == 2, 1.0, -1.0)]).astype(np.float32),
        np.stack([np.zeros_like(gt, np.float32)] * 3),  # every pixel a three-way tie with the dustbin
    ):
        assert_parity(logits, gt)


def test_tiny_maps_with_tied_assignments():
    """Tiny maps where several assignments reach the same IoU sum with different Dice sums
    (common at 2 x 2..4 pixels): Dice follows the pairs scipy picks on the float32 cost."""
    pred = np.array([[0, 2, 2, 1], [1, 0, 0, 1]])
    gt = np.array([[0, 0, 1, 2], [1, 0, 2, 1]])
    # IoU [[1/2, 1/4], [1/4, 0]]: both assignments sum to 1/2; Dice [[2/3, 2/5], [2/5, 0]].
    s = score_partition(pred, gt, gt_zero="background", n_pred=2)
    assert s["miou_matched"] == pytest.approx(0.25)
    assert s["dice_matched"] == pytest.approx(1 / 3)  # scipy keeps the diagonal (not 2/5)
    rng = np.random.default_rng(11)
    for _ in range(500):
        gt = rng.integers(0, 3, (2, int(rng.integers(2, 5))))
        k = int(rng.integers(1, 4))
        pred = rng.integers(0, k + 1, gt.shape)
        logits = np.stack([np.where(pred == c + 1, 3.0, -3.0) for c in range(k)]).astype(np.float32)
        assert_parity(logits, gt)


# ------------------------------------------------------------------ hand-computed cases
def test_empty_second_channel_is_charged_iou_zero():
    """GT halves of 40 pixels; channel 1 = the left half and 24 pixels of the right one
    (IoU 40/64 = 0.625); channel 2 empty; 16 pixels on the dustbin."""
    gt = np.zeros((8, 10), np.int64)
    gt[:, :5] = 1
    gt[:, 5:] = 2
    pred = np.zeros_like(gt)
    pred[:, :5] = 1
    pred[:, 5:8] = 1  # 24 pixels of GT region 2
    ours = score_partition(pred, gt, gt_zero="background")
    assert ours["miou_matched"] == pytest.approx(0.625)
    theirs = score_partition(pred, gt, gt_zero="background", n_pred=2)
    assert theirs["miou_matched"] == pytest.approx(0.3125)
    assert theirs["iou_panoptic"] == pytest.approx(0.3125)
    assert theirs["dice_matched"] == pytest.approx((2 * 40 / (64 + 40) + 0.0) / 2)
    assert theirs["dice_panoptic"] == theirs["dice_matched"]
    assert theirs["dustbin_share"] == pytest.approx(16 / 80)
    assert theirs["ari"] == pytest.approx(adjusted_rand_score(gt.ravel(), pred.ravel()))
    logits = np.stack([np.where(pred == 1, 3.0, -3.0), np.full(gt.shape, -3.0)]).astype(np.float32)
    assert assert_parity(logits, gt)["miou_matched"] == pytest.approx(0.3125)
    # Same with K = 3: one more empty channel only lowers the panoptic value.
    k3 = score_partition(pred, gt, gt_zero="background", n_pred=3)
    assert k3["miou_matched"] == pytest.approx(0.3125) and k3["iou_panoptic"] == pytest.approx(0.625 / 3)


def test_no_channels_and_no_gt_regions():
    gt = np.array([[1, 1], [2, 2]])
    none = np.zeros_like(gt)
    s = score_partition(none, gt, gt_zero="background", n_pred=0)
    assert [s[k] for k in DETECTURE_KEYS] == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]  # ARI: GT 2 clusters
    one = np.ones_like(gt)  # GT one region covering the image, K = 0: sklearn's ARI is 1.0
    assert score_partition(none, one, gt_zero="background", n_pred=0)["ari"] == 1.0
    assert score_failure_is_ours(none, one)
    empty_gt = np.zeros_like(gt)
    s = score_partition(np.array([[1, 0], [2, 2]]), empty_gt, gt_zero="background", n_pred=2)
    assert [s[k] for k in DETECTURE_KEYS] == [0.0, 0.0, 0.0, 0.0, 0.0, 0.25]
    s = score_partition(none, empty_gt, gt_zero="background", n_pred=1)
    assert [s[k] for k in DETECTURE_KEYS] == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert_parity(np.zeros((0, 2, 2), np.float32), gt)
    assert_parity(np.full((2, 2, 2), -1.0, np.float32), empty_gt)


def score_failure_is_ours(pred: np.ndarray, gt: np.ndarray) -> bool:
    """Without n_pred an all-dustbin prediction keeps our failure scores (ARI 0)."""
    return score_partition(pred, gt, gt_zero="background")["ari"] == 0.0


def test_other_keys_keep_our_convention_and_labels_above_k_fail():
    rng = np.random.default_rng(7)
    gt = random_gt(rng, 17, 13)
    pred = rng.integers(0, 3, gt.shape)
    plain = score_partition(pred, gt, gt_zero="background")
    with_k = score_partition(pred, gt, gt_zero="background", n_pred=4)
    assert tuple(with_k) == tuple(plain) + ("dice_matched", "dice_panoptic", "dustbin_share")
    for key in METRIC_KEYS:
        if key not in DETECTURE_KEYS:
            assert with_k[key] == plain[key], key
    with pytest.raises(ValidationError, match="label 2 but the method produced 1 channels"):
        score_partition(pred, gt, n_pred=1)
    with pytest.raises(ValidationError, match="n_pred"):
        score_partition(pred, gt, n_pred=-1)


def test_scores_to_partition_follows_the_authors_tie_rule():
    """Exact ties: a texture beats the dustbin, the lower channel beats a higher one."""
    scores = np.zeros((3, 1, 3), np.float32)  # dustbin, channel 1, channel 2
    scores[1, 0, 1] = 1.0
    scores[0, 0, 2] = 1.0
    assert scores_to_partition(scores).tolist() == [[1, 1, 0]]
    assert label_map_from_scores(scores).tolist() == [[1, 1, 0]]
    rng = np.random.default_rng(7)
    for _ in range(50):
        k = int(rng.integers(1, 5))
        stack = rng.integers(-1, 2, (k + 1, 6, 7)).astype(np.float32)  # many exact ties
        assert np.array_equal(scores_to_partition(stack), label_map_from_scores(stack))
