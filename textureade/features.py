"""Per-pixel appearance descriptors (colour + texture) and per-region statistics.

``pixel_features(image)`` returns an H x W x D ``float32`` map whose channels are listed, in order,
in :data:`FEATURE_NAMES` (D = 20):

- ``L``, ``a``, ``b``: CIE Lab (OpenCV, D65) of the image, lightly Gaussian-smoothed
  (sigma = 1 working pixel) and scaled to comparable ranges: L / 100 in [0, 1], a / 100 and b / 100
  in about [-1, 1].
- ``contrast``: local standard deviation of L / 100 over a Gaussian window (sigma = 4 working
  pixels): how "busy" the neighbourhood is, whatever its orientation or scale.
- ``gabor_l<wavelength>_o<degrees>``: a Gabor filter bank at 4 wavelengths (2, 4, 8, 16 working
  pixels) x 4 orientations (0, 45, 90, 135 degrees), bandwidth about one octave. Each energy is the
  quadrature magnitude ``sqrt(even^2 + odd^2)`` of the zero-mean, L1-normalised kernels on L / 100,
  averaged over a Gaussian window (sigma = 1.5 wavelengths clipped to [6, 12] working pixels), then
  compressed as ``log1p(E / 0.01) / 4`` (typical textures give 0.1-0.5, a strong edge about 1);
  windows and compression are computed at half resolution (``windowed_energies``, below).
  The bank and windows were chosen on scikit-image's brick/grass/gravel: nearest-mean per-pixel
  accuracy between grass and gravel crops rose from 0.75 (3 wavelengths, sigma = wavelength) to 0.92.

How the bank is computed (``gabor_energies``): in the frequency domain, which gives the same
responses as filtering each kernel in space (``cv2.filter2D`` with ``BORDER_REFLECT``; they agree to
float32 rounding, about 1e-7) at about a third of the cost. For each wavelength the L channel is
reflect-padded by its kernels' half-size (3, 6, 12, 23 px for wavelengths 2, 4, 8, 16) and
transformed once (``cv2.dft``); each (wavelength, orientation) pair is one complex kernel
``even + i * odd``, so one inverse transform of the product with its spectrum yields both responses
(real part: even, imaginary part: odd) and the energy is the modulus. The padding makes the circular
convolution equal the reflect-bordered one on the image's own pixels; padding each wavelength only
as much as its kernels need keeps the short wavelengths' grids small (at the miner's 84 x 112: 96 x
120, 96 x 128, 120 x 144 and 144 x 160; ~12% faster than one 144 x 160 grid for all 16 pairs).
Kernel spectra are cached per wavelength and padded size (a few sizes per aspect ratio). At 84 x 112
that is 4 forward and 16 inverse transforms instead of 32 spatial filterings (24 of which OpenCV
itself runs as three transforms each).

The windows (``windowed_energies``) are wide (sigma >= 6 working pixels), so the windowed energy is
smooth and is computed at half resolution: the 16 energies are area-averaged to half size (2 x 2
means on even sides), blurred with a Gaussian whose variance, with that of the averaging and of the
bilinear upsampling back, makes the window's (sigma' = sqrt(sigma^2 - 1) / 2 half-size pixels),
compressed, and upsampled; the channels sharing a window are blurred as one image. At 84 x 112 this
costs about a third of 16 full-size ``cv2.GaussianBlur`` calls (~0.5 ms instead of ~1.7 ms inside a
build) and differs from them by less than 0.003 after compression (channel standard deviations are
~0.06-0.13). Tried and not kept: transforms of the reflect-padded energies (cost as much as the
blurs), dense matrix products (cheaper only on a single BLAS thread), the Gabor responses of
wavelengths 8 and 16 at half resolution (changes the energies enough that two instances of one
brick texture no longer merge, tests/textureade/test_mining_regions.py), and the image's area
downscale from its integral image (only ~10% faster than ``cv2.resize`` INTER_AREA on the genuine
samples).

All of it is computed at a *working resolution*: the image is area-downscaled so that its longer
side is at most ``work_size`` (default 256; smaller images are used as they are), and the feature
map is bilinearly upsampled back to the image size unless ``full_resolution=False``. Texture scale
is therefore measured relative to the image, which makes the features comparable across image
sizes, and a 512 x 683 image costs about as much as a 192 x 256 one. Everything is deterministic
(no randomness, fixed kernels). The region miner uses the working-size map itself
(``full_resolution=False``, ``work_size`` = its ``work_max_side``).

``region_descriptors(features, label_map)`` returns per-region (mean, variance or covariance, count)
computed with ``np.bincount`` sums over the whole map at once.
"""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import cv2
import numpy as np

