"""Compact label codes, the evaluation domain and the one contingency table per image.

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

#: Above this id value, codes are found with ``np.unique`` instead of a lookup table.
_LUT_MAX = 1 << 20

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


def _flat_intp(arr: np.ndarray) -> np.ndarray:
    flat = np.asarray(arr).ravel()
    return flat if flat.dtype == np.intp else flat.astype(np.intp)


def present_ids(arr: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a non-negative integer array (int64)."""
    flat = _flat_intp(arr)
    if flat.size == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(flat.max())
    if top < _LUT_MAX:
        return np.flatnonzero(np.bincount(flat, minlength=top + 1)).astype(np.int64)
    return np.unique(flat).astype(np.int64)


def encode(arr: np.ndarray, ids: np.ndarray, codes: np.ndarray, default: int) -> np.ndarray:
    """Map each value of ``arr`` to ``codes[k]`` where ``ids[k]`` equals it, else ``default``.

    ``ids`` must be sorted and unique. Returns a flat intp array (``arr.size`` long).
    """
    flat = _flat_intp(arr)
    if flat.size == 0:
        return np.zeros(0, dtype=np.intp)
    top = int(flat.max())
    codes = np.asarray(codes, dtype=np.intp)
    if top < _LUT_MAX:
        lut = np.full(top + 1, default, dtype=np.intp)
        keep = ids <= top
        lut[ids[keep]] = codes[keep]
        return np.take(lut, flat)
    if len(ids) == 0:
        return np.full(flat.shape, default, dtype=np.intp)
    pos = np.minimum(np.searchsorted(ids, flat), len(ids) - 1)
    hit = ids[pos] == flat
    return np.where(hit, codes[pos], default)


