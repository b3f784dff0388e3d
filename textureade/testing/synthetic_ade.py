"""A small ADE20K-form folder built from scikit-image's bundled images (no downloaded data).

``write_synthetic_ade(out_dir, n=6, form="challenge" | "full", seed=0)`` writes either an
``ADEChallengeData2016`` folder (JPEG images, one-channel 0..150 annotation PNGs, objectInfo150.txt,
sceneCategories.txt) or an ``ADE20K_2021_17_01`` folder (JPEG, RGB-encoded ``_seg.png`` and
``_parts_N.png``, per-image JSON with the genuine field set and mixed types, instance masks with
255 = visible and 128 = occluded extension). Both forms of the same seed show the same scenes: the
challenge labels are the full labels mapped to SceneParse150 ids (the images are small, so no resize).

Scenes alternate between an outdoor layout (sky over a wavy horizon, a brick building with windows
and a door (parts, level 1) whose handle is a level-2 part, grass and gravel ground, a rock) and an indoor one
(brick wall, gravel floor, framed photographs, sometimes a striped rug). Each region is filled with
its own texture, so region boundaries are texture boundaries. Deterministic under ``seed``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

# key: (SceneParse150 id or 0, full-ADE name_ndx, full-ADE name)
CLASSES: dict[str, tuple[int, int, str]] = {
    "wall": (1, 2978, "wall"),
    "building": (2, 312, "building, edifice"),
    "sky": (3, 2420, "sky"),
    "floor": (4, 976, "floor, flooring"),
    "grass": (10, 1125, "grass"),
    "earth": (14, 838, "earth, ground"),
    "painting": (23, 1735, "painting, picture"),
    "rug": (29, 2178, "rug, carpet, carpeting"),
    "rock": (35, 2138, "rock, stone"),
    "window": (0, 3050, "window"),
    "door": (0, 774, "door"),
    "handle": (0, 1180, "handle"),
}
#: full-ADE id -> SceneParse150 id for the classes above (what mapFromADE.txt says for them).
FULL_TO_150 = {full: ch for ch, full, _ in CLASSES.values() if ch}


@dataclass
class _Obj:
    key: str
    level: int
    visible: np.ndarray
    amodal: np.ndarray | None = None
    parent: int | None = None
    attributes: object = field(default_factory=list)
    children: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.visible = np.asarray(self.visible, dtype=bool)


def _textures() -> dict[str, np.ndarray]:
    from skimage import data

    return {
        "brick": data.brick(),
        "grass": data.grass(),
        "gravel": data.gravel(),
        "camera": data.camera(),
        "moon": data.moon(),
        "photos": [data.coffee(), data.astronaut(), data.chelsea(), data.rocket()],
    }


def _crop(tex: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    reps = (h // tex.shape[0] + 2, w // tex.shape[1] + 2) + (1,) * (tex.ndim - 2)
    big = np.tile(tex, reps)
    y, x = int(rng.integers(0, tex.shape[0])), int(rng.integers(0, tex.shape[1]))
    return big[y : y + h, x : x + w]


def _tint(gray: np.ndarray, color: tuple[int, int, int], gain: float = 1.4) -> np.ndarray:
    g = gray.astype(np.float32)[..., None] / 255.0 * gain
    return np.clip(g * np.array(color, np.float32), 0, 255).astype(np.uint8)


def _stripes(h: int, w: int, color, period: float, vertical: bool, rng: np.random.Generator) -> np.ndarray:
    axis = np.arange(w if vertical else h, dtype=np.float32)
    wave = 0.75 + 0.25 * np.sin(2 * np.pi * axis / period + rng.uniform(0, 6.28))
    wave = wave[None, :] if vertical else wave[:, None]
    noise = rng.normal(1.0, 0.06, (h, w)).astype(np.float32)
    return np.clip((wave * noise)[..., None] * np.array(color, np.float32), 0, 255).astype(np.uint8)


def _fill(key: str, h: int, w: int, tex: dict, rng: np.random.Generator) -> np.ndarray:
    if key == "sky":
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        top, bottom = np.array([70, 120, 210], np.float32), np.array([190, 215, 245], np.float32)
        sky = top * (1 - t) + bottom * t + rng.normal(0, 3, (h, w, 1)).astype(np.float32)
        return np.clip(np.broadcast_to(sky, (h, w, 3)), 0, 255).astype(np.uint8)
    if key == "building":
        return _tint(_crop(tex["brick"], h, w, rng), (190, 90, 70))
    if key == "wall":
        return _tint(_crop(tex["brick"], h, w, rng), (215, 200, 170), 1.2)
    if key == "grass":
        return _tint(_crop(tex["grass"], h, w, rng), (70, 160, 50))
    if key == "earth":
        return _tint(_crop(tex["gravel"], h, w, rng), (150, 120, 90))
    if key == "floor":
        return _tint(_crop(tex["gravel"], h, w, rng), (170, 165, 160), 1.3)
    if key == "window":
        return _tint(_crop(tex["camera"], h, w, rng), (60, 90, 140), 1.0)
    if key == "door":
        return _stripes(h, w, (120, 75, 40), 7.0, True, rng)
    if key == "rug":
        return _stripes(h, w, (170, 40, 50), 9.0, False, rng)
    if key == "rock":
        return _tint(_crop(tex["moon"], h, w, rng), (110, 115, 135), 1.6)
    if key == "handle":
        return np.full((h, w, 3), (220, 190, 60), np.uint8)
    photos = tex["photos"]
    photo = photos[int(rng.integers(len(photos)))]
    return _crop(photo, h, w, rng)  # painting


def _rect(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return m


def _outdoor(h: int, w: int, rng: np.random.Generator) -> list[_Obj]:
    yy, xx = np.mgrid[0:h, 0:w]
    horizon = h * rng.uniform(0.45, 0.6) + h * 0.04 * np.sin(
        2 * np.pi * xx / rng.uniform(80, 160) + rng.uniform(0, 6)
    )
    sky_all = yy < horizon
    x_split = w * rng.uniform(0.35, 0.65) + (yy - h * 0.5) * rng.uniform(-0.6, 0.6)
    bx0, bx1 = int(w * rng.uniform(0.05, 0.3)), int(w * rng.uniform(0.6, 0.9))
    by0, by1 = int(h * rng.uniform(0.1, 0.22)), int(horizon[:, bx0:bx1].max()) + 4
    building = _rect(h, w, by0, by1, bx0, bx1)
    ry, rx = h * rng.uniform(0.8, 0.9), w * rng.uniform(0.15, 0.85)
    rock = (((yy - ry) / (h * 0.07)) ** 2 + ((xx - rx) / (w * 0.06)) ** 2 < 1) & ~sky_all & ~building
    ground = ~sky_all & ~building
    objs = [
        _Obj("sky", 0, sky_all & ~building, amodal=sky_all),
        _Obj("building", 0, building, attributes=["brick"]),
        _Obj("grass", 0, ground & ~rock & (xx < x_split), amodal=~sky_all & (xx < x_split)),
        _Obj("earth", 0, ground & ~rock & (xx >= x_split), attributes="gravel, rough"),
        _Obj("rock", 0, rock, attributes=["grey"]),
    ]
    n_win = int(rng.integers(2, 4))
    bw, bh = bx1 - bx0, by1 - by0
    for i in range(n_win):
        wx0 = bx0 + int(bw * (0.08 + 0.9 * i / n_win))
        win = _rect(h, w, by0 + int(bh * 0.12), by0 + int(bh * 0.38), wx0, wx0 + int(bw * 0.5 / n_win))
        objs.append(_Obj("window", 1, win, parent=1, attributes=["glass"] if i == 0 else []))
    dx0 = bx0 + int(bw * rng.uniform(0.35, 0.55))
    door = _rect(h, w, by0 + int(bh * 0.55), by1 - 4, dx0, dx0 + max(int(bw * 0.16), 6))
    objs.append(_Obj("door", 1, door, parent=1, attributes="wooden"))
    ys, xs = np.nonzero(door)
    cy, cx = int(ys.mean()), int(xs.max()) - 3
    objs.append(_Obj("handle", 2, _rect(h, w, cy - 2, cy + 2, cx - 2, cx + 1) & door, parent=len(objs) - 1))
    return objs


def _indoor(h: int, w: int, rng: np.random.Generator) -> list[_Obj]:
    yy, xx = np.mgrid[0:h, 0:w]
    edge = h * rng.uniform(0.55, 0.7) + (xx - w / 2) * rng.uniform(-0.12, 0.12)
    wall_all, floor_all = yy < edge, yy >= edge
    paintings = []
    for _ in range(int(rng.integers(1, 3))):
        ph, pw = int(h * rng.uniform(0.15, 0.28)), int(w * rng.uniform(0.12, 0.25))
        py, px = int(h * rng.uniform(0.08, 0.25)), int(rng.integers(4, w - pw - 4))
        m = _rect(h, w, py, py + ph, px, px + pw) & wall_all
        if not any((m & p).any() for p in paintings):
            paintings.append(m)
    covered = np.logical_or.reduce(paintings)
    objs = [_Obj("wall", 0, wall_all & ~covered, amodal=wall_all, attributes=[])]
    rug = np.zeros((h, w), bool)
    if rng.random() < 0.6:
        cy, cx = h * rng.uniform(0.8, 0.9), w * rng.uniform(0.3, 0.7)
        rug = (((yy - cy) / (h * 0.09)) ** 2 + ((xx - cx) / (w * 0.22)) ** 2 < 1) & floor_all
    objs.append(_Obj("floor", 0, floor_all & ~rug, amodal=floor_all))
    for m in paintings:
        objs.append(_Obj("painting", 0, m, attributes=["framed", "colorful"]))
    if rug.any():
        objs.append(_Obj("rug", 0, rug, attributes="striped"))
    return objs


def _render(objs: list[_Obj], h: int, w: int, tex: dict, rng: np.random.Generator) -> dict:
    """Image, full-ADE class/instance maps and part maps from the objects (parts over their parent)."""
    image = np.zeros((h, w, 3), np.uint8)
    classes = np.zeros((h, w), np.int32)
    instances = np.zeros((h, w), np.int32)
    levels = max(o.level for o in objs)
    part_cls = [np.zeros((h, w), np.int32) for _ in range(levels)]
    part_inst = [np.zeros((h, w), np.int32) for _ in range(levels)]
    counters = [0] * (levels + 1)
    for i, o in enumerate(objs):
        if o.parent is not None:
            objs[o.parent].children.append(i)
        image[o.visible] = _fill(o.key, h, w, tex, rng)[o.visible]
        counters[o.level] += 1
        if o.level == 0:
            classes[o.visible] = CLASSES[o.key][1]
            instances[o.visible] = counters[0]
        else:
            part_cls[o.level - 1][o.visible] = CLASSES[o.key][1]
            part_inst[o.level - 1][o.visible] = counters[o.level]
    return {
        "image": image,
        "classes": classes,
        "instances": instances,
        "parts": list(zip(part_cls, part_inst)),
    }


def _encode(classes: np.ndarray, instances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RGB-encode like ``_seg.png``: R = (c // 256) * 10, G = c % 256, B = round(rank * 255 / K)."""
    n = int(instances.max())
    order = rng.permutation(n) + 1  # instance k gets B code of rank order[k - 1], as in genuine files
    lut = np.zeros(n + 1, np.int32)
    lut[1:] = np.round(order * 255.0 / max(n, 1)).astype(np.int32)
    rgb = np.stack([(classes // 256) * 10, classes % 256, lut[instances]], axis=2)
    return rgb.astype(np.uint8)


def _scene(i: int, rng: np.random.Generator, tex: dict) -> tuple[str, list[_Obj], dict]:
    h, w = int(rng.integers(180, 261)), int(rng.integers(240, 341))
    layout = "outdoor" if i % 2 == 0 else "indoor"
    objs = _outdoor(h, w, rng) if layout == "outdoor" else _indoor(h, w, rng)
    return layout, objs, _render(objs, h, w, tex, rng)


def _ids(n: int) -> list[tuple[str, str]]:
    n_train = max(1, (2 * n + 2) // 3) if n > 1 else n
    out = [("training", f"ADE_train_{k + 1:08d}") for k in range(n_train)]
    return out + [("validation", f"ADE_val_{k + 1:08d}") for k in range(n - n_train)]


SCENES = {"outdoor": ("outdoor", "urban", "building_facade"), "indoor": ("indoor", "cultural", "art_gallery")}


def write_synthetic_ade(out_dir: str | Path, n: int = 6, form: str = "challenge", seed: int = 0) -> Path:
    """Write ``n`` synthetic images in ADE20K ``form`` ("challenge" or "full") under ``out_dir``.

    Returns the form's folder (``out_dir/ADEChallengeData2016`` or ``out_dir/ADE20K_2021_17_01``).
    About two thirds of the images go to training, the rest to validation.
    """
    from textureade.errors import UserError

    if form not in ("challenge", "full"):
        raise UserError(f"form must be 'challenge' or 'full', got {form!r}")
    if n < 1:
        raise UserError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    tex = _textures()
    scenes = []
    for i, (split, item_id) in enumerate(_ids(n)):
        layout, objs, r = _scene(i, rng, tex)
        scenes.append((split, item_id, layout, objs, r, int(rng.integers(0, 2**31))))
    if form == "challenge":
        return _write_challenge(Path(out_dir), scenes)
    return _write_full(Path(out_dir), scenes)


def objects_json(item_id: str, objs: list[_Obj], folder: str, shape: tuple[int, int], layout: str) -> dict:
    """The per-image JSON in the ADE20K_2021_17_01 field set, with its mixed types."""
    records = []
    ids = []
    next_id = 0
    for k in range(len(objs)):
        ids.append(next_id)
        next_id += 2 if k == 1 else 1  # one gap in the ids, as in genuine files
    for k, o in enumerate(objs):
        ys, xs = np.nonzero(o.visible)
        poly_x = [int(xs.min()), int(xs.max()), int(xs.max()), int(xs.min())] if xs.size else []
        poly_y = [int(ys.min()), int(ys.min()), int(ys.max()), int(ys.max())] if ys.size else []
        occluded = "yes" if o.amodal is not None and (o.amodal & ~o.visible).any() else "no"
        rec = {
            "id": ids[k],
            "name": CLASSES[o.key][2],
            "name_ndx": CLASSES[o.key][1],
            "hypernym": [],
            "raw_name": o.key,
            "attributes": o.attributes,
            "depth_ordering_rank": k + 1,
            "occluded": occluded if k % 3 else [],
            "crop": "1" if xs.size and (xs.min() == 0 or ys.min() == 0) else "0",
            "parts": {
                "hasparts": [ids[c] for c in o.children] if len(o.children) != 1 else ids[o.children[0]],
                "ispartof": ids[o.parent] if o.parent is not None else [],
                "part_level": o.level,
            },
            "instance_mask": f"{item_id}/instance_{ids[k]:03d}_{item_id}.png",
            "polygon": {"x": poly_x, "y": poly_y, "click_date": []},
            "saved_date": "22-Nov-2026 00:00:00",
        }
        if k == 2:  # numbers as strings, as some genuine files have them
            rec["name_ndx"], rec["id"], rec["parts"]["part_level"] = (
                str(rec["name_ndx"]),
                str(ids[k]),
                str(o.level),
            )
        records.append(rec)
    h, w = shape
    return {
        "annotation": {
            "filename": f"{item_id}.jpg",
            "folder": folder,
            "imsize": [h, w, 3],
            "source": {"folder": "synthetic", "filename": f"{item_id}.jpg", "origin": "scikit-image data"},
            "scene": list(SCENES[layout]),
            "object": records,
        }
    }


def save_jpeg(image: np.ndarray, path: Path, seed: int) -> None:
    Image.fromarray(image).save(path, quality=90 + seed % 6)


def write_json(doc: dict, path: Path) -> None:
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")


def _write_challenge(out: Path, scenes: list) -> Path:
    from textureade.readers.ade150 import ADE150_FULL_NAMES
    from textureade.readers.mapping import map_classes

    root = out / "ADEChallengeData2016"
    pixels = np.zeros(151, np.int64)
    counts = {"training": np.zeros(151, np.int64), "validation": np.zeros(151, np.int64)}
    cats = []
    for split, item_id, layout, _objs, r, seed in scenes:
        labels = map_classes(r["classes"], FULL_TO_150).astype(np.uint8)
        for sub in ("images", "annotations"):
            (root / sub / split).mkdir(parents=True, exist_ok=True)
        save_jpeg(r["image"], root / "images" / split / f"{item_id}.jpg", seed)
        Image.fromarray(labels, mode="L").save(root / "annotations" / split / f"{item_id}.png")
        hist = np.bincount(labels.ravel(), minlength=151)
        pixels += hist
        counts[split] += hist > 0
        cats.append(f"{item_id} {SCENES[layout][-1]}")
    lines = ["Idx\tRatio\tTrain\tVal\tName"]
    for idx, name in enumerate(ADE150_FULL_NAMES, 1):
        ratio = pixels[idx] / max(pixels.sum(), 1)
        sidx = f"{idx} " if 22 <= idx <= 27 else str(idx)  # the genuine file's stray blanks
        sname = f"{name} " if idx in (8, 9) else name
        lines.append(f"{sidx}\t{ratio:.4f}\t{counts['training'][idx]}\t{counts['validation'][idx]}\t{sname}")
    (root / "objectInfo150.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "sceneCategories.txt").write_text("\n".join(sorted(cats)) + "\n", encoding="utf-8")
    return root


def _write_full(out: Path, scenes: list) -> Path:
    root = out / "ADE20K_2021_17_01"
    for split, item_id, layout, objs, r, seed in scenes:
        rel = Path("images/ADE") / split / SCENES[layout][1] / SCENES[layout][2]
        folder = root / rel
        (folder / item_id).mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        save_jpeg(r["image"], folder / f"{item_id}.jpg", seed)
        Image.fromarray(_encode(r["classes"], r["instances"], rng)).save(folder / f"{item_id}_seg.png")
        for level, (cls, inst) in enumerate(r["parts"], 1):
            Image.fromarray(_encode(cls, inst, rng)).save(folder / f"{item_id}_parts_{level}.png")
        doc = objects_json(item_id, objs, f"ADE20K_2021_17_01/{rel.as_posix()}", r["classes"].shape, layout)
        for o, rec in zip(objs, doc["annotation"]["object"], strict=True):
            mask = np.zeros(o.visible.shape, np.uint8)
            if o.amodal is not None:
                mask[o.amodal] = 128
            mask[o.visible] = 255
            Image.fromarray(mask, mode="L").save(folder / rec["instance_mask"])
        write_json(doc, folder / f"{item_id}.json")
    return root
