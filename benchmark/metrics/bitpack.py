"""Binary morphology of two boundary maps at once on bit-packed row strips (numpy ORs).

Layout: each H x W map is cut into :data:`STRIPS` horizontal strips of ``hs = ceil(H / 4)``
rows; strip k of the predicted map goes to bit 2k and strip k of the GT map to bit 2k + 1 of
one uint8 array of shape (hs + 2 halo) x (W + 2 halo), so ``(byte >> 2k) & 3`` is strip k's
``2 * gt + pred``. Element [y, x] holds image pixel (k hs + y - halo, x - halo) in bits 2k and
2k + 1: every strip carries ``halo`` true neighbouring rows above and below (0 outside the
image) and ``halo`` zero columns left and right. One OR of the array with a shifted view of
itself then dilates the 8 strips, i.e. both maps, in one numpy call over an eighth of the
pixels' bytes.

Dilations are forward windows (OR of a[i : i + n]) read back with a lag instead of being
shifted, and a sequence of them whose total reach along an axis is at most ``halo`` is exact on
the core (the hs x W block at offset (halo, halo), moved by the result's lag); the stale
outermost rows/columns they leave behind are never read back into the core. Pixels outside the
image count as 0 (OpenCV's default border for dilation, the DAVIS and Boundary-IoU behaviour).
Every function here is checked against OpenCV and pixel-loop references in
tests/benchmark/test_metrics_boundary.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Row strips per map (two maps fill the 8 bits of a byte).
STRIPS = 4

_GT64 = np.uint64(0xAAAAAAAAAAAAAAAA)
_PRED64 = np.uint64(0x5555555555555555)

if hasattr(np, "bitwise_count"):  # numpy >= 2.0

    def _popcount(a: np.ndarray) -> int:
        return int(np.bitwise_count(a).sum(dtype=np.int64))

else:  # pragma: no cover - numpy 1.26
    _POP = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

    def _popcount(a: np.ndarray) -> int:
        return int(_POP[a.view(np.uint8)].sum(dtype=np.int64))


def _words(a: np.ndarray) -> np.ndarray:
    """A 2-D uint8 view as a contiguous uint64 array (zero-padded to whole words)."""
    flat = np.zeros(-(-a.size // 8) * 8, np.uint8)
    flat[: a.size].reshape(a.shape)[...] = a
    return flat.view(np.uint64)


@dataclass
class PackedPair:
    """Two H x W bool maps packed as described in the module docstring."""

    bits: np.ndarray  # (hs + 2 halo) x (W + 2 halo) uint8
    hs: int
    halo: int
    shape: tuple[int, int]

    def core(self, arr: np.ndarray | None = None, lag: tuple[int, int] = (0, 0)) -> np.ndarray:
        """The hs x W core of ``arr`` stored with ``lag`` (default: the packed maps), a view."""
        a = self.bits if arr is None else arr
        y0, x0 = self.halo - lag[0], self.halo - lag[1]
        return a[y0 : y0 + self.hs, x0 : x0 + self.shape[1]]


def _as_255(m: np.ndarray) -> np.ndarray:
    """A bool map as uint8 0/255; a uint8 map must already be 0/255 and is returned as is."""
    return np.negative(m.view(np.uint8)) if m.dtype == bool else m


def pack_pair(gt_b: np.ndarray, pred_b: np.ndarray, halo: int) -> PackedPair:
    """Pack two equally shaped H x W maps with ``halo`` >= 0 (see the module docstring).

    Maps: bool, or uint8 with 0 = unset and 255 = set (what :func:`davis_boundary_255` gives).
    """
    h, w = gt_b.shape
    hs = max(1, -(-h // STRIPS))
    rows = hs + 2 * halo
    pads = [
        cv2.copyMakeBorder(_as_255(m), halo, STRIPS * hs - h + halo, halo, halo, cv2.BORDER_CONSTANT, value=0)
        for m in (gt_b, pred_b)
    ]
    bits = np.zeros((rows, w + 2 * halo), np.uint8)
    tmp = np.empty_like(bits)
    for m, pad in enumerate(pads):
        for k in range(STRIPS):
            np.bitwise_and(pad[k * hs : k * hs + rows], 1 << (2 * k + 1 - m), out=tmp)
            np.bitwise_or(bits, tmp, out=bits)
    return PackedPair(bits, hs, halo, (h, w))


def _fwd(a: np.ndarray, n: int, axis: int) -> None:
    """In place on a C-contiguous 2-D array: a[i] = OR of a[i : i + n] along ``axis``.

    Doubling steps of ORs with a forward-shifted copy of the flat array (forward shifts need no
    numpy overlap buffer). The last n - 1 elements along the axis go stale; along axis 1 the
    flat shift also wraps row ends into the next row's first columns, which lands only in those
    stale last columns.
    """
    f = a.reshape(-1)
    unit = a.shape[1] if axis == 0 else 1
    done = 1
    while done < n:
        s = min(done, n - done)
        f[: -s * unit] |= f[s * unit :]
        done += s


def _or_aligned(x: np.ndarray, lag_x: list[int], h: np.ndarray, lag_h: list[int]) -> None:
    """x |= h, both stored with lags (logical [y, x] at storage [y - lag_y, x - lag_x])."""
    delta = (lag_x[0] - lag_h[0]) * x.shape[1] + (lag_x[1] - lag_h[1])
    xf, hf = x.reshape(-1), h.reshape(-1)
    if delta >= 0:
        xf[: xf.size - delta] |= hf[delta:]
    else:
        xf[-delta:] |= hf[: hf.size + delta]


def dilate_disk_packed(pp: PackedPair, radius: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Both maps dilated by ``disk(radius)`` (x^2 + y^2 <= r^2), packed; needs halo >= radius.

    The disk is the union over j of the (2 w(j) + 1) x (2 j + 1) rectangles, w(j) =
    isqrt(r^2 - j^2), built from the top row inwards with 1-D dilations. A centred dilation by
    w is a forward window of 2w + 1 read w elements back, so instead of shifting, each array
    keeps a lag: returns (array, (lag_y, lag_x)) with pixel [y, x] of the packed layout at
    array[y - lag_y, x - lag_x] (read it with ``pp.core(array, lag)``).
    """
    if radius > pp.halo:
        raise ValueError(f"radius {radius} exceeds the packing halo {pp.halo}")
    w = [math.isqrt(radius * radius - j * j) for j in range(radius + 1)]
    h = pp.bits.copy()
    _fwd(h, 2 * w[radius] + 1, 1)
    lag_h = [0, w[radius]]
    x, lag_x, hw, pending = h.copy(), list(lag_h), w[radius], 0
    for j in range(radius - 1, -1, -1):
        pending += 1
        if w[j] > hw:
            _fwd(x, 2 * pending + 1, 0)
            lag_x[0] += pending
            _fwd(h, 2 * (w[j] - hw) + 1, 1)
            lag_h[1] += w[j] - hw
            _or_aligned(x, lag_x, h, lag_h)
            hw, pending = w[j], 0
    _fwd(x, 2 * pending + 1, 0)
    lag_x[0] += pending
    return x, (lag_x[0], lag_x[1])


