"""Pictures and pages shared by the dataset preview and `bench report`: overlays, thumbnails, HTML.

Conventions: images are H x W x 3 uint8 RGB, label maps H x W integer arrays (0 = unassigned,
1..K regions). A thumbnail is at most :data:`THUMB_SIDE` px on its longer side, JPEG quality
:data:`JPEG_QUALITY`. Thumbnail file names carry a content key (:func:`content_key`: the pixels
and the rendering settings), so a re-run finds the file already there and does not rewrite it.

Pages are plain HTML5 with two local assets (``assets/site.css``, ``assets/site.js``, shipped
beside this module in ``static/``): no CDN, no server; they open from disk.
"""

from __future__ import annotations

import colorsys
import hashlib
import html
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from textureade.fileio import atomic_path

THUMB_SIDE = 256
JPEG_QUALITY = 85
#: bump when the drawing changes, so old thumbnails are not reused
RENDER_VERSION = 1
STATIC = Path(__file__).with_name("static")
ASSETS = ("site.css", "site.js")


def palette(n: int) -> np.ndarray:
    """(n + 1) x 3 uint8 colours: row 0 (unassigned) grey, row k a distinct hue (golden-ratio steps)."""
    out = np.zeros((n + 1, 3), np.uint8)
    out[0] = (128, 128, 128)
    for k in range(1, n + 1):
        r, g, b = colorsys.hsv_to_rgb((k * 0.618033988749895) % 1.0, 0.75, 0.95)
        out[k] = (round(r * 255), round(g * 255), round(b * 255))
    return out


def hex_colour(rgb: np.ndarray) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in rgb[:3])


def thumb_shape(h: int, w: int, side: int = THUMB_SIDE) -> tuple[int, int]:
    """(h, w) scaled so the longer side is at most ``side`` (never enlarged)."""
    s = min(1.0, side / max(h, w, 1))
    return max(1, round(h * s)), max(1, round(w * s))


def resize_image(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an RGB image to (h, w)."""
    from PIL import Image

    if image.shape[:2] == hw:
        return image
    return np.asarray(Image.fromarray(image).resize((hw[1], hw[0]), Image.BILINEAR))


def boundaries(labels: np.ndarray) -> np.ndarray:
    """H x W bool: pixels whose right or lower neighbour has another label."""
    b = np.zeros(labels.shape, bool)
    b[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    b[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return b


def overlay(image: np.ndarray, labels: np.ndarray, colours: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The image with each region tinted by ``colours[label]`` (unassigned left untinted) and the
    region boundaries drawn in white. image and labels of the same H x W; returns H x W x 3 uint8."""
    lab = np.minimum(labels, len(colours) - 1)
    tint = colours[lab].astype(np.float32)
    img = image.astype(np.float32)
    mix = np.where((lab > 0)[..., None], (1 - alpha) * img + alpha * tint, img)
    mix[boundaries(labels)] = 255.0
    return np.clip(mix + 0.5, 0, 255).astype(np.uint8)


def content_key(*arrays: np.ndarray, extra: str = "") -> str:
    """16 hex digits of sha256 over the arrays' shapes, dtypes and bytes, the render settings and
    ``extra``: the same pixels drawn the same way give the same key."""
    h = hashlib.sha256(f"v{RENDER_VERSION}|{THUMB_SIDE}|{JPEG_QUALITY}|{extra}".encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


def write_jpeg_once(path: Path, rgb: np.ndarray) -> bool:
    """Write ``rgb`` as a JPEG at ``path`` unless the file exists; True when it was written.

    Atomic (a temporary file renamed) but not fsynced one by one: the caller calls
    :func:`sync_written` once after a batch (two fsyncs per thumbnail made a 2,000-image report
    spend most of its time in fsync)."""
    from PIL import Image

    if path.is_file():
        return False
    with atomic_path(path, durable=False) as tmp:
        Image.fromarray(rgb).save(tmp, format="JPEG", quality=JPEG_QUALITY)
    return True


def sync_written(n_written: int) -> None:
    """Make the thumbnails written in a batch durable together (one ``os.sync()``; none written: no-op)."""
    if n_written:
        os.sync()


def esc(x: Any) -> str:
    """HTML-escaped text of ``x``."""
    return html.escape("" if x is None else str(x), quote=True)


def fmt(x: Any, digits: int = 3) -> str:
    """``x`` as a number with ``digits`` decimals, or "n/a" for None, NaN or a non-number (the tables
    of the dataset preview and of `bench report`, Markdown and HTML)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if math.isnan(v) else f"{v:.{digits}f}"


def copy_assets(out: Path) -> None:
    """``out/assets/site.css`` and ``site.js`` from the package (rewritten only when changed)."""
    dest = out / "assets"
    dest.mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        src = STATIC / name
        target = dest / name
        if not target.is_file() or target.read_bytes() != src.read_bytes():
            with atomic_path(target) as tmp:
                shutil.copyfile(src, tmp)


def page(title: str, body: str, root: str = ".", scripts: tuple[str, ...] = ()) -> str:
    """A complete HTML page. root: the relative path from the page to the site root (for assets);
    scripts: extra script files (relative to the page) loaded before site.js."""
    extra = "".join(f'<script src="{esc(s)}"></script>\n' for s in scripts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="icon" href="data:,">\n<link rel="stylesheet" href="{root}/assets/site.css">\n'
        f'</head><body>\n{body}\n{extra}<script src="{root}/assets/site.js"></script>\n</body></html>\n'
    )


def data_script(name: str, value: Any) -> str:
    """A JavaScript file setting ``window[name]`` to ``value`` (JSON): pages opened from disk cannot
    fetch() JSON, but they can load a script. ``</`` is escaped so the text cannot end a tag."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    safe = text.replace("</", "<\\/")
    return f"window[{json.dumps(name)}] = {safe};\n"