def small_codes(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """The same codes in the smallest unsigned dtype that holds ``n_codes`` values."""
    if n_codes <= 256:
        return codes.astype(np.uint8)
    if n_codes <= 65536:
        return codes.astype(np.uint16)
    return codes.astype(np.int32)


def _codes(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H x W compact codes (small dtype) and the id of each code; code 0 is always id 0.

    Ids below 128 are used as codes directly (some codes may then be absent); maps with ids
    below 256 are compacted through OpenCV's histogram and lookup table (two fast passes);
    others through ``np.bincount`` and a numpy lookup table.
    """
    if arr.size == 0:
        return arr.astype(np.uint8), np.zeros(1, dtype=np.int64)
    top = int(arr.max())
    if top < 128:  # small ids are their own codes (absent codes are dropped later)
        return arr.astype(np.uint8), np.arange(top + 1, dtype=np.int64)
    if top < 256:
        a8 = arr if arr.dtype == np.uint8 else arr.astype(np.uint8)
        a8 = np.ascontiguousarray(a8)
        hist = cv2.calcHist([a8], [0], None, [256], [0, 256]).ravel()
        ids = np.flatnonzero(hist > 0)
        if ids[0] != 0:
            ids = np.concatenate([[0], ids])
        lut = np.zeros(256, dtype=np.uint8)
        lut[ids] = np.arange(len(ids), dtype=np.uint8)
        return cv2.LUT(a8, lut), ids.astype(np.int64)
    flat = _flat_intp(arr)
    ids = present_ids(flat)
    if ids[0] != 0:
        ids = np.concatenate([[0], ids])
    codes = encode(flat, ids, np.arange(len(ids)), default=0)
    return small_codes(codes, len(ids)).reshape(arr.shape), ids


@dataclass
class Domain:
    """One image pair as compact code maps over its evaluation domain.

    gt_codes / pred_codes: H x W small unsigned codes (``n_gt_codes`` / ``n_pred_codes`` slots;
    code 0 is id 0; ``gt_ids[c]`` / ``pred_ids[c]`` give the original id of code c, and a code
    may be absent). Both maps are 0 outside the domain (the DAVIS void rule), so they are the
    zeroed maps the boundary metrics use. ``outside``: H x W bool of pixels outside the domain,
    or None when every pixel is inside. background: GT 0 is a cluster inside the domain.
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
        ign = gt == ignore_index
        outside = ign if outside is None else outside | ign
    if outside is not None and not outside.any():
        outside = None
    gt_codes, gt_ids = _codes(gt)
    pred_codes, pred_ids = _codes(pred)
    if outside is not None:
        gt_codes[outside] = 0
        pred_codes[outside] = 0
    return Domain(gt_codes, pred_codes, gt_ids, pred_ids, outside, background)


def joint_counts(
    dom: Domain, gt_flags: np.ndarray | None = None, pred_flags: np.ndarray | None = None
) -> np.ndarray:
    """Counts over domain pixels in one pass (OpenCV 2-D histogram, else ``np.bincount``).

    Without flags: the (n_gt_codes x n_pred_codes) contingency table. With two H x W bool
    flag maps: a (n_gt_codes, 2, n_pred_codes, 2) array, ``[g, gf, p, pf]`` = pixels with GT
    code g, GT flag gf, pred code p and pred flag pf; summing the flag axes gives the table.
    In void mode row 0 is all zero (GT 0 is outside); in background mode it counts GT-0 pixels.
    """
    ng, npc = dom.n_gt_codes, dom.n_pred_codes
    flags = gt_flags is not None and pred_flags is not None
    g, p = dom.gt_codes, dom.pred_codes
    if flags:  # fold each flag into its code: 2 c + f, still in the small dtype when it fits
        g = _fold(g, gt_flags, ng)
        p = _fold(p, pred_flags, npc)
    width = npc * (2 if flags else 1)
    height = ng * (2 if flags else 1)
    ignored = dom.background and dom.outside is not None  # ignored pixels in background mode
    mask = None if not ignored else (~dom.outside).view(np.uint8)
    if height * width <= 65536 and g.size < (1 << 24) and g.dtype == np.uint8 and p.dtype == np.uint8:
        # One 16-bit joint index, one OpenCV histogram (exact: float32 counts below 2**24).
        idx = g.astype(np.uint16)
        idx *= width
        idx += p
        hist = cv2.calcHist([idx], [0], mask, [height * width], [0, height * width])
        counts = np.rint(hist.ravel()).astype(np.int64)
    else:
        idx = g.ravel().astype(np.intp)
        if ignored:
            idx[dom.outside.ravel()] = height  # a row that is dropped
        idx *= width
        idx += p.ravel()
        counts = np.bincount(idx, minlength=(height + 1) * width)[: height * width]
    counts = counts.reshape(ng, 2, npc, 2) if flags else counts.reshape(ng, npc)
    counts = counts.astype(np.int64, copy=False)
    if not dom.background:
        counts[0] = 0  # void mode: code 0 holds exactly the pixels outside the domain
    return counts


def _fold(codes: np.ndarray, flag: np.ndarray, n: int) -> np.ndarray:
    """2 * code + flag (flag: bool or 0/1 uint8), in the smallest dtype that holds 2 n values."""
    f = flag.view(np.uint8) if flag.dtype == bool else flag
    if 2 * n <= 256 and codes.dtype == np.uint8:
        return cv2.add(cv2.add(codes, codes), f)  # no saturation: 2 * code + 1 < 256
    dt = np.uint16 if 2 * n <= 65536 else np.int64
    out = codes.astype(dt)
    out <<= 1
    out |= f.astype(dt, copy=False)
    return out


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
    """Dense contingency table of two equally shaped non-negative integer labellings (any ids)."""
    a = np.asarray(a).ravel()
    b = np.asarray(b).ravel()
    if a.shape != b.shape:
        raise ValidationError(f"labellings differ in size: {a.size} vs {b.size}")
    ia, ib = present_ids(a), present_ids(b)
    ca = encode(a, ia, np.arange(len(ia)), 0)
    cb = encode(b, ib, np.arange(len(ib)), 0)
    if a.size == 0:
        return np.zeros((0, 0), dtype=np.int64)
    return np.bincount(ca * len(ib) + cb, minlength=len(ia) * len(ib)).reshape(len(ia), len(ib))


def adjusted_rand_index(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """ARI of two labellings of the same items, every label (0 included) a cluster (= sklearn)."""
    return ari_from_table(contingency(labels_true, labels_pred))


def variation_of_information(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """VI (nats) of two labellings of the same items, every label (0 included) a cluster."""
    return vi_from_table(contingency(labels_true, labels_pred))
