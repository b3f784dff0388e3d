"""Label codes, the evaluation domain and the one contingency table per image.

Everything here is pure numpy. A label map is an H x W array of non-negative integers of any
integer dtype (bool, uint8, uint16, int32, int64, ...); ids need not be contiguous.

The table-level functions (:func:`ari_from_table`, :func:`vi_from_table`) take a 2-D count
matrix (rows = one labelling, columns = the other) so that every region metric of an image is
computed from a single ``np.bincount`` pass over the pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from textureade.types import ValidationError

GT_ZERO_MODES = ("void", "background")


def _as_labels(arr: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise ValidationError(f"{name} must be an H x W label map, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.view(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValidationError(f"{name} must hold integers, got {arr.dtype}")
    if arr.size and np.issubdtype(arr.dtype, np.signedinteger) and int(arr.min()) < 0:
        raise ValidationError(f"{name} has negative ids")
    return arr


def label_codes(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H x W codes 0..n-1 and ``ids`` (int64, sorted, ``ids[c]`` = original id of code c).

    Code 0 is always id 0 (present or not). Maps whose ids are all below 256 keep their ids as
    codes (uint8; ``ids = 0..max``, absent ids simply have no pixel); other maps are compacted
    with ``np.unique`` (uint16 codes, int32 past 65536 distinct ids).
    """
    if arr.size == 0:
        return np.zeros(arr.shape, np.uint8), np.zeros(1, dtype=np.int64)
    top = int(arr.max())
    if top < 256:
        return arr.astype(np.uint8), np.arange(top + 1, dtype=np.int64)
    ids, inverse = np.unique(arr, return_inverse=True)
    ids = ids.astype(np.int64)
    if ids[0] != 0:
        ids = np.concatenate([[0], ids])
        inverse = inverse + 1
    dtype = np.uint16 if len(ids) <= 65536 else np.int32
    return inverse.reshape(arr.shape).astype(dtype), ids


@dataclass
class Domain:
    """One image pair as code maps over its evaluation domain.

    gt_codes / pred_codes: H x W codes from :func:`label_codes` (``gt_ids[c]`` / ``pred_ids[c]``
    give the original id of code c; a code may have no pixel). Both maps are 0 outside the
    domain (the DAVIS void rule), so they are the zeroed maps the boundary metrics use.
    ``outside``: H x W bool of pixels outside the domain, or None when every pixel is inside.
    background: GT 0 is a cluster inside the domain.
    """

    gt_codes: np.ndarray
    pred_codes: np.ndarray
    gt_ids: np.ndarray
    pred_ids: np.ndarray
    outside: np.ndarray | None
    background: bool

    @property
    def n_gt_codes(self) -> int:
        return len(self.gt_ids)

    @property
    def n_pred_codes(self) -> int:
        return len(self.pred_ids)


def build_domain(
    pred: np.ndarray, gt: np.ndarray, ignore_index: int | None = None, gt_zero: str = "void"
) -> Domain:
    """Validate and encode a (pred, gt) pair; zero both maps outside the evaluation domain.

    Domain: pixels where ``gt != ignore_index`` and, in ``gt_zero="void"`` mode, ``gt != 0``
    (``ignore_index=0`` means void mode whatever ``gt_zero`` says).
    """
    pred = _as_labels(pred, "prediction")
    gt = _as_labels(gt, "ground truth")
    if pred.shape != gt.shape:
        raise ValidationError(
            f"prediction is {pred.shape[1]}x{pred.shape[0]} but the ground truth is {gt.shape[1]}x{gt.shape[0]}"
        )
    if gt_zero not in GT_ZERO_MODES:
        raise ValidationError(f"gt_zero must be one of {GT_ZERO_MODES}, got {gt_zero!r}")
    background = gt_zero == "background" and ignore_index != 0
    outside = None if background else gt == 0
    if ignore_index is not None and ignore_index != 0:
        ignored = gt == ignore_index
        outside = ignored if outside is None else outside | ignored
    if outside is not None and not outside.any():
        outside = None
    gt_codes, gt_ids = label_codes(gt)
    pred_codes, pred_ids = label_codes(pred)
    if outside is not None:  # codes *= inside (0/1); both are fresh arrays
        inside = np.logical_not(outside).view(np.uint8)
        np.multiply(gt_codes, inside, out=gt_codes, casting="unsafe")
        np.multiply(pred_codes, inside, out=pred_codes, casting="unsafe")
    return Domain(gt_codes, pred_codes, gt_ids, pred_ids, outside, background)