WAVELENGTHS = (2.0, 4.0, 8.0, 16.0)
ORIENTATIONS = (0, 45, 90, 135)
COLOUR_NAMES = ["L", "a", "b"]
CONTRAST_NAMES = ["contrast"]
GABOR_NAMES = [f"gabor_l{int(lam)}_o{deg}" for lam in WAVELENGTHS for deg in ORIENTATIONS]
FEATURE_NAMES: list[str] = COLOUR_NAMES + CONTRAST_NAMES + GABOR_NAMES
"""Channel names of :func:`pixel_features`, in order."""

COLOUR_SLICE = slice(0, 3)
TEXTURE_SLICE = slice(3, len(FEATURE_NAMES))

_ENERGY_SCALE = 0.01
_KERNELS: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {}


def _gabor_pair(wavelength: float, degrees: int) -> tuple[np.ndarray, np.ndarray]:
    """Even and odd Gabor kernels (float32), zero-mean, each with unit L1 norm.

    Bandwidth about one octave: sigma = 0.56 * wavelength; aspect ratio 0.5; size 2 * ceil(2.5 sigma) + 1.
    """
    sigma = 0.56 * wavelength
    half = int(np.ceil(2.5 * sigma))
    size = (2 * half + 1, 2 * half + 1)
    theta = np.deg2rad(degrees)
    out = []
    for psi in (0.0, np.pi / 2):
        k = cv2.getGaborKernel(size, sigma, theta, wavelength, 0.5, psi, ktype=cv2.CV_32F)
        k = k - k.mean()
        k = k / max(float(np.abs(k).sum()), 1e-12)
        out.append(k.astype(np.float32))
    return out[0], out[1]


def _kernels(wavelength: float) -> list[tuple[np.ndarray, np.ndarray]]:
    if wavelength not in _KERNELS:
        _KERNELS[wavelength] = [_gabor_pair(wavelength, deg) for deg in ORIENTATIONS]
    return _KERNELS[wavelength]


def _half_size(wavelength: float) -> int:
    """Half-size of the wavelength's kernels (3, 6, 12, 23 px for 2, 4, 8, 16)."""
    return _kernels(wavelength)[0][0].shape[0] // 2


