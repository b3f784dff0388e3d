"""Colour names matched in CIE Lab (OpenCV's D65 Lab on sRGB in [0, 1]).

``COLOUR_TABLE`` lists plain-English colour names with a representative sRGB value; ``colour_name``
returns the name whose Lab value is nearest (Euclidean, i.e. Delta E 1976) to a given Lab colour.
"""

from __future__ import annotations

import cv2
import numpy as np

COLOUR_TABLE: list[tuple[str, tuple[int, int, int]]] = [
    ("black", (20, 20, 20)),
    ("charcoal grey", (60, 62, 64)),
    ("dark grey", (95, 95, 95)),
    ("grey", (135, 135, 135)),
    ("light grey", (185, 185, 185)),
    ("white", (240, 240, 240)),
    ("cream", (240, 230, 200)),
    ("beige", (210, 190, 150)),
    ("tan", (180, 145, 100)),
    ("light brown", (160, 120, 80)),
    ("brown", (115, 80, 50)),
    ("dark brown", (65, 45, 30)),
    ("reddish brown", (140, 70, 50)),
    ("brick red", (165, 60, 45)),
    ("red", (200, 30, 30)),
    ("dark red", (120, 20, 25)),
    ("pink", (235, 160, 175)),
    ("orange", (230, 130, 40)),
    ("ochre", (200, 150, 50)),
    ("yellow", (235, 215, 60)),
    ("olive", (120, 120, 50)),
    ("olive green", (90, 100, 45)),
    ("green", (60, 140, 60)),
    ("dark green", (30, 70, 35)),
    ("light green", (150, 200, 120)),
    ("teal", (40, 120, 120)),
    ("turquoise", (70, 190, 190)),
    ("light blue", (160, 200, 235)),
    ("sky blue", (120, 170, 220)),
    ("blue", (40, 80, 190)),
    ("steel blue", (80, 110, 140)),
    ("navy blue", (25, 35, 80)),
    ("purple", (110, 50, 130)),
    ("lavender", (190, 170, 220)),
]


def _lab(rgb: np.ndarray) -> np.ndarray:
    """N x 3 uint8 sRGB -> N x 3 float32 Lab (L 0..100)."""
    arr = (np.asarray(rgb, dtype=np.float32) / 255.0).reshape(-1, 1, 3)
    return cv2.cvtColor(arr, cv2.COLOR_RGB2Lab).reshape(-1, 3)


TABLE_LAB = _lab(np.array([c for _, c in COLOUR_TABLE], dtype=np.uint8))
TABLE_NAMES = [n for n, _ in COLOUR_TABLE]


def rgb_to_lab(pixels: np.ndarray) -> np.ndarray:
    """N x 3 (or H x W x 3) uint8 RGB -> N x 3 float32 Lab."""
    return _lab(np.asarray(pixels, dtype=np.uint8).reshape(-1, 3))


def colour_name(lab: np.ndarray) -> str:
    """Name of the table colour nearest to one Lab triple (L in 0..100, a/b about -127..127)."""
    d = ((TABLE_LAB - np.asarray(lab, dtype=np.float32)[None, :]) ** 2).sum(axis=1)
    return TABLE_NAMES[int(np.argmin(d))]
