"""The Detecture authors' per-sample scorer, re-derived on our contingency table.

``score_partition(pred, gt, gt_zero="background", n_pred=K)`` returns these values for
``miou_matched``, ``iou_panoptic``, ``ari``, ``dice_matched``, ``dice_panoptic`` and
``dustbin_share``: the convention of ``metrics_utils.compute_sample_metrics`` in the authors'
benchmark (github.com/aviadcohz/Qwen2SAM_Detecture_Benchmark, ``metrics_utils.py`` and
``data_utils.py``; read, not copied). Without ``n_pred`` our own convention holds (see
:mod:`benchmark.metrics.partition`): matching over the predicted regions present only.

Facts of the authors' code, and how our inputs map onto it:

- Partition (``resolve_conflicts_softmax_argmax``): the K channel logits get a constant dustbin
  logit (0.0) appended LAST, are softmaxed and argmaxed; ``np.argmax`` takes the first maximum,
  so a texture channel wins an exact tie against the dustbin and the lower channel wins among
  textures (the argmax is of the softmax probabilities, so logits closer than their rounding
  tie as well). Our label map: label k in 1..K = channel k - 1, 0 = dustbin.
  ``textureade.types.scores_to_partition`` follows that rule on exact ties (a texture beats the
  dustbin); it takes the argmax of the raw scores, so only softmax-rounding near-ties can differ.
- GT (``data_utils.load_gt_masks``): one binary mask per texture, empty masks dropped, so M =
  the GT regions present; images without any GT mask are not scored at all by the eval scripts
  (status ``no_gt_masks``). GT 0 is background: in the ARI a cluster, never a region. There is
  no ignore rule: every pixel counts. Ours: the GT ids present in the domain in ascending order
  (= the mask order, which decides only Hungarian ties) with ``gt_zero="background"`` and no
  ``ignore_index``; with void pixels the same formulas run over the domain pixels only.
- Matching (``hungarian_match``): IoU and Dice matrices (K x M, float32) over ALL K channels, an
  empty channel scoring IoU 0 and Dice 0 against every GT mask; ``linear_sum_assignment`` on
  ``1 - IoU`` (float32) picks min(K, M) pairs; ``matched_mean_iou`` (our ``miou_matched``) and
  ``matched_mean_dice`` are means over those pairs, ``panoptic_iou`` / ``panoptic_dice`` their
  sums / max(K, M). K = 0 or M = 0: all four are 0.0.
- ARI (``adjusted_rand_index``): sklearn's ``adjusted_rand_score`` of the GT class map (0 =
  background, j + 1 = mask j) and the argmax map (dustbin a label) over all pixels; 0.0 when
  M = 0. With K = 0 every pixel is dustbin: 1.0 if the GT is one cluster, else 0.0.
- ``bg_coverage`` (our ``dustbin_share``): share of pixels on the dustbin (1.0 when K = 0). Ours
  is 0.0 for an image without pixels (theirs: NaN).
- Per-sample values; their run means (``aggregate_run``) average only the images scored "ok".
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmark.metrics.contingency import ari_from_table

#: Keys whose value follows the authors' convention when ``n_pred`` is given.
DETECTURE_KEYS: tuple[str, ...] = (
    "miou_matched",
    "iou_panoptic",
    "ari",
    "dice_matched",
    "dice_panoptic",
    "dustbin_share",
)


def channel_scores(table: np.ndarray, channels: np.ndarray, n_pred: int) -> dict[str, float]:
    """The authors' per-sample scores from one image's domain contingency table.

    table: (1 + M) x (1 + P) int counts, rows = GT 0 then the M GT regions, columns = dustbin
    (label 0) then the P predicted labels present; ``channels[j]`` is the label (1..n_pred) of
    column j + 1. n_pred: K, the number of channels the method produced (present or not).
    Returns the :data:`DETECTURE_KEYS`.
    """
    t = np.asarray(table, dtype=np.int64)
    k, m = int(n_pred), t.shape[0] - 1
    n = int(t.sum())
    inter = np.zeros((k, m), np.int64)  # channel x GT region, absent channels all zero
    inter[np.asarray(channels, dtype=np.intp) - 1] = t[1:, 1:].T
    channel_size = np.zeros(k, np.int64)
    channel_size[np.asarray(channels, dtype=np.intp) - 1] = t[:, 1:].sum(axis=0)
    gt_size = t[1:].sum(axis=1)
    out = dict.fromkeys(("miou_matched", "iou_panoptic", "dice_matched", "dice_panoptic"), 0.0)
    if k > 0 and m > 0:
        total = channel_size[:, None] + gt_size[None, :]  # > 0: a GT region is never empty
        iou = (inter / (total - inter)).astype(np.float32)  # float64 ratio stored as float32
        dice = (2.0 * inter / total).astype(np.float32)
        rows, cols = linear_sum_assignment(1.0 - iou)  # float32 cost, minimised
        ious = [float(iou[r, c]) for r, c in zip(rows, cols)]
        dices = [float(dice[r, c]) for r, c in zip(rows, cols)]
        out["miou_matched"] = float(np.mean(ious))
        out["iou_panoptic"] = float(sum(ious) / max(k, m))
        out["dice_matched"] = float(np.mean(dices))
        out["dice_panoptic"] = float(sum(dices) / max(k, m))
    out["ari"] = float(ari_from_table(t)) if m > 0 else 0.0
    out["dustbin_share"] = float(t[:, 0].sum() / n) if n > 0 else 0.0
    return {key: out[key] for key in DETECTURE_KEYS}
