"""Decoding image and annotation files (paths or bytes) into numpy arrays, converting what can be.

- :func:`read_rgb`: any photo (RGB, grayscale, CMYK, palette, RGBA, 16-bit) -> H x W x 3 uint8 RGB.
  :func:`read_photo` also gives the file's bytes when they decode to exactly those pixels.
- :func:`read_label_map`: a one-channel annotation (8-bit, 16-bit, palette *by index*, or grayscale
  stored as RGB) -> H x W int32 of the stored integer values.
- :func:`read_rgb_encoded`: a colour-encoded annotation (full ADE20K ``_seg.png``/``_parts_N.png``)
  -> H x W x 3 uint8 with the exact stored channel values (palette PNGs are expanded to their colours,
  because there the colour *is* the code).

Every failure (missing, truncated, corrupt, wrong kind) raises :class:`ReadError` with one line.
EXIF orientation is never applied: ADE20K annotations are aligned with the stored pixels.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from textureade.errors import first_line
from textureade.readers.base import ReadError

Source = str | os.PathLike | bytes


def _what(src: Source) -> str:
    return "bytes" if isinstance(src, bytes | bytearray) else Path(src).name


def require_file(src: Source, what: str = "image") -> None:
    """ReadError unless ``src`` (a path; bytes pass) is a regular file (or a link to one)."""
    if not isinstance(src, bytes | bytearray) and not Path(src).is_file():
        if Path(src).is_dir():
            raise ReadError(f"{what} {_what(src)} is a directory, not an image file")
        if Path(src).is_symlink():
            raise ReadError(f"{what} {_what(src)} is a broken or looping symbolic link")
        if Path(src).exists():
            raise ReadError(f"{what} {_what(src)} is not a regular file")
        raise ReadError(f"{what} missing: {src}")


def open_image(src: Source, what: str = "image") -> Image.Image:
    """Open and fully decode an image (so truncation shows here). Raises ReadError."""
    require_file(src, what)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's "possibly corrupt EXIF" and friends
            im = Image.open(io.BytesIO(src) if isinstance(src, bytes | bytearray) else src)
            im.load()
    except Image.DecompressionBombError as exc:
        raise ReadError(f"{what} {_what(src)} is implausibly large ({exc})") from None
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, struct.error, zlib.error...
        raise ReadError(
            f"{what} {_what(src)} cannot be decoded (truncated or corrupt): {first_line(exc)}"
        ) from None
    return im


def _high_bits_to_uint8(arr: np.ndarray) -> np.ndarray:
    """16/32-bit integer or float intensities -> uint8 by scaling the observed range type."""
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        top = 1.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(arr) / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    top = int(arr.max()) if arr.size else 0
    shift = 8 if top > 255 else 0
    return np.clip(arr.astype(np.int64) >> shift, 0, 255).astype(np.uint8)


def to_rgb(im: Image.Image) -> np.ndarray:
    """A decoded PIL image of any mode -> H x W x 3 uint8 RGB (alpha dropped, CMYK/palette/gray converted)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        gray = _high_bits_to_uint8(np.asarray(im))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if im.mode != "RGB":
        im = im.convert("RGBA").convert("RGB") if im.mode in ("P", "PA", "LA") else im.convert("RGB")
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))


def read_rgb(src: Source, what: str = "image") -> np.ndarray:
    """Read a photo as H x W x 3 uint8 RGB. Raises ReadError."""
    return to_rgb(open_image(src, what))


#: Formats whose files a store keeps as they are (any decoder reads them the same way).
KEPT_FORMATS = ("JPEG", "PNG")
_ORIENTATION = 0x0112  # the EXIF tag ``datasets`` rotates images by


def read_photo(src: Source, what: str = "image") -> tuple[np.ndarray, bytes | None]:
    """:func:`read_rgb`, plus the file's bytes when they can be stored unchanged.

    Returns (H x W x 3 uint8 RGB, bytes or None). The bytes are given for a JPEG or PNG that
    decodes to 8-bit RGB as it is, with no EXIF orientation other than 1 (``datasets`` rotates by
    it; readers never do), so that decoding the bytes gives exactly the returned pixels. None when
    the pixels had to be converted (grayscale, CMYK, palette, alpha, 16-bit, other formats, rotated).
    """
    im = open_image(src, what)
    rgb = to_rgb(im)
    keep = im.format in KEPT_FORMATS and im.mode == "RGB" and im.getexif().get(_ORIENTATION, 1) == 1
    if not keep:
        return rgb, None
    return rgb, bytes(src) if isinstance(src, bytes | bytearray) else Path(src).read_bytes()


def to_label_map(im: Image.Image, what: str = "annotation") -> np.ndarray:
    """A decoded one-channel annotation -> H x W int32 of its stored values.

    Mode L/I;16/I as is; mode P by palette *index* (never colour); LA/PA take the first band;
    '1' gives 0/1; RGB/RGBA only when the channels are equal (grayscale saved as colour), else ReadError.
    """
    mode = im.mode
    if mode in ("L", "P", "I", "I;16", "I;16B", "I;16L", "1"):
        arr = np.asarray(im)
    elif mode in ("LA", "PA"):
        arr = np.asarray(im)[:, :, 0]
    elif mode in ("RGB", "RGBA"):
        rgb = np.asarray(im)[:, :, :3]
        if not (np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 0], rgb[:, :, 2])):
            raise ReadError(f"{what} is a colour ({mode}) image, expected a one-channel label map")
        arr = rgb[:, :, 0]
    else:
        raise ReadError(f"{what} has image mode {mode}, expected a one-channel label map")
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating) or (arr.size and arr.min() < 0):
        raise ReadError(f"{what} holds non-integer or negative values (mode {mode})")
    return arr.astype(np.int32)


def read_label_map(src: Source, what: str = "annotation") -> np.ndarray:
    """Read a one-channel annotation PNG as H x W int32. Raises ReadError."""
    return to_label_map(open_image(src, what), what)


def to_rgb_encoded(im: Image.Image, what: str = "segmentation") -> np.ndarray:
    """A colour-coded annotation -> H x W x 3 uint8 with the stored channel values (alpha dropped)."""
    if im.mode == "RGB":
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    if im.mode in ("RGBA", "RGBX", "P", "PA"):
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    raise ReadError(f"{what} has image mode {im.mode}, expected an RGB-encoded ADE20K map")


def read_rgb_encoded(src: Source, what: str = "segmentation") -> np.ndarray:
    """Read a full-ADE20K colour-coded PNG (``_seg.png``, ``_parts_N.png``). Raises ReadError."""
    return to_rgb_encoded(open_image(src, what), what)


def check_same_size(image: np.ndarray, other: np.ndarray, what: str) -> None:
    """Raise ReadError when ``other`` (H x W or H x W x C) is not the image's size."""
    if other.shape[:2] != image.shape[:2]:
        h, w = other.shape[:2]
        ih, iw = image.shape[:2]
        raise ReadError(f"{what} is {w}x{h} but the image is {iw}x{ih}")


def check_class_range(labels: np.ndarray, n_classes: int, what: str) -> None:
    """Raise ReadError when ``labels`` holds a value above ``n_classes`` (ids are 0..n_classes)."""
    top = int(labels.max()) if labels.size else 0
    if top > n_classes:
        n_out = int(np.count_nonzero(labels > n_classes))
        raise ReadError(
            f"{what} holds class ids outside 0..{n_classes} (max {top}, {n_out} pixels); "
            f"not a SceneParse{n_classes} annotation"
        )
