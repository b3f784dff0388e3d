"""The offline describer: no weights, deterministic, fast. The default describer of a build.

Each region gets ``Texture of <name>, <visual features>, <spatial context>``:
- name: the region's first one or two class names, prefixed by up to two ADE attributes
  (materials, finishes) when the annotation has them ("wooden floor");
- visual features, measured at a working size whose long side is <= WORK_SIDE (128) px, which
  still resolves a pattern repeating 40 times along the long side (3.2 px per period): the label
  map and the colour pixels resized nearest (actual pixels, not averages), the grey level averaged
  over a box of about one working pixel around each of those pixels (``ImageMaps``); each region
  is measured within its bounding box:
  * colour: a deterministic Lab 2-means (lightness weighted 0.5; ``_two_means``) of the region's
    pixels on a grid of about COLOUR_PIXELS (300); the mean of each cluster is named by the
    nearest table colour (``colors.py``), the larger cluster first; the second colour is named
    when its cluster covers >= 25% and its name differs;
  * granularity: over the region eroded by 5 x 5 (the whole region when that leaves < 30 px), the
    mean fine-scale contrast (|grey - sigma-1 blur|) against the coarse-scale one (|sigma-1 blur -
    sigma-4 blur|): ratio > 0.6 fine-grained, > 0.3 medium-grained, else coarse; "smooth and
    uniform" when the two sum to < 0.02 (grey in [0, 1]);
  * orientation: the structure tensor (products of the sigma-1 blur's Sobel gradients) averaged
    over the eroded region; coherence >= 0.3 names the stripe direction (perpendicular to the
    dominant gradient): horizontal, vertical or diagonal;
  * regularity: the autocorrelation of the eroded region's zero-mean grey values, each lag's sum
    of products divided by its number of pixel pairs (float32 FFTs, ``cv2.dft``), at every lag up
    to half its bounding box (a pattern seen at least twice) whose pairs cover >= 25% of the
    region; "regular repeating pattern" when, as a share of the variance, it reaches REGULAR_PEAK
    (0.35) outside the central lobe (the connected area > 0.1 around lag 0). A smooth region's
    description names no pattern: its orientation and regularity are not measured (None, False);
- spatial context: where the centroid lies (upper/middle/lower x left/centre/right), "spanning the
  top" etc. for wide regions, "running down" for tall ones, "covering most of the image" for big ones.
A region too thin to survive the working size gets its colour and position from its full-size
pixels and is called smooth. Descriptions of one image are made distinct (relative size, then the
region number) and checked with ``textureade.describe.validate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from textureade.describe.base import DescribeResult, RegionInfo
from textureade.describe.colors import colour_name, rgb_to_lab
from textureade.describe.validate import MAX_WORDS, descriptions_problems, normalise
from textureade.features import working_size

WORK_SIDE = 128
REGULAR_PEAK = 0.35
COLOUR_PIXELS = 300  # about this many of a region's pixels are clustered for its colours
LAB_WEIGHTS = np.array([0.5, 1.0, 1.0], np.float32)  # lightness weighs less than hue in the clustering


@dataclass
class RegionLook:
    """What the describer measured for one region (JSON-able via ``vars``)."""

    colours: list[str]
    granularity: str
    orientation: str | None
    regular: bool
    smooth: bool
    position: str


@dataclass
class ImageMaps:
    """What every region's measurements read, computed once per image at the working size (h x w).

    rgb: h x w x 3 uint8, the image's pixels nearest to the working grid (colours are measured on
    actual pixels, not on averages of neighbouring ones); grey: h x w float32 in [0, 1], the image's
    grey level averaged over a box of about one working pixel (k x k full-size pixels, k the scale's
    integer part made odd) around the pixel that ``rgb`` takes; contrast: h x w x 2 float32, per
    pixel (fine, coarse): fine = |grey - sigma-1 blur|, coarse = |sigma-1 blur - sigma-4 blur|;
    tensor: h x w x 3 float32, per pixel the structure tensor's (jxx, jyy, jxy), products of the
    sigma-1 blur's Sobel gradients.
    """

    rgb: np.ndarray
    grey: np.ndarray
    contrast: np.ndarray
    tensor: np.ndarray

    @classmethod
    def of(cls, image: np.ndarray, hw: tuple[int, int]) -> ImageMaps:
        """The maps of ``image`` (H x W x 3 uint8 RGB) at the working size ``hw`` (<= H x W)."""
        rgb = _nearest(image, hw)
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        box = int(image.shape[0] / hw[0]) | 1  # the scale's integer part, made odd (centred)
        grey = _nearest(cv2.blur(grey, (box, box)), hw).astype(np.float32) / 255.0
        b1 = cv2.GaussianBlur(grey, (0, 0), 1.0)
        b4 = cv2.GaussianBlur(grey, (0, 0), 4.0)
        gx = cv2.Sobel(b1, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(b1, cv2.CV_32F, 0, 1, ksize=3)
        contrast = cv2.merge([cv2.absdiff(grey, b1), cv2.absdiff(b1, b4)])
        return cls(rgb, grey, contrast, cv2.merge([gx * gx, gy * gy, gx * gy]))


def _nearest(arr: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """An image, grey map or label map resized to ``hw`` by nearest neighbour."""
    return cv2.resize(arr, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)


def _bounds(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice]:
    """The bounding box of a non-empty boolean mask, widened by ``margin`` px (within the mask)."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    return slice(max(y - margin, 0), y + h + margin), slice(max(x - margin, 0), x + w + margin)


