"""pixel_features / region_descriptors: shapes, determinism and that textures separate."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from textureade.features import (
    FEATURE_NAMES,
    GABOR_NAMES,
    ORIENTATIONS,
    WAVELENGTHS,
    _kernels,
    _window,
    gabor_energies,
    pixel_features,
    region_descriptors,
    windowed_energies,
    working_size,
)


def _grey_rgb(name: str) -> np.ndarray:
    g = getattr(skimage.data, name)()
    return np.repeat(g[..., None], 3, axis=2)


def test_shape_dtype_names_and_determinism():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (100, 140, 3), dtype=np.uint8)
    f1 = pixel_features(img)
    f2 = pixel_features(img.copy())
    assert f1.shape == (100, 140, len(FEATURE_NAMES))
    assert f1.dtype == np.float32
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == 20
    assert np.isfinite(f1).all()
    np.testing.assert_array_equal(f1, f2)


def test_working_resolution_and_upsampling():
    img = np.full((512, 683, 3), 128, np.uint8)
    assert working_size(img.shape[:2]) == (192, 256)
    assert working_size((100, 80)) == (100, 80)
    small = pixel_features(img, full_resolution=False)
    assert small.shape == (192, 256, len(FEATURE_NAMES))
    full = pixel_features(img)
    assert full.shape == (512, 683, len(FEATURE_NAMES))
    # flat grey: L = 0.5-ish, no chroma, no texture energy anywhere
    assert abs(float(full[..., 0].mean()) - 0.536) < 0.01
    assert np.abs(full[..., 1:3]).max() < 1e-3
    assert full[..., 3:].max() < 1e-3


def test_bad_input_raises():
    with pytest.raises(ValueError):
        pixel_features(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        pixel_features(np.zeros((10, 10, 3), np.float32))


def test_textures_separate_and_crops_agree():
    """Two crops of one texture have close region means; different textures are far apart.

    Distances are between region means in units of the pooled per-pixel standard deviation
    (a Fisher-like ratio), so they are comparable across channels.
    """
    d = len(FEATURE_NAMES)
    crops = {}
    for name in ("brick", "grass", "gravel"):
        img = _grey_rgb(name)
        crops[name] = [
            pixel_features(img[:256, :256]).reshape(-1, d),
            pixel_features(img[256:, 256:]).reshape(-1, d),
        ]
    sd = np.concatenate([c for pair in crops.values() for c in pair]).std(0) + 1e-6

    def dist(x, y):
        return float(np.linalg.norm((x.mean(0) - y.mean(0)) / sd))

    same = {n: dist(a, b) for n, (a, b) in crops.items()}
    names = list(crops)
    between = {(x, y): dist(crops[x][0], crops[y][1]) for x in names for y in names if x != y}
    # each texture's two crops are closer to each other than to either crop of any other texture
    for (x, y), dxy in between.items():
        assert dxy > 1.2 * max(same[x], same[y]), (x, y, between, same)
    assert between[("brick", "grass")] > 4 * max(same.values()), (between, same)
    # per pixel: nearest mean (learnt on one crop) classifies the other crop of grass vs gravel
    m_grass, m_gravel = crops["grass"][0].mean(0) / sd, crops["gravel"][0].mean(0) / sd
    x = crops["grass"][1] / sd
    acc = float((np.linalg.norm(x - m_grass, axis=1) < np.linalg.norm(x - m_gravel, axis=1)).mean())
    assert acc > 0.8, acc


def test_colour_channels_follow_lab():
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, :16] = (255, 0, 0)  # red: a > 0
    img[:, 16:] = (0, 0, 255)  # blue: b < 0
    f = pixel_features(img)
    assert f[16, 4, 1] > 0.5 and f[16, 28, 2] < -0.5


def test_region_descriptors_match_direct_computation():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(40, 50, 4)).astype(np.float32)
    labels = rng.integers(0, 5, (40, 50))
    labels[labels == 3] = 4  # label 3 absent
    stats = region_descriptors(feats, labels)
    assert sorted(stats) == [1, 2, 4]  # 0 ignored by default, 3 absent
    for lab, st in stats.items():
        x = feats[labels == lab].astype(np.float64)
        assert st.n == len(x)
        np.testing.assert_allclose(st.mean, x.mean(0), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(st.spread, x.var(0), rtol=1e-6, atol=1e-9)
    cov = region_descriptors(feats, labels, ignore=None, covariance=True)
    assert sorted(cov) == [0, 1, 2, 4]
    x = feats[labels == 2].astype(np.float64)
    np.testing.assert_allclose(cov[2].spread, np.cov(x.T, bias=True), rtol=1e-6, atol=1e-9)
    assert region_descriptors(feats, np.zeros((40, 50), int)) == {}
    with pytest.raises(ValueError):
        region_descriptors(feats, labels[:10])


def test_working_size_map_of_a_flat_image_has_no_texture():
    """The miner's view (``full_resolution=False``): working-size shape, texture channels ~0 on a flat image."""
    d = len(FEATURE_NAMES)
    flat = pixel_features(np.full((40, 60, 3), 90, np.uint8), work_size=128, full_resolution=False)
    assert flat.shape == (40, 60, d) and np.abs(flat[..., 3:]).max() < 1e-3
    small = pixel_features(np.full((300, 400, 3), 90, np.uint8), work_size=112, full_resolution=False)
    assert small.shape == (84, 112, d)


