"""The offline describer: no weights, deterministic, fast. The default describer of a build.

Each region gets ``Texture of <name>, <visual features>, <spatial context>``:
- name: the region's first one or two class names, prefixed by up to two ADE attributes
  (materials, finishes) when the annotation has them ("wooden floor");
- visual features, measured on a grey/colour copy whose long side is <= 192 px:
  * colour: Lab 2-means of the region's pixels, each centre named by the nearest table colour
    (``colors.py``); the second colour is named when it covers >= 25% and differs;
  * granularity: the share of gradient energy at fine scale (grey minus a sigma-1 blur) against
    coarse scale (sigma-1 minus sigma-4 blur) -> fine-grained / medium-grained / coarse;
    a region whose local contrast is tiny is "smooth, uniform";
  * orientation: the structure tensor summed over the eroded region; coherence >= 0.3 names the
    stripe direction (perpendicular to the dominant gradient): horizontal, vertical or diagonal;
  * regularity: the strongest secondary peak of the region's normalised autocorrelation (FFT of the
    zero-mean crop, outside a radius of 3 px); >= 0.35 -> "regular repeating pattern";
- spatial context: where the centroid lies (upper/middle/lower x left/centre/right), "across the
  top" etc. for wide regions, "covering most of the image" for big ones.
Descriptions of one image are made distinct (relative size, then the region number) and checked
with ``textureade.describe.validate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from textureade.describe.base import DescribeResult, RegionInfo
from textureade.describe.colors import colour_name, rgb_to_lab
from textureade.describe.validate import MAX_WORDS, descriptions_problems, normalise

WORK_SIDE = 192
REGULAR_PEAK = 0.35


@dataclass
class RegionLook:
    """What the describer measured for one region (JSON-able via ``vars``)."""

    colours: list[str]
    granularity: str
    orientation: str | None
    regular: bool
    smooth: bool
    position: str


def _resize(arr: np.ndarray, hw: tuple[int, int], nearest: bool) -> np.ndarray:
    if arr.shape[:2] == hw:
        return arr
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(arr, (hw[1], hw[0]), interpolation=interp)


@dataclass
class ImageMaps:
    """What every region's measurements read, computed once per image at the working size (h x w).

    small: h x w x 3 uint8 RGB; lab: h x w x 3 float32 Lab of ``small`` (``colors.rgb_to_lab``);
    grey: h x w float32 in [0, 1]; fine = |grey - sigma-1 blur|, coarse = |sigma-1 blur - sigma-4
    blur|; jxx, jyy, jxy: the structure tensor's products of the sigma-1 blur's Sobel gradients.
    """

    small: np.ndarray
    lab: np.ndarray
    grey: np.ndarray
    fine: np.ndarray
    coarse: np.ndarray
    jxx: np.ndarray
    jyy: np.ndarray
    jxy: np.ndarray

    @classmethod
    def of(cls, small: np.ndarray) -> ImageMaps:
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        b1 = cv2.GaussianBlur(grey, (0, 0), 1.0)
        b4 = cv2.GaussianBlur(grey, (0, 0), 4.0)
        gx = cv2.Sobel(b1, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(b1, cv2.CV_32F, 0, 1, ksize=3)
        lab = rgb_to_lab(small).reshape(small.shape)
        return cls(small, lab, grey, np.abs(grey - b1), np.abs(b1 - b4), gx * gx, gy * gy, gx * gy)


def _colours(lab: np.ndarray) -> list[str]:
    """Colour names of a region from its pixels' Lab values (N x 3 float32)."""
    if lab.shape[0] > 3000:
        lab = lab[:: lab.shape[0] // 3000 + 1]
    first = colour_name(np.median(lab, axis=0))
    if lab.shape[0] < 20:
        return [first]
    from textureade.mining.stats import two_means

    lab_w = lab * np.array([0.5, 1.0, 1.0], np.float32)  # lightness weighs less than hue
    found = two_means(lab_w)
    parts = found[0] if found is not None else np.zeros(lab.shape[0], np.int64)
    share = parts.mean()
    big, small = (1, 0) if share >= 0.5 else (0, 1)
    frac_small = min(share, 1 - share)
    main = colour_name(np.median(lab[parts == big], axis=0))
    if frac_small < 0.25:
        return [main]
    other = colour_name(np.median(lab[parts == small], axis=0))
    return [main] if other == main else [main, other]


def _texture(maps: ImageMaps, mask: np.ndarray) -> tuple[str, str | None, bool, bool]:
    """(granularity, orientation or None, regular, smooth) of the masked region of ``maps``."""
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if inner.sum() < 30:
        inner = mask
    fine = float(maps.fine[inner].mean())
    coarse = float(maps.coarse[inner].mean())
    smooth = (fine + coarse) < 0.02
    ratio = fine / (coarse + 1e-6)
    granularity = "fine-grained" if ratio > 0.6 else ("medium-grained" if ratio > 0.3 else "coarse")
    jxx, jyy, jxy = (float(maps.jxx[inner].sum()), float(maps.jyy[inner].sum()), float(maps.jxy[inner].sum()))
    tr = jxx + jyy
    orientation = None
    if tr > 1e-9:
        coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy) / tr
        if coherence >= 0.3 and not smooth:
            grad_angle = np.degrees(0.5 * np.arctan2(2 * jxy, jxx - jyy)) % 180  # of the gradient
            stripe = (grad_angle + 90) % 180
            if stripe < 22.5 or stripe >= 157.5:
                orientation = "horizontal"
            elif 67.5 <= stripe < 112.5:
                orientation = "vertical"
            else:
                orientation = "diagonal"
    return granularity, orientation, _regular(maps.grey, inner), smooth


