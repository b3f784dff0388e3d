"""How regions are shown to a vision-language model: numbered colour overlays, masked crops, boxes.

Pure numpy/Pillow functions (no torch). Conventions: images are H x W x 3 uint8 RGB; a label map is
H x W int with 0 = unassigned and 1..K = regions; a mask is H x W bool. Boxes are (x0, y0, x1, y1)
pixel coordinates with x1, y1 exclusive.

Presentations (``PRESENTATIONS``), recorded in every result's provenance:
- ``overlay``: the original image plus a copy with up to 6 regions tinted in the Detecture Miner's
  colours (Red=1, Green=2, Blue=3, Yellow=4, Cyan=5, Magenta=6) and numbered; one call answers a JSON
  object for all of them. Images with more than 6 regions are asked in groups of 6.
- ``crop``: one call per region on its bounding-box crop (10% margin) with the pixels outside the
  region painted neutral grey.
- ``crop+overlay``: crop first; regions whose answer fails (junk, duplicate) are then asked again on
  the overlay, where the model sees all regions side by side and can tell them apart.
- ``overlay+crop``: overlay first; failing regions are then asked one at a time on their crops.
- ``box`` (Florence-2 only): the full image with the region's bounding box as location tokens in
  Florence-2's ``<REGION_TO_DESCRIPTION>`` task.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLOURS: list[tuple[str, tuple[int, int, int]]] = [
    ("Red", (255, 0, 0)),
    ("Green", (0, 255, 0)),
    ("Blue", (0, 0, 255)),
    ("Yellow", (255, 255, 0)),
    ("Cyan", (0, 255, 255)),
    ("Magenta", (255, 0, 255)),
]
MAX_OVERLAY = len(COLOURS)
PRESENTATIONS = ("overlay", "crop", "crop+overlay", "overlay+crop", "box")
GREY = (128, 128, 128)


def stages(presentation: str) -> list[str]:
    """ "crop+overlay" -> ["crop", "overlay"]; "overlay" -> ["overlay"]. ValueError when unknown."""
    if presentation not in PRESENTATIONS:
        raise ValueError(f"unknown presentation {presentation!r}; use one of {', '.join(PRESENTATIONS)}")
    return presentation.split("+")


def overlay_groups(region_ids: list[int]) -> list[list[int]]:
    """Split region ids into groups of at most 6 (one overlay call each), order kept."""
    return [region_ids[i : i + MAX_OVERLAY] for i in range(0, len(region_ids), MAX_OVERLAY)]


def interior_point(mask: np.ndarray) -> tuple[int, int]:
    """(x, y) of a pixel deep inside ``mask`` (max distance to the boundary), for a number label."""
    from scipy import ndimage

    dist = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def render_overlay(
    image: np.ndarray, label_map: np.ndarray, region_ids: list[int], alpha: float = 0.45
) -> np.ndarray:
    """The image with region ``region_ids[j]`` tinted in COLOURS[j] and labelled with the number j+1.

    image: H x W x 3 uint8; label_map: H x W int. At most 6 ids. Returns a new H x W x 3 uint8 array.
    """
    if len(region_ids) > MAX_OVERLAY:
        raise ValueError(f"an overlay shows at most {MAX_OVERLAY} regions, got {len(region_ids)}")
    out = image.astype(np.float32)
    for j, rid in enumerate(region_ids):
        mask = label_map == rid
        colour = np.array(COLOURS[j][1], np.float32)
        out[mask] = (1 - alpha) * out[mask] + alpha * colour
    pil = Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    size = max(10, min(image.shape[:2]) // 12)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    for j, rid in enumerate(region_ids):
        mask = label_map == rid
        if not mask.any():
            continue
        x, y = interior_point(mask)
        draw.text((x, y), str(j + 1), fill=(255, 255, 255), font=font, anchor="mm", stroke_width=2,
                  stroke_fill=(0, 0, 0))  # fmt: skip
    return np.asarray(pil)


def region_box(mask: np.ndarray, margin: float = 0.0) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of ``mask`` grown by ``margin`` x its size, clipped to the image."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        raise ValueError("empty region mask")
    h, w = mask.shape
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    mx, my = int(round((x1 - x0) * margin)), int(round((y1 - y0) * margin))
    return max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)


def masked_crop(image: np.ndarray, mask: np.ndarray, margin: float = 0.1, min_side: int = 32) -> np.ndarray:
    """The region's box crop (``margin`` added) with pixels outside the mask set to neutral grey.

    Returns h x w x 3 uint8 with both sides >= ``min_side`` (upscaled by nearest neighbour if smaller;
    vision processors reject tiny images).
    """
    x0, y0, x1, y1 = region_box(mask, margin)
    crop = image[y0:y1, x0:x1].copy()
    crop[~mask[y0:y1, x0:x1]] = GREY
    h, w = crop.shape[:2]
    if min(h, w) < min_side:
        scale = min_side / min(h, w)
        size = (max(min_side, int(round(w * scale))), max(min_side, int(round(h * scale))))
        crop = np.asarray(Image.fromarray(crop).resize(size, Image.NEAREST))
    return crop


def florence_box_tokens(box: tuple[int, int, int, int], width: int, height: int) -> str:
    """Florence-2 location tokens for a pixel box: "<loc_x0><loc_y0><loc_x1><loc_y1>", bins 0..999."""
    x0, y0, x1, y1 = box
    q = [
        min(999, int(x0 / width * 1000)),
        min(999, int(y0 / height * 1000)),
        min(999, int((x1 - 1) / width * 1000)),
        min(999, int((y1 - 1) / height * 1000)),
    ]
    return "".join(f"<loc_{v}>" for v in q)


def position_phrase(mask: np.ndarray) -> str:
    """Where the region lies and how big it is, in words: e.g. "large region in the upper left".

    Used to complete answers of models that only name a region (Florence-2) into the
    "Texture of <name>, <context>" form.
    """
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    cy, cx = ys.mean() / h, xs.mean() / w
    vert = "upper" if cy < 1 / 3 else "lower" if cy > 2 / 3 else "middle"
    horiz = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    where = "centre" if (vert, horiz) == ("middle", "centre") else f"{vert} {horiz}"
    if where == "middle left" or where == "middle right":
        where = horiz + " side"
    share = ys.size / mask.size
    size = "large" if share > 0.3 else "small" if share < 0.08 else "medium"
    return f"{size} region in the {where} of the image"


def to_pil(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8), "RGB")
