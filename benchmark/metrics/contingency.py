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


def _codes(arr: np.ndarray, inside: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """H x W compact codes (small dtype) and the id of each code; code 0 is always id 0.

    Ids below 256 are used as codes directly (uint8; absent codes are dropped from the joint
    histogram later), so the common maps need no compaction pass at all; larger ids are
    compacted through ``np.bincount`` and a numpy lookup table (``np.unique`` above 2**20).
    ``inside``: optional H x W uint8 0/1 map; codes are 0 where it is 0 (one multiply, fused
    with the cast to uint8 for small ids).
    """
    if arr.size == 0:
        return arr.astype(np.uint8), np.zeros(1, dtype=np.int64)
    top = int(arr.max())
    if top < 256:  # small ids are their own codes
        ids = np.arange(top + 1, dtype=np.int64)
        if inside is None:
            return arr.astype(np.uint8), ids
        return np.multiply(arr, inside, dtype=np.uint8, casting="unsafe"), ids  # exact: ids < 256
    flat = _flat_intp(arr)
    ids = present_ids(flat)
    if ids[0] != 0:
        ids = np.concatenate([[0], ids])
    codes = small_codes(encode(flat, ids, np.arange(len(ids)), default=0), len(ids)).reshape(arr.shape)
    if inside is not None:
        np.multiply(codes, inside, out=codes)
    return codes, ids


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
    ignored = False  # some GT pixel equals ignore_index (GT 0 needs no zeroing: it is 0)
    if ignore_index is not None and ignore_index != 0:
        ign = gt == ignore_index
        ignored = bool(ign.any())
        if ignored:
            outside = ign if outside is None else outside | ign
    if outside is not None and not outside.any():
        outside = None
    inside = None if outside is None else np.logical_not(outside).view(np.uint8)  # 0/1
    gt_codes, gt_ids = _codes(gt, inside if ignored else None)
    pred_codes, pred_ids = _codes(pred, inside)
    return Domain(gt_codes, pred_codes, gt_ids, pred_ids, outside, background)


def joint_counts(dom: Domain, flags: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint histogram of the domain pixels in one pass, restricted to the codes present.

    flags: None, or an H x W uint8 map with values 0..3 (``2 * gt_flag + pred_flag``).
    Returns ``(counts, g_codes, p_codes)``: ``g_codes`` / ``p_codes`` are code 0 followed by
    every other code that has a domain pixel (ascending); ``counts[i, j, f]`` (int64, shape
    len(g_codes) x len(p_codes) x nf, nf = 4 with flags else 1) counts domain pixels with GT
    code ``g_codes[i]``, predicted code ``p_codes[j]`` and flag value f. In void mode row 0 is
    all zero (GT 0 is outside); in background mode it counts GT-0 pixels.

    8-bit codes go through one OpenCV histogram (a 16-bit joint key when the table has at most
    65536 cells, else a 2-D/3-D histogram of the planes; float32 counts are exact below 2**24);
    other codes through ``np.bincount``.
    """
    ng, npc = dom.n_gt_codes, dom.n_pred_codes
    nf = 1 if flags is None else 4
    g, p = dom.gt_codes, dom.pred_codes
    ignored = dom.background and dom.outside is not None  # ignored pixels in background mode
    if g.size == 0:
        hist = np.zeros((ng, npc, nf), np.int64)
    elif g.dtype == np.uint8 and p.dtype == np.uint8 and g.size < (1 << 24):
        mask = (~dom.outside).view(np.uint8) if ignored else None
        n = ng * npc * nf
        if n <= 65536:
            key = np.multiply(g, npc * nf, dtype=np.uint16)  # < n <= 65536: no overflow
            key += np.multiply(p, nf, dtype=np.uint16) if flags is not None else p
            if flags is not None:
                key += flags
            hist = _hist16(key, mask, n)
        else:
            planes, sizes = [g, p], [ng, npc]
            if flags is not None:
                planes.append(flags)
                sizes.append(nf)
            ranges = [v for size in sizes for v in (0, size)]
            hist = cv2.calcHist(planes, list(range(len(planes))), mask, sizes, ranges)
        hist = hist.reshape(ng, npc, nf)
    else:
        idx = g.ravel().astype(np.intp)
        if ignored:
            idx[dom.outside.ravel()] = ng  # a row that is dropped
        idx *= npc
        idx += p.ravel()
        if flags is not None:
            idx *= nf
            idx += flags.ravel()
        hist = np.bincount(idx, minlength=(ng + 1) * npc * nf)[: ng * npc * nf].reshape(ng, npc, nf)
    if not dom.background:
        hist[0] = 0  # void mode: code 0 holds exactly the pixels outside the domain
    flat = hist.reshape(ng, npc * nf)  # counts are >= 0: max > 0 <=> some count (fast reductions)
    rows = flat.max(axis=1) > 0
    cols = flat.max(axis=0).reshape(npc, nf).max(axis=1) > 0
    rows[0] = cols[0] = True
    g_codes, p_codes = np.flatnonzero(rows), np.flatnonzero(cols)
    counts = hist[np.ix_(g_codes, p_codes)]
    if counts.dtype != np.int64:
        counts = np.rint(counts).astype(np.int64)
    return counts, g_codes, p_codes


def _hist16(key: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    """OpenCV histogram of an H x W uint16 key with n unit bins (float32 counts).

    Without a mask the four quarters of the rows are interleaved first (one 4-channel merge):
    neighbouring pixels mostly share a key, and consecutive increments of one bin are what
    makes a histogram loop slow.
    """
    q = key.shape[0] // 4
    if mask is not None or q == 0:
        return cv2.calcHist([key], [0], mask, [n], [0, n])
    merged = cv2.merge([key[i * q : (i + 1) * q] for i in range(4)])
    hist = cv2.calcHist([merged.reshape(q, -1)], [0], None, [n], [0, n])
    if 4 * q < key.shape[0]:
        hist += cv2.calcHist([key[4 * q :]], [0], None, [n], [0, n])
    return hist


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