def box_near_packed(pp: PackedPair, d: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Packed: some pixel at offsets (-d..d-1, -d..d-1) is set (a 2d x 2d box anchored at (d, d)).

    Equals ``cv2.dilate(b, np.ones((2d, 2d)), anchor=(d, d))`` with zeros outside the image;
    needs halo >= d. Returns (array, lag) as :func:`dilate_disk_packed` (a forward window of 2d
    read d back along each axis).
    """
    if d > pp.halo:
        raise ValueError(f"box reach {d} exceeds the packing halo {pp.halo}")
    a = pp.bits.copy()
    _fwd(a, 2 * d, 0)
    _fwd(a, 2 * d, 1)
    return a, (d, d)


def flag_codes(pp: PackedPair, d: int) -> np.ndarray:
    """H x W uint8 ``2 * gt_flag + pred_flag`` of the Boundary-IoU flags of both maps.

    A pixel's flag is set unless the (2d+1) x (2d+1) window centred on it lies inside the image
    and holds no DAVIS block change of that map (see
    :func:`benchmark.metrics.boundary.region_boundary_flags`); needs halo >= d.
    """
    h, w = pp.shape
    out = np.full((h, w), 3, np.uint8)
    if h <= 2 * d or w <= 2 * d:
        return out
    core = pp.core(*box_near_packed(pp, d))
    for k in range(STRIPS):
        a, b = k * pp.hs, min((k + 1) * pp.hs, h)
        if a >= b:
            break
        np.bitwise_and(core[: b - a] >> (2 * k) if k else core[: b - a], 3, out=out[a:b])
    out[:d] = 3
    out[h - d :] = 3
    out[:, :d] = 3
    out[:, w - d :] = 3
    return out


def unpack_pair(
    pp: PackedPair, packed: np.ndarray, lag: tuple[int, int] = (0, 0)
) -> tuple[np.ndarray, np.ndarray]:
    """The two H x W maps (uint8 0/1) held in the core of a packed array stored with ``lag``."""
    h, w = pp.shape
    core = pp.core(packed, lag)
    out = (np.empty((h, w), np.uint8), np.empty((h, w), np.uint8))
    for k in range(STRIPS):
        a, b = k * pp.hs, min((k + 1) * pp.hs, h)
        if a >= b:
            break
        rows = core[: b - a]
        for dst, bit in ((out[0], 2 * k + 1), (out[1], 2 * k)):
            np.not_equal(rows & (1 << bit), 0, out=dst[a:b].view(bool))
    return out


def boundary_f_counts_packed(pp: PackedPair, radius: int) -> tuple[int, int, int, int]:
    """DAVIS counts of the packed (GT, pred) boundary maps: (pred near GT, pred, GT near pred, GT).

    "Near" = within the disk of ``radius`` (needs halo >= radius); the same four numbers as
    :func:`benchmark.metrics.boundary.boundary_f_counts`.
    """
    core = _words(pp.core())  # counted 8 bytes at a time
    n_gt = _popcount(core & _GT64)
    n_fg = _popcount(core & _PRED64)
    if not (n_fg and n_gt):
        return 0, n_fg, 0, n_gt
    dil = _words(pp.core(*dilate_disk_packed(pp, radius)))
    fg_match = _popcount(((dil & _GT64) >> np.uint64(1)) & core)  # dilated GT bit onto the pred bit
    gt_match = _popcount(((dil & _PRED64) << np.uint64(1)) & core)
    return fg_match, n_fg, gt_match, n_gt
