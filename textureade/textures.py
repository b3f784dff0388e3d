"""Texture banks for synthetic mosaics: the default offline bank, or any folder of images.

The default bank is built from images bundled with scikit-image (no download), each one free to
reuse: brick, grass and gravel are CC0 textures (cc0textures.com); the others are crops of
scikit-image's CC0 / public-domain photographs (coffee: CC0, Rachel Michetti; immunohistochemistry:
no known copyright restrictions; hubble_deep_field: NASA, public domain; retina: CC0; cell: CC0).
Crops keep only the textured part of the photograph (e.g. the wooden table beside the coffee cup).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textureade.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
MIN_SIDE = 32
"""Textures whose shorter side is below this many pixels are skipped."""


@dataclass(frozen=True)
class Texture:
    """One texture: a name (what descriptions call it), an H x W x 3 uint8 RGB image, where it came from."""

    name: str
    image: np.ndarray
    source: str = ""
    licence: str = ""


# name -> (skimage.data function, (row slice), (column slice), downscale factor, licence)
_DEFAULTS: list[tuple[str, str, tuple[int, int], tuple[int, int], int, str]] = [
    ("brick wall", "brick", (0, 512), (0, 512), 1, "CC0 (cc0textures.com Bricks25)"),
    ("grass", "grass", (0, 512), (0, 512), 1, "CC0 (cc0textures.com Grass)"),
    ("gravel", "gravel", (0, 512), (0, 512), 1, "CC0 (cc0textures.com Gravel04)"),
    ("wood grain", "coffee", (0, 380), (475, 600), 1, "CC0 (Rachel Michetti)"),
    ("stained cell tissue", "immunohistochemistry", (0, 190), (0, 230), 1, "no known copyright restrictions"),
    ("star field", "hubble_deep_field", (0, 872), (0, 1000), 2, "public domain (NASA)"),
    ("retinal tissue", "retina", (300, 1000), (400, 1000), 2, "CC0"),
    ("grey mottled surface", "cell", (0, 220), (0, 340), 1, "CC0"),
]


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 4:
        image = image[..., :3]
    return np.ascontiguousarray(image.astype(np.uint8))


def default_textures() -> list[Texture]:
    """The default bank (8 textures) from scikit-image's bundled images; no network needed."""
    import cv2
    import skimage.data

    out = []
    for name, fn, (r0, r1), (c0, c1), down, licence in _DEFAULTS:
        img = _as_rgb(getattr(skimage.data, fn)())[r0:r1, c0:c1]
        if down > 1:
            h, w = img.shape[:2]
            img = cv2.resize(img, (w // down, h // down), interpolation=cv2.INTER_AREA)
        out.append(Texture(name, img, source=f"skimage.data.{fn}[{r0}:{r1}, {c0}:{c1}]", licence=licence))
    return out


def _name_from_stem(stem: str) -> str:
    return " ".join(stem.replace("_", " ").replace("-", " ").split()).lower() or "texture"


def load_texture_folder(path: str | Path, min_count: int = 2) -> list[Texture]:
    """Every readable image in ``path`` (not recursive), sorted by file name, as a texture.

    The name is the file stem with ``_``/``-`` as spaces, lower case (``red_brick.jpg`` -> "red brick");
    repeated names get " 2", " 3", ... Unreadable files and images under 32 px are skipped with a
    warning. Raises UserError when the folder is missing or yields fewer than ``min_count`` textures.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(path)
    if not folder.is_dir():
        raise UserError(f"textures folder {folder} does not exist; pass a folder of texture images")
    textures: list[Texture] = []
    seen: dict[str, int] = {}
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        if file.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            with Image.open(file) as im:
                img = np.asarray(im.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            warnings.warn(f"skipping unreadable texture {file.name}: {exc}", stacklevel=2)
            continue
        if min(img.shape[:2]) < MIN_SIDE:
            warnings.warn(f"skipping texture {file.name}: smaller than {MIN_SIDE} px", stacklevel=2)
            continue
        name = _name_from_stem(file.stem)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} {seen[name]}"
        textures.append(Texture(name, np.ascontiguousarray(img), source=str(file)))
    if len(textures) < min_count:
        raise UserError(
            f"textures folder {folder} has {len(textures)} readable texture images; "
            f"at least {min_count} are needed (png/jpg/bmp/tif/webp, >= {MIN_SIDE} px)"
        )
    return textures


def texture_bank(textures: str | Path | list[Texture] | None, min_count: int = 2) -> list[Texture]:
    """Resolve a bank: None -> :func:`default_textures`, a path -> :func:`load_texture_folder`, a list as is."""
    if textures is None:
        bank = default_textures()
    elif isinstance(textures, str | Path):
        bank = load_texture_folder(textures, min_count=min_count)
    else:
        bank = list(textures)
    if len(bank) < min_count:
        raise UserError(f"the texture bank has {len(bank)} textures; at least {min_count} are needed")
    return bank
