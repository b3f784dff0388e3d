"""Boundary maps and boundary statistics, computed once per label map (never once per region).

Two published definitions, both on H x W label maps whose void pixels were already set to 0:

- DAVIS boundary F-measure (Perazzi et al. 2016, ``davis2017`` ``f_measure``/``_seg2bmap``): a
  pixel is on the boundary when its label differs from its right, bottom or bottom-right
  neighbour; in the last row only the right neighbour counts, in the last column only the
  bottom one, and the bottom-right corner pixel is never a boundary. Tolerance
  ``bound_pix = bound_th`` if ``bound_th >= 1`` else ``ceil(bound_th * sqrt(H^2 + W^2))``; each
  boundary map is dilated with ``skimage.morphology.disk(bound_pix)`` (x^2 + y^2 <= r^2). For a
  binary mask this is exactly DAVIS; for a partition "differs" compares labels.
- Boundary IoU (Cheng et al., CVPR 2021, ``boundary_iou_api``): ``d = max(1, round(0.02 *
  sqrt(H^2 + W^2)))`` (Python's round, half to even); a region's boundary is the mask minus its
  erosion by a 3x3 square applied d times after padding the mask by one zero pixel, so pixels
  within Chebyshev distance d of the image border count as boundary. For a partition this is
  done for all regions at once: a pixel is on its own region's boundary unless the whole
  (2d+1) x (2d+1) window around it lies inside the image and carries its label (one
  dilation of the label map's 2 x 2-block change map, see :func:`region_boundary_flags`).

These functions are the one-map reference forms; :func:`score_partition` runs the same
operations on both maps at once, bit-packed (:mod:`benchmark.metrics.bitpack`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def davis_boundary_map(codes: np.ndarray) -> np.ndarray:
    """DAVIS ``_seg2bmap`` generalised to labels: H x W bool, True where the label changes.

    Equivalently: the 2 x 2 block whose top-left pixel this is (cut at the image edge) holds
    more than one label; computed as a 2 x 2 min- and max-filter (OpenCV ignores pixels past
    the edge, which gives DAVIS's last-row, last-column and corner rules).
    """
    c = np.asarray(codes)
    h, w = c.shape
    if h == 0 or w == 0:
        return np.zeros((h, w), dtype=bool)
    if c.dtype in (np.uint8, np.uint16):
        k = np.ones((2, 2), np.uint8)
        lo = cv2.erode(c, k, anchor=(0, 0))
        hi = cv2.dilate(c, k, anchor=(0, 0))
        return lo != hi
    b = np.zeros((h, w), dtype=bool)
    core = c[:-1, :-1]
    b[:-1, :-1] = (core != c[:-1, 1:]) | (core != c[1:, :-1]) | (core != c[1:, 1:])
    b[-1, :-1] = c[-1, :-1] != c[-1, 1:]
    b[:-1, -1] = c[:-1, -1] != c[1:, -1]
    return b


def davis_boundary_255(codes: np.ndarray) -> np.ndarray:
    """:func:`davis_boundary_map` as uint8 0 / 255 (the layout :mod:`.bitpack` packs).

    A 2 x 2 block holds two labels exactly when its top row, its bottom row or its left column
    changes, so the map is the OR of the horizontal change map at rows y and y + 1 and the
    vertical change map (two OpenCV comparisons of shifted views, two ORs); the last row keeps
    only its horizontal change, the last column only its vertical one.
    """
    c = np.asarray(codes)
    h, w = c.shape
    if c.dtype not in (np.uint8, np.uint16) or h < 2 or w < 2:
        return np.negative(davis_boundary_map(c).view(np.uint8))
    hz = cv2.compare(c[:, :-1], c[:, 1:], cv2.CMP_NE)  # H x (W-1): differs from the right
    vt = cv2.compare(c[:-1], c[1:], cv2.CMP_NE)  # (H-1) x W: differs from the one below
    out = np.empty((h, w), np.uint8)
    np.bitwise_or(cv2.bitwise_or(hz[:-1], hz[1:]), vt[:, :-1], out=out[:-1, :-1])
    out[-1, :-1] = hz[-1]
    out[:-1, -1] = vt[:, -1]
    out[-1, -1] = 0
    return out


def davis_bound_pix(shape: tuple[int, int], bound_th: float = 0.008) -> int:
    """DAVIS tolerance radius in pixels: ``bound_th`` if >= 1 else ceil(bound_th * diagonal)."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(shape[0], shape[1])))


def disk(radius: int) -> np.ndarray:
    """``skimage.morphology.disk(radius)`` (strict radius): uint8 (2r+1)^2, x^2 + y^2 <= r^2."""
    r = np.arange(-radius, radius + 1)
    return ((r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius).astype(np.uint8)


def dilate(bmap: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of a bool map by :func:`disk` (pixels outside the image never count)."""
    if radius <= 0:
        return bmap.copy()
    out = cv2.dilate(bmap.view(np.uint8), disk(radius), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return out.view(bool)


def boundary_f_counts(pred_b: np.ndarray, gt_b: np.ndarray, radius: int) -> tuple[int, int, int, int]:
    """(pred boundary pixels near GT boundary, pred boundary pixels, GT near pred, GT pixels)."""
    n_fg = int(np.count_nonzero(pred_b))
    n_gt = int(np.count_nonzero(gt_b))
    fg_match = int(np.count_nonzero(pred_b & dilate(gt_b, radius))) if n_fg and n_gt else 0
    gt_match = int(np.count_nonzero(gt_b & dilate(pred_b, radius))) if n_fg and n_gt else 0
    return fg_match, n_fg, gt_match, n_gt


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


def region_boundary_flags(codes: np.ndarray, d: int, block_map: np.ndarray | None = None) -> np.ndarray:
    """H x W bool: pixel lies on the Boundary-IoU boundary of the region carrying its label.

    True unless the (2d+1) x (2d+1) window centred on the pixel is inside the image and
    holds a single label. ``flags & (codes == k)`` is region k's boundary for every k.

    The window holds two labels exactly when it contains a non-uniform 2 x 2 block, i.e. a
    pixel of the DAVIS boundary map (``block_map``, computed here if not given) whose block
    lies inside the window: one dilation of that map by a 2d x 2d square (offsets -d..d-1).
    """
    h, w = codes.shape
    flags = np.ones((h, w), dtype=bool)
    if h <= 2 * d or w <= 2 * d:
        return flags
    b = davis_boundary_map(codes) if block_map is None else block_map
    near = cv2.dilate(b.view(np.uint8), np.ones((2 * d, 2 * d), np.uint8), anchor=(d, d))
    flags[d : h - d, d : w - d] = near[d : h - d, d : w - d].view(bool)
    return flags
