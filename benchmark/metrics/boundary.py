"""Boundary maps and boundary statistics, computed once per label map (never once per region).

Two published definitions, both on H x W label maps whose void pixels were already set to 0:

- DAVIS boundary F-measure (Perazzi et al. 2016, ``davis2017`` ``f_measure``/``_seg2bmap``): a
  pixel is on the boundary when its label differs from its right, bottom or bottom-right
  neighbour; in the last row only the right neighbour counts, in the last column only the
  bottom one, and the bottom-right corner pixel is never a boundary. Tolerance
  ``bound_pix = bound_th`` if ``bound_th >= 1`` else ``ceil(bound_th * sqrt(H^2 + W^2))``; each
  boundary map is dilated with ``skimage.morphology.disk(bound_pix)`` (x^2 + y^2 <= r^2; pixels
  outside the image never count). For a binary mask this is exactly DAVIS; for a partition
  "differs" compares labels.
- Boundary IoU (Cheng et al., CVPR 2021, ``boundary_iou_api``): ``d = max(1, round(0.02 *
  sqrt(H^2 + W^2)))`` (Python's round, half to even); a region's boundary is the mask minus its
  erosion by a 3x3 square applied d times after padding the mask by one zero pixel, so pixels
  within Chebyshev distance d of the image border count as boundary. For a partition this is
  done for all regions at once: a pixel is on its own region's boundary unless the whole
  (2d+1) x (2d+1) window around it lies inside the image and carries its label (one
  dilation of the label map's DAVIS map, see :func:`region_boundary_flags`).

The disk dilation of the DAVIS maps is the one step done on bit-packed rows (64 pixels per
word, :func:`near_count`): a plain ``cv2.dilate`` by the disk costs more than the whole rest
of ``score_partition`` and would break the >= 20x target of ``benchmarks/metrics.py``. The
tests check it against ``cv2.dilate`` and a pixel loop.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def davis_boundary_map(codes: np.ndarray) -> np.ndarray:
    """DAVIS ``_seg2bmap`` generalised to labels: H x W bool, True where the label changes.

    A pixel is set when it differs from its right, bottom or bottom-right neighbour, i.e. when
    its 2 x 2 block (cut at the image edge) holds two labels: the top row, the bottom row or
    the left column of the block changes.
    """
    c = np.asarray(codes)
    h, w = c.shape
    b = np.zeros((h, w), dtype=bool)
    if h == 0 or w == 0:
        return b
    right = c[:, :-1] != c[:, 1:]  # H x (W-1): differs from the right neighbour
    down = c[:-1] != c[1:]  # (H-1) x W: differs from the one below
    b[:-1, :-1] = right[:-1] | right[1:] | down[:, :-1]
    b[-1, :-1] = right[-1]
    b[:-1, -1] = down[:, -1]
    return b


def davis_bound_pix(shape: tuple[int, int], bound_th: float = 0.008) -> int:
    """DAVIS tolerance radius in pixels: ``bound_th`` if >= 1 else ceil(bound_th * diagonal)."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(shape[0], shape[1])))


