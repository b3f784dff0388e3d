"""Synthetic mosaics: determinism, K range, valid descriptions, texture folders, dataset round trip, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from textureade.describe.validate import descriptions_problems
from textureade.errors import UserError
from textureade.mosaic import make_mosaics, mosaic_samples, parse_k, random_partition
from textureade.textures import default_textures, load_texture_folder


@pytest.fixture(scope="module")
def batch():
    return list(mosaic_samples(6, k=(2, 5), seed=7, size=(96, 128)))


def test_default_bank_is_offline_and_named():
    bank = default_textures()
    assert len(bank) >= 6
    assert len({t.name for t in bank}) == len(bank)
    for t in bank:
        assert t.image.dtype == np.uint8 and t.image.ndim == 3 and t.image.shape[2] == 3
        assert min(t.image.shape[:2]) >= 64 and t.licence


def test_determinism_under_a_seed(batch):
    again = list(mosaic_samples(6, k=(2, 5), seed=7, size=(96, 128)))
    for a, b in zip(batch, again, strict=True):
        assert a.id == b.id
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.label_map, b.label_map)
        assert a.descriptions == b.descriptions
    other = next(iter(mosaic_samples(1, k=(2, 5), seed=8, size=(96, 128))))
    assert not np.array_equal(other.label_map, batch[0].label_map)


def test_samples_respect_k_and_cover_every_region(batch):
    ks = [s.k for s in batch]
    assert all(2 <= k <= 5 for k in ks) and len(set(ks)) > 1
    for s in batch:
        assert s.image.shape == (96, 128, 3) and s.label_map.shape == (96, 128)
        counts = np.bincount(s.label_map.ravel(), minlength=s.k + 1)
        assert counts[0] == 0  # every pixel belongs to a texture
        assert len(counts) == s.k + 1 and (counts[1:] >= 0.05 * s.label_map.size).all()
        assert len(set(s.region_names)) == s.k
        assert s.source == "mosaic" and s.split == "test" and s.provenance["k"] == s.k
    for s in mosaic_samples(3, k="3", seed=1, size=(64, 64)):
        assert s.k == 3


def test_descriptions_valid_distinct_and_name_the_texture(batch):
    for s in batch:
        assert descriptions_problems(s.descriptions) == [None] * s.k
        for name, text in zip(s.region_names, s.descriptions, strict=True):
            assert text.startswith(f"Texture of {name}")


def test_regions_show_their_texture():
    """Each region's pixels come from its texture: grey textures stay grey, colour ones do not."""
    bank = default_textures()
    grey = {t.name for t in bank if np.ptp(t.image.astype(int), axis=2).max() == 0}
    assert {"brick wall", "grass", "gravel"} <= grey
    for s in mosaic_samples(4, k=(3, 4), seed=2, size=(64, 64)):
        for idx, name in enumerate(s.region_names, start=1):
            px = s.image[s.label_map == idx].astype(int)
            spread = np.ptp(px, axis=1).max()
            assert (spread == 0) == (name in grey), (s.id, name)


def test_partition_layouts_are_curved_voronoi():
    rng = np.random.default_rng(0)
    labels, cells = random_partition(rng, 4, (128, 128))
    assert set(np.unique(labels)) == {1, 2, 3, 4} and 4 <= cells <= 8
    # warped borders: no region is an axis-aligned box
    for lab in range(1, 5):
        ys, xs = np.nonzero(labels == lab)
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert len(ys) < box


@pytest.mark.parametrize(
    "text,expected", [("2..5", (2, 5)), ("3", (3, 3)), ("2-4", (2, 4)), (3, (3, 3)), ((1, 6), (1, 6))]
)
def test_parse_k(text, expected):
    assert parse_k(text) == expected


@pytest.mark.parametrize("bad", ["5..2", "0", "2..9", "two", "2..", (1, 2, 3)])
def test_parse_k_rejects(bad):
    with pytest.raises(UserError):
        parse_k(bad)


def _write_textures(folder: Path, n: int, corrupt: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = (rng.random((48, 64, 3)) * (40 + 50 * i)).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"my_texture-{i}.png")
    if corrupt:
        (folder / "broken.jpg").write_bytes(b"not an image at all")
        (folder / "notes.txt").write_text("ignored")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "tiny.png")


def test_texture_folder_skips_bad_files_with_a_warning(tmp_path):
    _write_textures(tmp_path / "tex", 3)
    with pytest.warns(UserWarning) as caught:
        bank = load_texture_folder(tmp_path / "tex")
    messages = " | ".join(str(w.message) for w in caught)
    assert "unreadable texture broken.jpg" in messages and "tiny.png: smaller than 32 px" in messages
    assert [t.name for t in bank] == ["my texture 0", "my texture 1", "my texture 2"]
    with pytest.warns(UserWarning):
        samples = list(mosaic_samples(3, k=(2, 3), seed=0, textures=tmp_path / "tex", size=(64, 64)))
    assert all(s.region_names[0].startswith("my texture") for s in samples)


def test_bad_textures_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_texture_folder(tmp_path / "missing")
    _write_textures(tmp_path / "one", 1)
    with pytest.warns(UserWarning), pytest.raises(UserError, match="1 readable"):
        load_texture_folder(tmp_path / "one")
    _write_textures(tmp_path / "three", 3, corrupt=False)
    with pytest.warns(UserWarning), pytest.raises(UserError, match="at least 4"):
        list(mosaic_samples(2, k=(2, 4), textures=tmp_path / "three"))


def test_make_mosaics_writes_a_readable_dataset(tmp_path, batch):
    from textureade.store import read_textureade

    out = make_mosaics(tmp_path / "ds", 6, k=(2, 5), seed=7, size=(96, 128))
    assert (out / "README.md").exists() and (out / "manifest.json").exists()
    back = sorted(read_textureade(out), key=lambda s: s.id)
    assert [s.id for s in back] == [s.id for s in batch]
    for a, b in zip(back, batch, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.label_map, b.label_map)
        assert a.descriptions == b.descriptions and a.region_names == b.region_names
    card = (out / "README.md").read_text()
    assert "brick wall" in card and "seed 7" in card
    with pytest.raises(UserError, match="already holds"):
        make_mosaics(tmp_path / "ds", 2)


def test_cli_mosaic(tmp_path):
    exe = [sys.executable, "-m", "textureade.cli"]
    ok = subprocess.run(
        [*exe, "mosaic", "--out", str(tmp_path / "m"), "--n", "2", "--k", "2..3", "--size", "64"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "wrote 2 mosaics" in ok.stdout
    bad = subprocess.run(
        [*exe, "mosaic", "--out", str(tmp_path / "b"), "--k", "7"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "k range" in bad.stderr and "Traceback" not in bad.stderr