def _fft_size(n: int) -> int:
    """The smallest 2^a * 3^b * 5^c >= n: a size the FFT handles fast."""
    best, p5 = 1 << (n - 1).bit_length(), 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best, p35 = min(best, p), p35 * 3
        p5 *= 5
    return best


def _regular(grey: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the masked region repeats: its mask-normalised autocorrelation (every lag up to the
    crop's size, from FFTs padded to at least twice the crop) has a secondary peak >= REGULAR_PEAK."""
    ys, xs = np.nonzero(mask)
    if ys.size < 200:
        return False
    crop = grey[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    m = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    z = np.where(m, crop - crop[m].mean(), 0.0).astype(np.float64)
    if z.var() < 1e-8:
        return False
    # any padding >= 2x the crop gives the same lags; FFT-friendly sizes are the fast ones
    shape = (_fft_size(2 * z.shape[0]), _fft_size(2 * z.shape[1]))
    power = np.abs(np.fft.rfft2(np.stack([z, m]), shape)) ** 2  # the region and its mask at once
    ac, cnt = np.fft.irfft2(power, shape)
    ac = np.where(cnt > 0.25 * cnt[0, 0], ac / np.maximum(cnt, 1e-9), 0.0)
    ac = np.fft.fftshift(ac / max(ac[0, 0], 1e-12))
    cy, cx = shape[0] // 2, shape[1] // 2
    # the central lobe: the connected positive area around zero lag; a regular texture repeats
    # with a strong secondary peak outside it
    _, lobes = cv2.connectedComponents((ac > 0.1).astype(np.uint8), connectivity=4)
    outside = lobes != lobes[cy, cx]
    return bool(ac[outside].max(initial=0.0) >= REGULAR_PEAK)


def _position(mask: np.ndarray) -> str:
    h, w = mask.shape
    area = mask.mean()
    if area > 0.6:
        return "covering most of the image"
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean() / h, xs.mean() / w
    vert = "upper" if cy < 0.36 else ("lower" if cy > 0.64 else "middle")
    horiz = "left" if cx < 0.36 else ("right" if cx > 0.64 else "centre")
    width = (xs.max() - xs.min() + 1) / w
    height = (ys.max() - ys.min() + 1) / h
    band = {"upper": "top", "lower": "bottom", "middle": "middle"}[vert]
    if width > 0.8 and height < 0.6:
        return f"spanning the {band} of the image"
    if height > 0.8 and width < 0.6:
        return (
            f"running down the {horiz} side of the image" if horiz != "centre" else "running down the centre"
        )
    if vert == "middle" and horiz == "centre":
        return "in the centre of the image"
    if vert == "middle":
        return f"on the {horiz} of the image"
    return f"in the {vert} {horiz} of the image" if horiz != "centre" else f"in the {vert} part of the image"


def _name(region: RegionInfo) -> str:
    names = [n for n in region.class_names if n][:2]
    base = " and ".join(names) if names else "surface"
    attrs = [a.lower() for a in region.attributes if a and len(a.split()) <= 2][:2]
    return " ".join([*attrs, base])


def _features(look: RegionLook) -> str:
    colour = " and ".join(look.colours)
    if look.smooth:
        return f"{colour}, smooth and uniform"
    pattern = "regular repeating pattern" if look.regular else "irregular pattern"
    stripes = f" with {look.orientation} streaks" if look.orientation else ""
    return f"{colour}, {look.granularity} {pattern}{stripes}"


def _fit(text: str) -> str:
    words = normalise(text).split()
    return " ".join(words[:MAX_WORDS]).rstrip(",")


class OfflineDescriber:
    """The offline describer (see the module docstring). Implements ``Describer``; holds no weights."""

    name = "offline"

    def __init__(self, work_side: int = WORK_SIDE) -> None:
        self.work_side = int(work_side)

    def look(self, image: np.ndarray, label_map: np.ndarray, k: int) -> list[RegionLook | None]:
        """Measure regions 1..k (None for a region absent from the map)."""
        h, w = label_map.shape
        s = min(1.0, self.work_side / max(h, w))
        hw = (max(1, round(h * s)), max(1, round(w * s)))
        maps = ImageMaps.of(_resize(image, hw, nearest=False))
        lm = _resize(label_map.astype(np.int32), hw, nearest=True)
        out: list[RegionLook | None] = []
        for idx in range(1, k + 1):
            mask = lm == idx
            if mask.sum() < 4:
                full = label_map == idx
                if not full.any():
                    out.append(None)
                    continue
                mask = _resize(full.astype(np.uint8), hw, nearest=True).astype(bool) | mask
                if mask.sum() == 0:
                    out.append(
                        RegionLook(
                            [colour_name(rgb_to_lab(image[full]).mean(axis=0))],
                            "fine-grained",
                            None,
                            False,
                            True,
                            _position(full),
                        )
                    )
                    continue
            gran, orient, regular, smooth = _texture(maps, mask)
            out.append(RegionLook(_colours(maps.lab[mask]), gran, orient, regular, smooth, _position(mask)))
        return out

    def describe(self, image: np.ndarray, label_map: np.ndarray, regions: list[RegionInfo]) -> DescribeResult:
        """Descriptions in region order; distinct and valid (5-25 words, "Texture of ...")."""
        looks = self.look(image, label_map, len(regions))
        texts: list[str] = []
        for region, look in zip(regions, looks):
            if look is None:
                texts.append(
                    _fit(f"Texture of {_name(region)}, not visible at this size, region {region.index}")
                )
                continue
            texts.append(_fit(f"Texture of {_name(region)}, {_features(look)}, {look.position}"))
        areas = [r.area for r in regions]
        problems = descriptions_problems(texts)
        for i, problem in enumerate(problems):
            if problem and problem.startswith("duplicate"):
                twin = int(problem.rsplit(" ", 1)[1]) - 1
                rank = "larger" if areas[i] > areas[twin] else "smaller"
                texts[i] = _fit(f"{texts[i]}, the {rank} part")
        for i, problem in enumerate(descriptions_problems(texts)):
            if problem:
                texts[i] = _fit(f"{' '.join(texts[i].split()[: MAX_WORDS - 2])} region {regions[i].index}")
        return DescribeResult(
            descriptions=texts,
            provenance={"describer": self.name, "looks": [vars(lk) if lk else None for lk in looks]},
        )
