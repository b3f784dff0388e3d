"""Image and annotation decoding: every convertible mode converted, everything else a one-line ReadError."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from textureade.readers import ReadError
from textureade.readers.images import read_label_map, read_rgb, read_rgb_encoded


def _png(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


RGB = np.random.default_rng(0).integers(0, 255, (6, 8, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "CMYK", "1", "I;16"])
def test_photos_of_any_mode_become_rgb_uint8(mode):
    src = Image.fromarray(RGB)
    if mode == "I;16":
        im = Image.fromarray(RGB[..., 0].astype(np.uint16) * 257)
        assert im.mode == "I;16"
    else:
        im = src.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "I;16" else "PNG"
    out = read_rgb(_png(im, fmt))
    assert out.shape == (6, 8, 3) and out.dtype == np.uint8
    if mode == "RGBA":
        assert np.array_equal(out, RGB)
    if mode == "I;16":
        assert np.array_equal(out[..., 1], RGB[..., 0])  # high byte kept


def test_label_maps_are_read_as_stored_integers():
    lab = np.array([[0, 1, 2, 150], [3, 3, 0, 149]], np.uint8)
    pal = Image.fromarray(lab, mode="P")
    pal.putpalette([255 - (i % 256) for i in range(768)])  # colours unrelated to the indices
    assert np.array_equal(read_label_map(_png(pal)), lab)
    wide = np.array([[0, 300], [4000, 7]], np.uint16)
    assert read_label_map(_png(Image.fromarray(wide))).tolist() == [[0, 300], [4000, 7]]
    gray_rgb = Image.fromarray(np.repeat(lab[..., None], 3, axis=2))
    assert np.array_equal(read_label_map(_png(gray_rgb)), lab)
    with pytest.raises(ReadError, match="colour"):
        read_label_map(_png(Image.fromarray(RGB)))
    with pytest.raises(ReadError, match="mode F"):
        read_label_map(_png(Image.fromarray(np.zeros((2, 2), np.float32)), "TIFF"))


def test_colour_codes_are_kept_exactly():
    codes = np.array([[[110, 162, 85], [0, 0, 0]]], np.uint8)
    assert np.array_equal(read_rgb_encoded(_png(Image.fromarray(codes))), codes)
    pal = Image.fromarray(codes).convert("P", palette=Image.Palette.ADAPTIVE, colors=2)
    assert np.array_equal(read_rgb_encoded(_png(pal)), codes)  # a palette PNG: its colours are the code
    with pytest.raises(ReadError, match="expected an RGB-encoded"):
        read_rgb_encoded(_png(Image.fromarray(codes[..., 0])))


def test_corrupt_truncated_and_missing_files(tmp_path):
    data = _png(Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    for bad in (data[: len(data) // 2], b"not an image at all"):
        with pytest.raises(ReadError, match="cannot be decoded") as exc:
            read_rgb(bad)
        assert "\n" not in str(exc.value)
    with pytest.raises(ReadError, match="missing"):
        read_rgb(tmp_path / "absent.jpg")