def disk(radius: int) -> np.ndarray:
    """``skimage.morphology.disk(radius)`` (strict radius): uint8 (2r+1)^2, x^2 + y^2 <= r^2."""
    r = np.arange(-radius, radius + 1)
    return ((r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius).astype(np.uint8)


# ------------------------------------------------------------- bit rows (the disk dilation)
def _bit_rows(maps: list[np.ndarray], pad: int) -> tuple[np.ndarray, int]:
    """m bool H x W maps -> (m, H * n) uint64 and the row length n = ceil(W / 64) + pad words.

    Row y of map k is words ``[k, y * n : (y + 1) * n]``; pixel x is bit x % 64 of the row's
    word x // 64. Bits past column W (the last ``pad`` words at least) are 0, so moving a row by
    at most ``64 * (pad - 1)`` pixels never reaches the next row.
    """
    h, w = maps[0].shape
    n = -(-w // 64) + pad
    out = np.zeros((len(maps), h, n * 8), np.uint8)
    for k, b in enumerate(maps):
        out[k, :, : -(-w // 8)] = np.packbits(b, axis=1, bitorder="little")
    return out.view("<u8").reshape(len(maps), h * n), n


def _shift_x(a: np.ndarray, dx: int) -> np.ndarray:
    """Bit rows moved by ``dx`` pixels along x: pixel x takes the value of pixel x - dx (0 where
    that lies outside the row). Set bits may land in the row's padding words."""
    q, s = divmod(abs(dx), 64)
    if q:  # whole words first
        words = np.zeros_like(a)
        if dx > 0:
            words[:, q:] = a[:, :-q]
        else:
            words[:, :-q] = a[:, q:]
        a = words
    if s == 0:
        return a.copy() if q == 0 else a
    s64, carry = np.uint64(s), np.uint64(64 - s)
    if dx > 0:  # towards higher bits; the top s bits of a word carry into the next word
        out = a << s64
        out[:, 1:] |= a[:, :-1] >> carry
    else:
        out = a >> s64
        out[:, :-1] |= a[:, 1:] << carry
    return out


def _dilate_disk_rows(a: np.ndarray, n: int, radius: int) -> np.ndarray:
    """Bit rows (from :func:`_bit_rows`, row length n, ``64 * (pad - 1) >= radius``) dilated by
    ``disk(radius)``; pixels outside the image count as 0.

    The disk is, for each row offset dy in -r..r, a horizontal run of half-width
    isqrt(r^2 - dy^2): out[y] = OR over dy of (a[y + dy] dilated along x by that half-width).
    Padding bits of the result may be set (AND with a clean map before counting).
    """
    runs = [a]  # runs[w]: a dilated along x by half-width w
    for w in range(1, radius + 1):
        runs.append(runs[-1] | _shift_x(a, w) | _shift_x(a, -w))
    out = np.zeros_like(a)
    size = a.shape[1]
    for dy in range(-radius, radius + 1):
        run, k = runs[math.isqrt(radius * radius - dy * dy)], abs(dy) * n
        if k >= size:  # the offset row lies outside the image
            continue
        if dy >= 0:
            out[:, : size - k] |= run[:, k:]
        else:
            out[:, k:] |= run[:, : size - k]
    return out


def _popcount(a: np.ndarray) -> int:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return int(np.bitwise_count(a).sum(dtype=np.int64))
    return int(np.unpackbits(a.view(np.uint8)).sum(dtype=np.int64))  # pragma: no cover


def boundary_f_counts(pred_b: np.ndarray, gt_b: np.ndarray, radius: int) -> tuple[int, int, int, int]:
    """DAVIS counts of two H x W bool boundary maps:
    (pred pixels within ``disk(radius)`` of a GT pixel, pred pixels, GT pixels near pred, GT pixels).
    """
    rows, n = _bit_rows([pred_b, gt_b], pad=radius // 64 + 2)
    n_fg, n_gt = _popcount(rows[0]), _popcount(rows[1])
    if not (n_fg and n_gt):
        return 0, n_fg, 0, n_gt
    near = _dilate_disk_rows(rows, n, radius)
    return _popcount(rows[0] & near[1]), n_fg, _popcount(rows[1] & near[0]), n_gt


def f_from_counts(fg_match: float, n_fg: float, gt_match: float, n_gt: float) -> float:
    """DAVIS F from counts: both empty -> 1; pred empty -> P=1, R=0; GT empty -> P=0, R=1."""
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision, recall = fg_match / n_fg, gt_match / n_gt
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def boundary_iou_dilation(shape: tuple[int, int], dilation_ratio: float = 0.02) -> int:
    """Boundary IoU band width ``d = max(1, int(round(ratio * sqrt(H^2 + W^2))))``."""
    return max(1, int(round(dilation_ratio * math.hypot(shape[0], shape[1]))))


def region_boundary_flags(block_map: np.ndarray, d: int) -> np.ndarray:
    """H x W uint8 0/1: pixel lies on the Boundary-IoU boundary of the region carrying its label.

    ``block_map``: the label map's :func:`davis_boundary_map`. A pixel is flagged unless the
    (2d+1) x (2d+1) window centred on it is inside the image and holds a single label;
    ``flags & (codes == k)`` is then region k's boundary for every k. The window holds two labels
    exactly when it contains a 2 x 2 block with two labels, i.e. a set pixel of ``block_map``
    (a block's top-left pixel) at offsets -d..d-1: one dilation by a 2d x 2d square.
    """
    h, w = block_map.shape
    flags = np.ones((h, w), dtype=np.uint8)
    if h <= 2 * d or w <= 2 * d:
        return flags
    near = cv2.dilate(block_map.view(np.uint8), np.ones((2 * d, 2 * d), np.uint8), anchor=(d, d))
    flags[d : h - d, d : w - d] = near[d : h - d, d : w - d]
    return flags