def joint_counts(dom: Domain, flags: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint histogram of the domain pixels in one pass, restricted to the codes present.

    flags: None, or an H x W uint8 map with values 0..3 (``2 * gt_flag + pred_flag``).
    Returns ``(counts, g_codes, p_codes)``: ``g_codes`` / ``p_codes`` are code 0 followed by
    every other code that has a domain pixel (ascending); ``counts[i, j, f]`` (int64, shape
    len(g_codes) x len(p_codes) x nf, nf = 4 with flags else 1) counts domain pixels with GT
    code ``g_codes[i]``, predicted code ``p_codes[j]`` and flag value f. In void mode row 0 is
    all zero (GT 0 is outside); in background mode it counts GT-0 pixels.

    8-bit codes go through one OpenCV histogram of the planes (gt, pred[, flags]) masked to the
    domain (twice as fast as ``np.bincount``, which the >= 20x target of
    ``benchmarks/metrics.py`` needs; float32 counts, exact below 2**24 pixels); wider codes
    and larger images through ``np.bincount`` of one combined index.
    """
    ng, npc = dom.n_gt_codes, dom.n_pred_codes
    nf = 1 if flags is None else 4
    g, p = dom.gt_codes, dom.pred_codes
    planes = [g, p] if flags is None else [g, p, flags]
    if g.dtype == np.uint8 and p.dtype == np.uint8 and 0 < g.size < (1 << 24):
        inside = None if dom.outside is None else np.logical_not(dom.outside).view(np.uint8)
        sizes = [ng, npc, nf][: len(planes)]
        ranges = [v for size in sizes for v in (0, size)]
        hist = cv2.calcHist(planes, list(range(len(planes))), inside, sizes, ranges)
        hist = np.rint(hist).astype(np.int64).reshape(ng, npc, nf)
    else:
        index = g.astype(np.intp) * (npc * nf) + p.astype(np.intp) * nf
        if flags is not None:
            index += flags
        if dom.outside is not None:
            index[dom.outside] = ng * npc * nf  # one more bin, dropped below
        hist = np.bincount(index.ravel(), minlength=ng * npc * nf + 1)[:-1].reshape(ng, npc, nf)
    rows = hist.any(axis=(1, 2))
    cols = hist.any(axis=(0, 2))
    rows[0] = cols[0] = True
    g_codes, p_codes = np.flatnonzero(rows), np.flatnonzero(cols)
    return hist[np.ix_(g_codes, p_codes)], g_codes, p_codes


def ari_from_table(table: np.ndarray) -> float:
    """Adjusted Rand index from a contingency table, as sklearn's ``adjusted_rand_score``.

    Pair counts come from the table (no pair loop) and the final expression is evaluated in
    Python integers exactly as sklearn does: 1.0 when there are no disagreeing pairs
    (``fn == fp == 0``, which includes N <= 1 and identical labellings).
    """
    t = np.asarray(table, dtype=np.int64)
    n = int(t.sum())
    sum_sq = int(np.sum(t * t, dtype=np.int64))
    rows = t.sum(axis=1)
    cols = t.sum(axis=0)
    # sklearn's pair_confusion_matrix, in ordered-pair counts.
    c11 = sum_sq - n
    c01 = int(np.sum(cols * cols, dtype=np.int64)) - sum_sq
    c10 = int(np.sum(rows * rows, dtype=np.int64)) - sum_sq
    c00 = n * n - c01 - c10 - sum_sq
    tn, fp, fn, tp = c00, c01, c10, c11
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def _entropy(counts: np.ndarray, n: int) -> float:
    c = counts[counts > 0].astype(np.float64)
    if n == 0 or c.size == 0:
        return 0.0
    return float(math.log(n) - np.sum(c * np.log(c)) / n)


def conditional_entropies(table: np.ndarray) -> tuple[float, float]:
    """(H(rows | cols), H(cols | rows)) in nats from a contingency table (0 for an empty table)."""
    t = np.asarray(table, dtype=np.int64)
    n = int(t.sum())
    h_joint = _entropy(t.ravel(), n)
    h_rows = _entropy(t.sum(axis=1), n)
    h_cols = _entropy(t.sum(axis=0), n)
    return max(h_joint - h_cols, 0.0), max(h_joint - h_rows, 0.0)


def vi_from_table(table: np.ndarray) -> float:
    """Variation of information H(G|S) + H(S|G) in nats (natural log) from a contingency table.

    ``skimage.metrics.variation_of_information`` returns the same two entropies in bits, so this
    equals ln(2) times the sum of its two values.
    """
    a, b = conditional_entropies(table)
    return a + b


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense contingency table of two equally shaped integer labellings (any ids): rows are the
    sorted distinct values of ``a``, columns those of ``b``."""
    a = np.asarray(a).ravel()
    b = np.asarray(b).ravel()
    if a.shape != b.shape:
        raise ValidationError(f"labellings differ in size: {a.size} vs {b.size}")
    if a.size == 0:
        return np.zeros((0, 0), dtype=np.int64)
    ia, ca = np.unique(a, return_inverse=True)
    ib, cb = np.unique(b, return_inverse=True)
    cells = ca.astype(np.intp) * len(ib) + cb
    return np.bincount(cells, minlength=len(ia) * len(ib)).reshape(len(ia), len(ib))


def adjusted_rand_index(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """ARI of two labellings of the same items, every label (0 included) a cluster (= sklearn)."""
    return ari_from_table(contingency(labels_true, labels_pred))


def variation_of_information(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """VI (nats) of two labellings of the same items, every label (0 included) a cluster."""
    return vi_from_table(contingency(labels_true, labels_pred))