def _gabor_spatial_reference(grey: np.ndarray) -> np.ndarray:
    """The bank's energies by direct spatial filtering (test-only reference): each even and odd
    kernel correlated with ``cv2.filter2D`` (BORDER_REFLECT), then sqrt(even^2 + odd^2)."""
    out = []
    for lam in WAVELENGTHS:
        for even, odd in _kernels(lam):
            re = cv2.filter2D(grey, cv2.CV_64F, even.astype(np.float64), borderType=cv2.BORDER_REFLECT)
            im = cv2.filter2D(grey, cv2.CV_64F, odd.astype(np.float64), borderType=cv2.BORDER_REFLECT)
            out.append(np.sqrt(re * re + im * im))
    return np.stack(out)


@pytest.mark.parametrize("shape", [(84, 112), (40, 60), (17, 9), (192, 256)])
def test_gabor_energies_equal_spatial_filtering(shape):
    """The frequency-domain bank gives the spatial responses (to float32 rounding), on sizes
    smaller than the largest kernel (47 x 47) too, where the reflect border folds more than once."""
    rng = np.random.default_rng(sum(shape))
    grey = rng.random(shape, dtype=np.float32)
    grey[: shape[0] // 2] *= 0.2  # an edge and a flat-ish half
    got = gabor_energies(grey)
    assert got.shape == (len(GABOR_NAMES), *shape) and got.dtype == np.float32
    ref = _gabor_spatial_reference(grey.astype(np.float64))
    assert np.abs(got - ref).max() < 1e-5 * max(float(ref.max()), 1.0), np.abs(got - ref).max()
    np.testing.assert_array_equal(got, gabor_energies(grey.copy()))  # deterministic


def _windows_full_size_reference(energies: np.ndarray) -> np.ndarray:
    """The texture channels with every Gaussian window applied at full size (test-only reference):
    ``cv2.GaussianBlur`` of each energy (sigma ``_window``, BORDER_REFLECT), then log1p(E / 0.01) / 4."""
    lams = [lam for lam in WAVELENGTHS for _ in ORIENTATIONS]
    out = [
        cv2.GaussianBlur(e, (0, 0), _window(lam), borderType=cv2.BORDER_REFLECT)
        for e, lam in zip(energies, lams)
    ]
    return np.log1p(np.stack(out, axis=2) / 0.01) / 4


@pytest.mark.parametrize(
    "shape,tol", [((84, 112), 0.003), ((75, 112), 0.003), ((112, 63), 0.003), ((17, 9), 0.01)]
)
def test_half_size_windows_match_full_size_windows(shape, tol):
    """Windows computed at half resolution stay within 0.003 of the full-size Gaussian windows (the
    texture channels' spread is ~0.1), odd sides included; 0.01 on a 17 x 9 image, smaller than the
    windows themselves."""
    img = _grey_rgb("gravel")[: shape[0] * 3 : 3, : shape[1] * 3 : 3].astype(np.float32) / 255
    grey = img[..., 0].copy()
    grey[:, : shape[1] // 2] *= 0.5  # two textures
    energies = gabor_energies(grey)
    got = windowed_energies(energies)
    assert got.shape == (*shape, len(GABOR_NAMES)) and got.dtype == np.float32
    ref = _windows_full_size_reference(energies)
    assert np.abs(got - ref).max() < tol, np.abs(got - ref).max()
    assert float(ref.std()) > 0.05  # the values do vary: the bound is not trivial
    np.testing.assert_array_equal(got, windowed_energies(energies.copy()))  # deterministic