def _grid_sample(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The pixels (h x w x C) where ``mask`` (h x w bool) holds, on every s-th row and column, with
    s = ceil(sqrt(mask pixels / COLOUR_PIXELS)): about COLOUR_PIXELS of them (all when fewer)."""
    step = max(1, int(np.ceil(np.sqrt(np.count_nonzero(mask) / COLOUR_PIXELS))))
    return pixels[::step, ::step][mask[::step, ::step]]


def _two_means(x: np.ndarray, iters: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic 2-means of N x D float32 points: (labels (N,) int32 in {0, 1}, centres 2 x D
    float32, the mean of each cluster).

    Start: the split at the mean along the points' principal axis; then Lloyd iterations (each point
    to the nearer centre, ``cv2.kmeans`` from those labels) until no point moves or ``iters``
    iterations.
    """
    mean, axis = cv2.PCACompute(x, None, maxComponents=1)
    start = ((x - mean) @ axis[0] > 0).astype(np.int32).reshape(-1, 1)
    criteria = (cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS, iters, 0.0)
    _, labels, centres = cv2.kmeans(x, 2, start, criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS)
    return labels.ravel(), centres


def _colours(rgb: np.ndarray) -> list[str]:
    """Colour names of a region from (a sample of) its pixels (N x 3 uint8 RGB, N >= 1)."""
    lab = rgb_to_lab(rgb)
    if lab.shape[0] < 20:
        return [colour_name(lab.mean(axis=0))]
    labels, centres = _two_means(lab * LAB_WEIGHTS)
    counts = np.bincount(labels, minlength=2)
    big = int(counts[1] >= counts[0])
    main = colour_name(centres[big] / LAB_WEIGHTS)
    if counts[big] > 0.75 * len(labels):
        return [main]
    other = colour_name(centres[1 - big] / LAB_WEIGHTS)
    return [main] if other == main else [main, other]


def _texture(
    maps: ImageMaps, box: tuple[slice, slice], mask: np.ndarray
) -> tuple[str, str | None, bool, bool]:
    """(granularity, orientation or None, regular, smooth) of the region ``mask``: its pixels in
    ``box`` of ``maps``, a box that reaches 2 px past the region where the image does. A smooth
    region has no orientation and is not regular."""
    inner = cv2.erode(mask.view(np.uint8), np.ones((5, 5), np.uint8))
    if np.count_nonzero(inner) < 30:
        inner = mask.view(np.uint8)
    fine, coarse = cv2.mean(maps.contrast[box], mask=inner)[:2]  # means over the (eroded) region
    jxx, jyy, jxy = cv2.mean(maps.tensor[box], mask=inner)[:3]
    smooth = (fine + coarse) < 0.02
    ratio = fine / (coarse + 1e-6)
    granularity = "fine-grained" if ratio > 0.6 else ("medium-grained" if ratio > 0.3 else "coarse")
    tr = jxx + jyy
    orientation = None
    if tr > 1e-12:
        coherence = math.hypot(jxx - jyy, 2 * jxy) / tr
        if coherence >= 0.3 and not smooth:
            grad_angle = math.degrees(0.5 * math.atan2(2 * jxy, jxx - jyy)) % 180  # of the gradient
            stripe = (grad_angle + 90) % 180
            if stripe < 22.5 or stripe >= 157.5:
                orientation = "horizontal"
            elif 67.5 <= stripe < 112.5:
                orientation = "vertical"
            else:
                orientation = "diagonal"
    # a smooth region's description names no pattern: its regularity is not measured (False)
    regular = not smooth and _regular(maps.grey[box], inner.view(bool))
    return granularity, orientation, regular, smooth


def _autocorrelation(x: np.ndarray, ly: int, lx: int) -> np.ndarray:
    """sum_p x[p] x[p + (dy, dx)] for |dy| <= ly, |dx| <= lx: a (2 ly + 1) x (2 lx + 1) array, lag 0 at
    its centre. Through float32 FFTs (``cv2.dft``) of ``x`` zero-padded to at least h + ly by w + lx,
    which keeps these lags free of wrap-around (2^a 3^b 5^c sizes are the fast ones)."""
    h, w = x.shape
    ph, pw = cv2.getOptimalDFTSize(h + ly), cv2.getOptimalDFTSize(w + lx)
    f = cv2.dft(cv2.copyMakeBorder(x, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT, value=0))
    circular = cv2.idft(cv2.mulSpectrums(f, f, 0, conjB=True), flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
    rows, cols = np.arange(-ly, ly + 1), np.arange(-lx, lx + 1)  # negative lags wrap to the end
    return circular.take(rows, axis=0, mode="wrap").take(cols, axis=1, mode="wrap")


def _regular(grey: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the masked region repeats: its mask-normalised autocorrelation, at every lag up to half
    its bounding box (a pattern seen at least twice), has a peak >= REGULAR_PEAK outside the central
    lobe."""
    if np.count_nonzero(mask) < 200:
        return False
    box = _bounds(mask)
    crop, inside = grey[box], mask[box].view(np.uint8)
    m = inside.astype(np.float32)
    z = (crop - cv2.mean(crop, mask=inside)[0]) * m
    ly, lx = z.shape[0] // 2, z.shape[1] // 2
    ac, pairs = _autocorrelation(z, ly, lx), _autocorrelation(m, ly, lx)  # lag 0 at [ly, lx]
    variance = ac[ly, lx] / pairs[ly, lx]
    if variance < 1e-8:
        return False
    # the mean product of the pixel pairs at each lag (over lags whose pairs cover >= 25% of the
    # region), as a share of the variance
    valid = pairs > 0.25 * pairs[ly, lx]
    ac = np.divide(ac, pairs * variance, out=np.zeros_like(ac), where=valid)
    # the central lobe: the area > 0.1 4-connected to zero lag (flood-filled into ``lobe``); a
    # regular texture repeats with a strong secondary peak outside it
    lobe = np.zeros((ac.shape[0] + 2, ac.shape[1] + 2), np.uint8)  # floodFill's mask has a 1 px rim
    cv2.floodFill((ac > 0.1).view(np.uint8), lobe, (lx, ly), 1, flags=4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8))
    return bool(ac[lobe[1:-1, 1:-1] == 0].max(initial=0.0) >= REGULAR_PEAK)


def _position(mask: np.ndarray, origin: tuple[int, int], shape: tuple[int, int]) -> str:
    """Where a region lies in an image of ``shape`` (h, w): ``mask`` (bool) is the part of the image
    from row, column ``origin`` on that holds all of the region (not empty)."""
    h, w = shape
    moments = cv2.moments(mask.view(np.uint8), binaryImage=True)
    if moments["m00"] > 0.6 * h * w:
        return "covering most of the image"
    cy = (origin[0] + moments["m01"] / moments["m00"]) / h
    cx = (origin[1] + moments["m10"] / moments["m00"]) / w
    rows, cols = _bounds(mask)
    width = (cols.stop - cols.start) / w
    height = (rows.stop - rows.start) / h
    vert = "upper" if cy < 0.36 else ("lower" if cy > 0.64 else "middle")
    horiz = "left" if cx < 0.36 else ("right" if cx > 0.64 else "centre")
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


def _measure(maps: ImageMaps, mask: np.ndarray) -> RegionLook:
    """The look of the region ``mask`` (h x w bool at the working size, not empty)."""
    box = _bounds(mask, margin=2)  # the 5 x 5 erosion must see the region's surroundings
    region = mask[box]
    gran, orient, regular, smooth = _texture(maps, box, region)
    colours = _colours(_grid_sample(maps.rgb[box], region))
    position = _position(region, (box[0].start, box[1].start), mask.shape)
    return RegionLook(colours, gran, orient, regular, smooth, position)


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
        hw = working_size(label_map.shape, self.work_side)
        maps = ImageMaps.of(image, hw)
        lm = _nearest(np.asarray(label_map, dtype=np.int32), hw)
        out: list[RegionLook | None] = []
        for idx in range(1, k + 1):
            mask = lm == idx
            if not mask.any():
                full = label_map == idx
                if not full.any():
                    out.append(None)
                    continue
                # too thin to survive the working size: its colour and position from its full-size pixels
                look = RegionLook(
                    _colours(_grid_sample(image, full)),
                    "fine-grained",
                    None,
                    False,
                    True,
                    _position(full, (0, 0), full.shape),
                )
                out.append(look)
                continue
            out.append(_measure(maps, mask))
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
