"""Per-image partition and boundary metrics of a predicted label map against a GT label map.

Conventions (shared by every key; see :func:`score_partition`):

- Label maps are H x W non-negative integers of any integer dtype; ids need not be contiguous
  and carry no class meaning. A region is the set of domain pixels with one non-zero id; an id
  absent from the domain is not a region.
- Evaluation domain: pixels whose GT is not ``ignore_index`` and, with ``gt_zero="void"``
  (default, the Detecture dustbin read as "unlabelled"), whose GT is not 0. With
  ``gt_zero="background"`` (the Detecture evaluation code's convention) GT-0 pixels stay in the
  domain as unlabelled background: never a GT region, but predicted pixels there enlarge the
  predicted region's area and GT 0 is one cluster for ARI/VI.
- Outside the domain both maps are set to 0 before anything is computed (the DAVIS void rule),
  so a predicted region lying entirely outside the domain does not exist.
- Predicted 0 = unassigned: it belongs to no predicted region (never matched, never covers),
  and for ARI/VI all unassigned domain pixels form ONE extra cluster, as Detecture's dustbin
  channel does (so ``ari`` = ``sklearn.metrics.adjusted_rand_score(gt[dom], pred[dom])``
  whenever P > 0; see the empty-map rules for P = 0).
- Empty maps: G = number of GT regions, P = number of predicted regions.
  G = 0 and P = 0 (nothing to find, nothing predicted): every higher-is-better key is 1.0 and
  ``vi`` / ``vi_bits`` are 0.0. P = 0 < G (empty prediction): scored as a failure,
  :func:`score_failure` (every higher-is-better key 0.0, ``vi = ln N``, ``vi_bits = log2 N``,
  N = domain pixels), even where a formula would
  reward it (sklearn gives ARI 1.0 and DAVIS gives F 1.0 for a one-region GT that covers the
  image). G = 0 < P (background mode only): region-matching keys are 0.0, ``ari``, ``vi``,
  ``vi_bits`` and ``boundary_f`` follow their formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from benchmark.metrics.boundary import (
    boundary_f_counts,
    boundary_iou_dilation,
    davis_bound_pix,
    davis_boundary_map,
    f_from_counts,
    region_boundary_flags,
)
from benchmark.metrics.contingency import Domain, ari_from_table, build_domain, joint_counts, vi_from_table
from benchmark.metrics.detecture import channel_scores
from textureade.iou_matching import iou_matching
from textureade.types import ValidationError

#: Quality metrics returned by :func:`score_partition`, in report order.
METRIC_KEYS: tuple[str, ...] = (
    "miou_matched",
    "iou_panoptic",
    "miou_many_to_one",
    "ari",
    "vi",
    "vi_bits",
    "covering",
    "pixel_acc_matched",
    "boundary_f",
    "boundary_iou",
)
#: Region counts returned beside the metrics (not quality scores).
COUNT_KEYS: tuple[str, ...] = ("n_gt", "n_pred")
#: Every key of :func:`score_partition`'s dict.
SCORE_KEYS: tuple[str, ...] = METRIC_KEYS + COUNT_KEYS
#: Lower-is-better metrics: VI (a distance), in nats and in bits.
LOWER_IS_BETTER: frozenset[str] = frozenset({"vi", "vi_bits"})
#: Direction of each metric.
HIGHER_IS_BETTER: dict[str, bool] = {k: k not in LOWER_IS_BETTER for k in METRIC_KEYS}
_LN2 = math.log(2.0)


@dataclass
class PartitionStats:
    """Per-image scores plus the sufficient statistics the dataset-level (pooled) variants sum.

    matched_iou_sum / n_matched / max_gp: sum of Hungarian-matched IoUs, number of matched
    pairs, max(G, P). covering_num / covering_den: sum_R |R| max_S IoU(R, S) and sum_R |R|.
    correct / n_pixels: matched-correct pixels and domain pixels. bf_*: DAVIS counts
    (pred boundary near GT, pred boundary, GT boundary near pred, GT boundary).
    biou_inter / biou_union: summed Boundary-IoU intersections and unions of matched pairs.
    assignment: the Hungarian pairs as (GT id, predicted id), original label values.
    """

    scores: dict[str, float]
    matched_iou_sum: float = 0.0
    n_matched: int = 0
    max_gp: int = 0
    covering_num: float = 0.0
    covering_den: int = 0
    correct: int = 0
    n_pixels: int = 0
    bf_fg_match: int = 0
    bf_n_fg: int = 0
    bf_gt_match: int = 0
    bf_n_gt: int = 0
    biou_inter: int = 0
    biou_union: int = 0
    assignment: list[tuple[int, int]] = field(default_factory=list)


def _failure_scores(n_gt: int, n_pixels: int) -> dict[str, float]:
    scores = {k: 0.0 for k in METRIC_KEYS}
    scores["vi"] = math.log(n_pixels) if n_pixels > 0 else 0.0
    scores["vi_bits"] = math.log2(n_pixels) if n_pixels > 0 else 0.0
    scores["n_gt"] = float(n_gt)
    scores["n_pred"] = 0.0
    return scores


def partition_stats(
    pred: np.ndarray,
    gt: np.ndarray,
    ignore_index: int | None = None,
    *,
    gt_zero: str = "void",
    bound_th: float = 0.008,
    dilation_ratio: float = 0.02,
    n_pred: int | None = None,
) -> PartitionStats:
    """:func:`score_partition` plus the sums the pooled dataset-level variants need.

    The sums always follow our convention (matching over the predicted regions present), also
    when ``n_pred`` switches the per-image keys of :data:`DETECTURE_KEYS` to the authors'.
    """
    if n_pred is not None:
        _check_channels(pred, n_pred)
    dom = build_domain(pred, gt, ignore_index, gt_zero)
    stats, table, p_codes = _stats(dom, bound_th, dilation_ratio)
    if n_pred is not None:
        stats.scores = {**stats.scores, **channel_scores(table, dom.pred_ids[p_codes[1:]], n_pred)}
    return stats


def _check_channels(pred: np.ndarray, n_pred: int) -> None:
    if isinstance(n_pred, bool) or not isinstance(n_pred, (int, np.integer)) or n_pred < 0:
        raise ValidationError(f"n_pred must be a channel count >= 0, got {n_pred!r}")
    top = int(np.max(pred)) if np.size(pred) else 0
    if top > n_pred:
        raise ValidationError(f"prediction has label {top} but the method produced {n_pred} channels")


def _stats(
    dom: Domain, bound_th: float, dilation_ratio: float
) -> tuple[PartitionStats, np.ndarray, np.ndarray]:
    """Our per-image scores and sums, the domain table and its predicted codes (column order)."""
    shape = dom.gt_codes.shape
    d = boundary_iou_dilation(shape, dilation_ratio)
    radius = davis_bound_pix(shape, bound_th)
    gt_b = davis_boundary_map(dom.gt_codes)  # DAVIS boundary maps, used below too
    pred_b = davis_boundary_map(dom.pred_codes)
    flags = 2 * region_boundary_flags(gt_b, d) + region_boundary_flags(pred_b, d)  # Boundary-IoU flags
    # quad[i, j, 2 gt flag + pred flag]; rows/cols: code 0 then the codes present in the domain.
    quad, g_codes, p_codes = joint_counts(dom, flags)
    rows_g, cols_p = g_codes[1:], p_codes[1:]  # GT regions / predicted regions (codes)
    n_g, n_p = len(rows_g), len(cols_p)
    # Domain table: [GT 0 (background mode) + GT regions] x [unassigned + predicted regions].
    t = quad.sum(axis=2)
    n = int(t.sum())
    stats = PartitionStats(scores={}, n_pixels=n, max_gp=max(n_g, n_p))
    if n_g == 0 and n_p == 0:
        stats.scores = {k: 1.0 for k in METRIC_KEYS}
        stats.scores.update(vi=0.0, vi_bits=0.0, n_gt=0.0, n_pred=0.0)
        stats.correct = n
        return stats, t, p_codes
    if n_p == 0:
        stats.scores = _failure_scores(n_g, n)
        stats.covering_den = int(t[1:].sum())
        stats.bf_n_gt = int(np.count_nonzero(gt_b))
        return stats, t, p_codes

    inter = t[1:, 1:].astype(np.float64)  # G x P
    gsize = t[1:].sum(axis=1).astype(np.float64)
    psize = t[:, 1:].sum(axis=0).astype(np.float64)
    iou, rows, cols = iou_matching(inter, gsize, psize)  # the Hungarian pairs (none when G = 0)

    s: dict[str, float] = {}
    if n_g > 0:
        matched = iou[rows, cols]
        stats.assignment = [
            (int(dom.gt_ids[rows_g[r]]), int(dom.pred_ids[cols_p[c]])) for r, c in zip(rows, cols)
        ]
        stats.matched_iou_sum = float(matched.sum())
        stats.n_matched = len(matched)
        s["miou_matched"] = float(matched.mean())
        s["iou_panoptic"] = float(matched.sum() / max(n_g, n_p))
        # Many-to-one: each predicted region takes the GT region it overlaps most (lowest id
        # on ties, none without overlap); then IoU per GT region, mean over GT regions.
        best = np.argmax(inter, axis=0)
        has = inter[best, np.arange(n_p)] > 0
        i_g = np.zeros(n_g)
        p_g = np.zeros(n_g)
        np.add.at(i_g, best[has], inter[best[has], np.flatnonzero(has)])
        np.add.at(p_g, best[has], psize[has])
        s["miou_many_to_one"] = float(np.mean(i_g / (gsize + p_g - i_g)))
        cov_num = float(np.sum(gsize * iou.max(axis=1)))
        stats.covering_num, stats.covering_den = cov_num, int(gsize.sum())
        s["covering"] = cov_num / float(gsize.sum())
        correct = int(inter[rows, cols].sum())
        if dom.background:
            correct += int(t[0, 0])
        stats.correct = correct
        s["pixel_acc_matched"] = correct / n
    else:  # background mode, no GT region, P > 0
        for k in ("miou_matched", "iou_panoptic", "miou_many_to_one", "covering"):
            s[k] = 0.0
        stats.correct = int(t[0, 0])
        s["pixel_acc_matched"] = stats.correct / n

    # ARI / VI over the domain table (GT-0 row all zero in void mode; the unassigned column is
    # one cluster).
    s["ari"] = float(ari_from_table(t))
    s["vi"] = float(vi_from_table(t))
    s["vi_bits"] = s["vi"] / _LN2

    # Boundary F (DAVIS) on the zeroed label maps.
    fg_match, n_fg, gt_match, n_gtb = boundary_f_counts(pred_b, gt_b, radius)
    stats.bf_fg_match, stats.bf_n_fg, stats.bf_gt_match, stats.bf_n_gt = fg_match, n_fg, gt_match, n_gtb
    s["boundary_f"] = f_from_counts(fg_match, n_fg, gt_match, n_gtb)

    # Boundary IoU (Cheng et al.) per Hungarian-matched pair, mean over pairs.
    if n_g > 0:
        gi, pi = rows + 1, cols + 1  # positions in the table (row/column 0: GT 0 / unassigned)
        bi = quad[gi, pi, 3].astype(np.float64)
        b_g = quad[:, :, 2:].sum(axis=(1, 2))
        b_p = quad[:, :, 1::2].sum(axis=(0, 2))
        bu = b_g[gi] + b_p[pi] - bi
        stats.biou_inter, stats.biou_union = int(bi.sum()), int(bu.sum())
        s["boundary_iou"] = float(np.mean(bi / bu))
    else:
        s["boundary_iou"] = 0.0

    s["n_gt"] = float(n_g)
    s["n_pred"] = float(n_p)
    stats.scores = {k: s[k] for k in SCORE_KEYS}
    return stats, t, p_codes


def score_partition(
    pred: np.ndarray,
    gt: np.ndarray,
    ignore_index: int | None = None,
    *,
    gt_zero: str = "void",
    bound_th: float = 0.008,
    dilation_ratio: float = 0.02,
    n_pred: int | None = None,
) -> dict[str, float]:
    """Every partition and boundary metric of one image, from one contingency table.

    pred, gt: H x W non-negative integer label maps (uint8/uint16/int32/...; any ids). GT 0 is
    unlabelled: excluded from the domain (``gt_zero="void"``, default) or kept as background
    (``gt_zero="background"``, Detecture's evaluation code). ``ignore_index``: one more GT value
    excluded from the domain. Pred 0 = unassigned (no region; one cluster for ARI/VI).

    Two conventions for the matched keys:
    - ``n_pred=None`` (default, ours): the regions are the predicted labels present; a channel
      the method left empty does not exist, so it is never matched and does not count in
      max(G, P). Every key below follows this convention.
    - ``n_pred=K`` (the Detecture authors' ``metrics_utils.compute_sample_metrics``; labels 1..K
      are the method's K channels, 0 its dustbin): ``miou_matched``, ``iou_panoptic`` and
      ``ari`` take the authors' values and ``dice_matched``, ``dice_panoptic`` and
      ``dustbin_share`` are added (:data:`benchmark.metrics.detecture.DETECTURE_KEYS`): matching
      over all K channels (an empty channel scores IoU 0; IoU and Dice held in float32),
      ``iou_panoptic`` = matched sum / max(K, M); with no GT region or K = 0 the four matched
      values are 0.0, and ``ari`` is 0.0 with no GT region. Exact (1e-6) with
      ``gt_zero="background"`` and no ``ignore_index``; the facts and their sources are in
      :mod:`benchmark.metrics.detecture`. Example: GT halves, channel 1 covering one half
      and 60% of the other (IoU 0.625), channel 2 empty: ours 0.625, theirs (0.625 + 0) / 2 =
      0.3125. The other keys keep our convention; a label above K is an error.

    Keys (per image; G GT regions, P predicted regions, IoU over domain pixels):
    - ``miou_matched``: Hungarian assignment maximising total IoU (scipy
      ``linear_sum_assignment``), mean IoU over the min(G, P) matched pairs (Detecture's mIoU).
    - ``iou_panoptic``: sum of matched IoUs / max(G, P).
    - ``miou_many_to_one``: each predicted region takes the GT region it overlaps most (lowest
      GT id on ties; unassigned if it overlaps none); IoU of each GT region with the union of
      the regions given its label; mean over the G GT regions (TextureSAM ``eval_agg_masks``;
      regions of a partition do not overlap, so painting order does not matter).
    - ``ari``: adjusted Rand index over domain pixels (= sklearn ``adjusted_rand_score``).
    - ``vi``: variation of information H(G|S) + H(S|G) in nats (natural log) over domain
      pixels. skimage's ``variation_of_information`` returns the two conditional entropies in
      bits (log2, checked on skimage 0.26), so ``vi == ln(2) * sum(skimage's pair)``; BSDS
      reports bits too. Lower is better.
    - ``vi_bits``: the same VI in bits, ``vi / ln(2)``: equals the sum of the two values
      ``skimage.metrics.variation_of_information(gt[dom], pred[dom])`` returns (BSDS's unit).
      Lower is better.
    - ``covering``: BSDS region covering GT -> prediction, sum_R |R| max_S IoU(R, S) / sum_R |R|.
    - ``pixel_acc_matched``: share of domain pixels whose predicted region is the one matched
      to their GT region (background mode: GT-0 pixels are right when unassigned).
    - ``boundary_f``: DAVIS F-measure of the two label maps' boundary maps (see
      :mod:`benchmark.metrics.boundary`), tolerance ceil(bound_th * diagonal).
    - ``boundary_iou``: Boundary IoU (Cheng et al.), d = max(1, round(dilation_ratio *
      diagonal)), mean over the Hungarian-matched pairs. A region is never empty, so neither is
      its boundary: a pair's union is never 0; with no matched pair the value follows the
      empty-map rules in the module docstring (both maps empty -> 1.0, one empty -> 0.0).
    - ``n_gt`` / ``n_pred``: G and P (as floats).

    Empty maps: see the module docstring. Returns a dict with :data:`SCORE_KEYS` (plus
    ``dice_matched``, ``dice_panoptic``, ``dustbin_share`` when ``n_pred`` is given).
    """
    return partition_stats(
        pred,
        gt,
        ignore_index,
        gt_zero=gt_zero,
        bound_th=bound_th,
        dilation_ratio=dilation_ratio,
        n_pred=n_pred,
    ).scores


def score_failure(
    gt: np.ndarray,
    ignore_index: int | None = None,
    *,
    gt_zero: str = "void",
    bound_th: float = 0.008,
    dilation_ratio: float = 0.02,
) -> dict[str, float]:
    """Scores of an image the method failed on (no prediction, or an unusable one).

    Every higher-is-better metric is 0.0; ``vi`` is ln(N) and ``vi_bits`` log2(N) with N the number
    of domain pixels (the largest VI any two partitions of N pixels can have, so a failure never
    beats a real prediction; 0.0 when N = 0); ``n_gt`` = G, ``n_pred`` = 0. Equals
    ``score_partition(np.zeros_like(gt), gt, ...)`` whenever the GT has a region.

    Takes the options of :func:`score_partition` (a dataset's ``scoring``), so that a caller scores
    its failures with the options it scores predictions with: ``ignore_index`` and ``gt_zero`` set
    the domain (N and G); the boundary tolerances change nothing here (a failure's F is 0).
    """
    del bound_th, dilation_ratio  # a failure has no boundaries to match
    dom = build_domain(np.zeros(np.shape(gt), dtype=np.uint8), gt, ignore_index, gt_zero)
    t, g_codes, _ = joint_counts(dom)
    return _failure_scores(len(g_codes) - 1, int(t.sum()))