def _dft_size(n: int) -> int:
    """Smallest multiple of 8 >= n whose other prime factors are 2, 3 or 5 (OpenCV's DFT is fastest
    on such sizes: 130 -> 144, 158 -> 160)."""
    return 8 * cv2.getOptimalDFTSize(-(-n // 8))


@functools.lru_cache(maxsize=32)
def _bank_spectra(wavelength: float, shape: tuple[int, int]) -> np.ndarray:
    """(4, P, Q) complex64 for a P x Q DFT grid: per orientation of the wavelength, the DFT of the
    complex kernel ``even + i * odd``, flipped (``filter2D`` correlates; a convolution with the
    flipped kernel is that correlation) and placed with its centre at the origin (wrapped around),
    divided by P * Q (the inverse transform's scale). Cached: the miner's 112 px working sizes use
    at most 7 image shapes, 4 grids each (under 0.8 MB per grid)."""
    spectra = []
    for even, odd in _kernels(wavelength):
        kernel = (even.astype(np.float64) + 1j * odd)[::-1, ::-1]
        half = kernel.shape[0] // 2
        grid = np.zeros(shape, np.complex128)
        grid[: kernel.shape[0], : kernel.shape[1]] = kernel
        spectra.append(np.fft.fft2(np.roll(grid, (-half, -half), axis=(0, 1))))
    return (np.stack(spectra) / (shape[0] * shape[1])).astype(np.complex64)


def gabor_energies(grey: np.ndarray) -> np.ndarray:
    """Quadrature energies of the Gabor bank on a grey image (see the module docstring).

    grey: h x w float32. Returns (16, h, w) float32, channel k = ``sqrt(even_k^2 + odd_k^2)`` with
    even_k / odd_k the responses of ``cv2.filter2D(grey, -1, kernel, borderType=BORDER_REFLECT)``
    for the k-th pair in GABOR_NAMES order (equal to float32 rounding). Deterministic.
    """
    h, w = grey.shape
    out = np.empty((len(GABOR_NAMES), h, w), np.float32)
    k = 0
    for wavelength in WAVELENGTHS:
        pad = _half_size(wavelength)
        size = (_dft_size(h + 2 * pad), _dft_size(w + 2 * pad))
        # zeros past h + 2 * pad rows and w + 2 * pad columns only round the grid up to a fast size:
        # no kernel centred on an image pixel reaches them. A complex grid with zero imaginary part:
        # OpenCV's complex-to-complex transform is about 3x faster than its real-to-complex one with
        # DFT_COMPLEX_OUTPUT
        padded = np.zeros((*size, 2), np.float32)
        padded[: h + 2 * pad, : w + 2 * pad, 0] = cv2.copyMakeBorder(
            grey, pad, pad, pad, pad, cv2.BORDER_REFLECT
        )
        spectrum = cv2.dft(padded, flags=cv2.DFT_COMPLEX_OUTPUT).view(np.complex64)[..., 0]
        product = np.empty(size, np.complex64)  # both reused by the wavelength's 4 orientations
        response = np.empty((*size, 2), np.float32)
        for kernel_spectrum in _bank_spectra(wavelength, size):
            np.multiply(spectrum, kernel_spectrum, out=product)
            cv2.idft(product.view(np.float32).reshape(*size, 2), dst=response, flags=cv2.DFT_COMPLEX_OUTPUT)
            # the modulus with numpy (cv2.magnitude was seen to differ in the last bit between calls
            # on identical inputs)
            np.abs(response.view(np.complex64)[pad : pad + h, pad : pad + w, 0], out=out[k])
            k += 1
    return out


def _window(wavelength: float) -> float:
    """Sigma of the Gaussian window that averages a Gabor energy: 1.5 wavelengths, clipped to [6, 12]."""
    return float(min(max(1.5 * wavelength, 6.0), 12.0))


# (sigma, channels): runs of consecutive texture channels (GABOR_NAMES order) sharing one window
_WINDOW_RUNS = [
    (sigma, [k for k, _ in run])
    for sigma, run in itertools.groupby(
        enumerate(_window(lam) for lam in WAVELENGTHS for _ in ORIENTATIONS), key=lambda kv: kv[1]
    )
]


def windowed_energies(energies: np.ndarray) -> np.ndarray:
    """The texture channels from the bank's energies: each averaged over its Gaussian window and
    compressed, at half resolution (see the module docstring).

    energies: (16, h, w) float32 from ``gabor_energies``. Returns h x w x 16 float32, channel k =
    ``log1p(E_k / 0.01) / 4`` of energy k averaged over a Gaussian of sigma ``_window`` (full-size
    pixels): the energies are area-averaged to ceil(h / 2) x ceil(w / 2) (``cv2.resize``
    INTER_AREA: 2 x 2 means on even sides), blurred with sigma' = sqrt(sigma^2 - 1) / 2 half-size
    pixels (BORDER_REFLECT), compressed, and bilinearly upsampled (``cv2.resize`` INTER_LINEAR, which
    aligns the image edges: the reflected borders of both sizes agree). The 2 x 2 average (variance
    1/4 full-size px^2 per axis) and the bilinear way back (3/4) add the 1 px^2 that sigma' leaves
    out. Deterministic.
    """
    _, h, w = energies.shape
    size = ((w + 1) // 2, (h + 1) // 2)
    # one resize per channel: OpenCV's area resampling takes at most 4 channels at odd scales
    means = [cv2.resize(e, size, interpolation=cv2.INTER_AREA) for e in energies]
    # the channels sharing a window are blurred as one multi-channel image
    runs = [
        cv2.GaussianBlur(
            cv2.merge([means[k] for k in channels]),
            (0, 0),
            np.sqrt(sigma * sigma - 1.0) / 2.0,
            borderType=cv2.BORDER_REFLECT,
        )
        for sigma, channels in _WINDOW_RUNS
    ]
    half = np.concatenate(runs, axis=2)
    half *= np.float32(1.0 / _ENERGY_SCALE)
    np.log1p(half, out=half)
    half *= np.float32(0.25)
    return cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR)


def working_size(shape: tuple[int, int], work_size: int | None = 256) -> tuple[int, int]:
    """(height, width) of the working resolution for an image of ``shape`` (H, W)."""
    h, w = int(shape[0]), int(shape[1])
    if not work_size or max(h, w) <= work_size:
        return h, w
    s = work_size / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"pixel_features: image must be H x W x 3, got {getattr(image, 'shape', None)}")
    if image.dtype != np.uint8:
        raise ValueError(f"pixel_features: image must be uint8 RGB, got {image.dtype}")
    return image


def pixel_features(
    image: np.ndarray, work_size: int | None = 256, full_resolution: bool = True
) -> np.ndarray:
    """Per-pixel appearance descriptors of an RGB image.

    image: H x W x 3 uint8 RGB. work_size: longest side of the working resolution (None = full).
    Returns H x W x D float32 (D = len(FEATURE_NAMES); channels as in the module docstring), or
    h x w x D at the working resolution when ``full_resolution`` is False. Deterministic.
    """
    image = _check_image(image)
    h, w = image.shape[:2]
    wh, ww = working_size((h, w), work_size)
    small = image if (wh, ww) == (h, w) else cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
    rgb = small.astype(np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)  # L in [0, 100], a/b in about [-127, 127]
    lab *= 0.01
    grey = lab[..., 0].copy()
    out = np.empty((wh, ww, len(FEATURE_NAMES)), np.float32)
    out[..., 0:3] = cv2.GaussianBlur(lab, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
    mean = cv2.GaussianBlur(grey, (0, 0), 4.0, borderType=cv2.BORDER_REFLECT)
    sq = cv2.GaussianBlur(grey * grey, (0, 0), 4.0, borderType=cv2.BORDER_REFLECT)
    out[..., 3] = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    out[..., 4:] = windowed_energies(gabor_energies(grey))
    if full_resolution and (wh, ww) != (h, w):
        # cv2.resize handles at most 512 channels; D is 20.
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


class RegionStats(NamedTuple):
    """Statistics of one region's feature vectors.

    mean: (D,) float64. spread: (D,) variances, or (D, D) covariance when asked for (population
    estimates, divided by n). n: number of pixels.
    """

    mean: np.ndarray
    spread: np.ndarray
    n: int


def region_descriptors(
    features: np.ndarray, label_map: np.ndarray, *, ignore: int | None = 0, covariance: bool = False
) -> dict[int, RegionStats]:
    """Per-region mean, variance (or covariance) and pixel count of a feature map.

    features: H x W x D (any float dtype). label_map: H x W non-negative integers. Pixels labelled
    ``ignore`` (default 0 = unassigned; None keeps every label) are skipped. Returns
    {label: RegionStats} for every label present, sorted by label. Means and variances come from
    ``np.bincount`` sums over the whole map (one pass per channel); covariances from one matrix
    product per region over that region's own pixels (labels sorted once), never per-region masks.
    """
    if features.ndim != 3 or features.shape[:2] != label_map.shape:
        raise ValueError(
            f"region_descriptors: features {features.shape} do not match label map {label_map.shape}"
        )
    d = features.shape[2]
    labels = np.asarray(label_map).ravel().astype(np.int64, copy=False)
    x = features.reshape(-1, d)
    if ignore is not None:
        keep = labels != ignore
        if not keep.all():
            labels, x = labels[keep], x[keep]
    if labels.size == 0:
        return {}
    if labels.min() < 0:
        raise ValueError("region_descriptors: label map has negative ids")
    size = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=size).astype(np.float64)
    present = np.flatnonzero(counts)
    sums = np.empty((size, d), np.float64)
    for j in range(d):
        sums[:, j] = np.bincount(labels, weights=x[:, j], minlength=size)
    means = sums[present] / counts[present, None]
    out: dict[int, RegionStats] = {}
    if not covariance:
        sq = np.empty((size, d), np.float64)
        for j in range(d):
            col = x[:, j].astype(np.float64)
            sq[:, j] = np.bincount(labels, weights=col * col, minlength=size)
        var = np.maximum(sq[present] / counts[present, None] - means**2, 0.0)
        for i, lab in enumerate(present):
            out[int(lab)] = RegionStats(means[i], var[i], int(counts[lab]))
        return out
    order = np.argsort(labels, kind="stable")
    xs = x[order].astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(counts[present]).astype(np.int64)])
    for i, lab in enumerate(present):
        block = xs[starts[i] : starts[i + 1]] - means[i]
        out[int(lab)] = RegionStats(means[i], block.T @ block / block.shape[0], int(counts[lab]))
    return out
