"""Detecture-form folders: ``metadata.json`` + images + one 0/255 mask PNG per texture.

``metadata.json`` is a list of ``{"image_path", "id", "textures": [{"description", "mask_path"}]}``
(the form of RWTD, STLD, CAID and ADE20k_Detecture in the Detecture benchmark).

Ground-truth convention (the Detecture evaluation code, ``gt_class[m > 0.5] = j + 1``): texture j
(0-based, in list order) becomes region j + 1 of the label map, 0 = no texture (background /
dustbin). A mask pixel is "on" when its grey value is > 127.5 (``m / 255 > 0.5``). Where masks
overlap, the LATER mask wins (it is painted last); the number of such pixels is recorded in
``provenance["overlap_pixels"]``. A mask whose size differs from the image is resized to the
image with nearest-neighbour interpolation (OpenCV ``INTER_NEAREST``) and listed in
``provenance["resized_masks"]``. An empty mask keeps its description and region id (the region
is just absent from the map; the metrics count only regions present, as Detecture skips empty
masks). Paths are resolved strictly inside the folder: a relative path with ``..`` that leaves it
rejects the sample. An absolute path (the authors' unified metadata.json carries them, e.g.
``/home/user/data/RWTD/images/1.jpg``) is used when it resolves inside the folder; otherwise it
is re-rooted: its trailing components, longest first (``data/RWTD/images/1.jpg``, ...,
``images/1.jpg``, ``1.jpg``), are tried under the folder and the first that names an existing file
inside it is used (listed in ``provenance["rerooted"]`` as ``[given, used]``); when none does, the
sample is rejected with that reason.

Per-sample problems (an entry or field of the wrong JSON type, null or missing; text that is not
valid Unicode; a missing, corrupt or non-image image/mask; an escaping or unusable path; a
duplicate id; no non-empty texture) reject that sample with a one-line reason through
``on_reject(id, reason)`` (default: a logged warning) and reading goes on. A mask holding grey
values other than 0 and 255 (also one stored wider than 8 bits, e.g. a 16-bit PNG of 0/1000, whose
8-bit reading clips to 0/255) is thresholded at > 127 and reported through ``on_warning`` (or
rejects its sample with ``strict``). A folder without a readable ``metadata.json`` (a JSON list)
raises UserError.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from textureade.errors import UserError, first_line, safe_text
from textureade.fileio import atomic_write
from textureade.types import Sample, ValidationError

log = logging.getLogger(__name__)

OnReject = Callable[[str, str], None]
OnWarning = Callable[[str, str, str], None]

#: A mask pixel is "on" when its grey value is above this (Detecture: ``m / 255 > 0.5``).
MASK_THRESHOLD = 127
#: Warning kind for a mask that holds grey values other than 0 and 255 (thresholded, or rejected
#: under strict).
NON_BINARY_MASK = "non_binary_mask"


class _Reject(Exception):
    """A per-sample problem (one-line reason)."""


def _metadata_path(path: Path) -> Path:
    path = Path(path)
    if path.is_file() and path.name == "metadata.json":
        return path
    if not path.is_dir():
        raise UserError(
            f"{path} is not a folder; pass a Detecture-form folder (metadata.json + images + masks)"
        )
    meta = path / "metadata.json"
    if not meta.is_file():
        raise UserError(f"{path} has no metadata.json; a Detecture-form folder lists its samples there")
    return meta


def load_metadata(path: str | Path) -> list[Any]:
    """The parsed ``metadata.json`` of a Detecture-form folder (``path``: the folder or the file):
    its list of ``{image_path, id, textures}`` entries, not yet checked. UserError when the file
    is absent, unreadable, not UTF-8 JSON or not a list."""
    meta = _metadata_path(Path(path))
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    # RecursionError: nested too deep
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UserError(f"cannot read {meta}: {first_line(exc)}") from None
    if not isinstance(data, list):
        raise UserError(f"{meta} must hold a JSON list of {{image_path, id, textures}} entries")
    return data


def _show(value: Any, limit: int = 60) -> str:
    """A short, safe rendering of a metadata value for a reject reason."""
    text = safe_text(repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: Any) -> str:
    return "null" if value is None else f"a JSON {type(value).__name__}"


def reroot(base: Path, absolute: Path) -> Path | None:
    """The existing file inside ``base`` (resolved) named by the longest trailing components of
    ``absolute`` (a path from another machine), or None. Suffixes holding ``..`` are skipped."""
    parts = absolute.parts[1:]  # without the root ("/")
    for i in range(len(parts)):
        tail = parts[i:]
        if ".." in tail:
            continue
        try:
            cand = base.joinpath(*tail).resolve()
            if cand.is_relative_to(base) and cand.is_file():
                return cand
        except (OSError, RuntimeError, ValueError):  # NUL, name too long, link loops (3.11: RuntimeError)
            continue
    return None


def resolve_inside(root: Path, rel: Any, what: str, rerooted: list[list[str]] | None = None) -> Path:
    """``root / rel`` resolved, or _Reject when it is not a usable string path inside ``root``.

    An absolute ``rel`` outside ``root`` is re-rooted (:func:`reroot`); each re-rooted path is
    appended to ``rerooted`` as ``[rel, path relative to root]``."""
    if not isinstance(rel, str) or not rel.strip():
        raise _Reject(f"{what} is missing or not a string (got {_kind(rel)})")
    if safe_text(rel) != rel:
        raise _Reject(f"{what} {_show(rel)} is not valid Unicode text")
    try:
        base = root.resolve()
        p = Path(rel)
        cand = (p if p.is_absolute() else base / p).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # NUL, name too long, loops (3.11: RuntimeError)
        raise _Reject(f"{what} {_show(rel)} is not a usable path ({type(exc).__name__})") from None
    if cand.is_relative_to(base):
        return cand
    if p.is_absolute():
        found = reroot(base, p)
        if found is None:
            raise _Reject(
                f"{what} {_show(rel)} points outside the dataset folder and no file inside it "
                "matches its trailing components"
            )
        if rerooted is not None:
            rerooted.append([rel, found.relative_to(base).as_posix()])
        return found
    raise _Reject(f"{what} {_show(rel)} points outside the dataset folder (paths must stay inside it)")


def _open(path: Path, what: str, read: Callable[[Any], Any]) -> Any:
    """``read(im)`` of the PIL image at ``path``; a one-line _Reject when it cannot be read."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's "possibly corrupt EXIF" and friends
            with Image.open(path) as im:
                return read(im)
    except FileNotFoundError:
        raise _Reject(f"{what} {safe_text(path.name)} not found") from None
    except IsADirectoryError:
        raise _Reject(f"{what} {safe_text(path.name)} is a directory, not an image file") from None
    except Exception as exc:  # PIL raises many types for corrupt files
        raise _Reject(f"cannot read {what} {safe_text(path.name)}: {first_line(exc)}") from None


def _read_image(path: Path) -> np.ndarray:
    return _open(path, "image", lambda im: np.array(im.convert("RGB"), dtype=np.uint8))


#: PIL modes of images stored wider than 8 bits per pixel (16/32-bit integer, float)
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _read_mask(path: Path) -> tuple[np.ndarray, tuple[str, int] | None]:
    """(H x W uint8 grey reading of the mask, what is thresholded; None when every stored value is 0
    or 255, else (its values, the number of other pixels)). A mask stored wider than 8 bits reads
    with values above 255 clipped to 255, so a 16-bit mask of 0/1000 looks binary there: its stored
    values are checked (``uint16 values 0..1000, read as 8-bit values 0..255``)."""

    def read(im: Any) -> tuple[np.ndarray, tuple[str, int] | None]:
        grey = np.array(im.convert("L"), dtype=np.uint8)
        stored = np.asarray(im) if im.mode in WIDE_MODES else grey
        odd = int(np.count_nonzero((stored != 0) & (stored != 255)))
        if not odd:
            return grey, None
        values = f"values {int(grey.min())}..{int(grey.max())}"
        if im.mode in WIDE_MODES:
            values = f"{stored.dtype} values {stored.min():g}..{stored.max():g}, read as 8-bit {values}"
        return grey, (values, odd)

    return _open(path, "mask", read)


def entry_id(entry: Any, index: int) -> str:
    """The id a rejected entry is reported under: its id, else its image's stem, else ``#index``."""
    if isinstance(entry, dict):
        sid = entry.get("id")
        if sid and isinstance(sid, str | int) and not isinstance(sid, bool):
            return safe_text(sid)
        rel = entry.get("image_path")
        if isinstance(rel, str) and rel.strip():
            return safe_text(Path(rel).stem) or f"#{index}"
    return f"#{index}"


def _sample_id(entry: dict[str, Any]) -> str:
    sid = entry.get("id")
    if not sid:  # missing, null, "" (and 0, as before): the image's file stem
        return Path(str(entry.get("image_path"))).stem
    if isinstance(sid, bool) or not isinstance(sid, str | int):
        raise _Reject(f"id is {_kind(sid)}, expected a string")
    if safe_text(sid) != str(sid):
        raise _Reject(f"id {_show(sid)} is not valid Unicode text")
    return str(sid)


def _sample_from_entry(
    root: Path, entry: Any, index: int, source: str, warn: list[tuple[str, str]], strict: bool
) -> Sample:
    if not isinstance(entry, dict):
        raise _Reject(f"entry {index} is {_kind(entry)}, not a JSON object")
    rerooted: list[list[str]] = []
    image_path = resolve_inside(root, entry.get("image_path"), "image_path", rerooted)
    sid = _sample_id(entry)
    textures = entry.get("textures")
    if not isinstance(textures, list) or not textures:
        raise _Reject(
            f"no textures listed (textures is {_kind(textures)}{', empty' if textures == [] else ''})"
        )
    image = _read_image(image_path)
    h, w = image.shape[:2]
    label = np.zeros((h, w), dtype=np.int32)
    claimed = np.zeros((h, w), dtype=np.int32)
    descriptions: list[str] = []
    mask_paths: list[str] = []
    resized: list[dict[str, Any]] = []
    for j, tex in enumerate(textures):
        if not isinstance(tex, dict):
            raise _Reject(f"texture {j} is {_kind(tex)}, not a JSON object")
        desc = tex.get("description", "")
        if not isinstance(desc, str):
            raise _Reject(f"texture {j} description is {_kind(desc)}, not a string")
        if safe_text(desc) != desc:
            raise _Reject(f"texture {j} description is not valid Unicode text")
        mpath = resolve_inside(root, tex.get("mask_path"), f"texture {j} mask_path", rerooted)
        mask, odd = _read_mask(mpath)
        if odd is not None:
            (values, n_odd), name = odd, safe_text(mpath.name)
            if strict:
                raise _Reject(f"mask {name} is not binary 0/255 ({values}; --strict)")
            kept = f"mask {name} is not binary 0/255 ({values}, {n_odd} other pixels)"
            warn.append((NON_BINARY_MASK, f"{kept}: thresholded at > {MASK_THRESHOLD}"))
        if mask.shape != (h, w):
            import cv2

            resized.append({"texture": j, "from": [mask.shape[1], mask.shape[0]], "to": [w, h]})
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
        on = mask > MASK_THRESHOLD
        label[on] = j + 1
        claimed += on
        descriptions.append(desc)
        mask_paths.append(str(tex.get("mask_path")))
    if not label.any():
        raise _Reject("every texture mask is empty")
    provenance: dict[str, Any] = {
        "format": "detecture",
        "image_path": str(entry.get("image_path")),
        "mask_paths": mask_paths,
        "overlap_pixels": int(np.count_nonzero(claimed > 1)),
        "resized_masks": resized,
    }
    if rerooted:
        provenance["rerooted"] = rerooted
    return Sample(
        id=sid, image=image, label_map=label, descriptions=descriptions, source=source, provenance=provenance
    )


def read_detecture_folder(
    path: str | Path,
    *,
    on_reject: OnReject | None = None,
    on_warning: OnWarning | None = None,
    strict: bool = False,
) -> Iterator[Sample]:
    """Stream the samples of a Detecture-form folder in metadata order (see the module docstring).

    path: the folder (or its ``metadata.json``). on_reject(id, reason) is called for each
    rejected sample (default: a logged warning); on_warning(id, kind, message) for each sample
    kept with a warning (kind ``non_binary_mask``; default: a logged warning). strict: a mask
    that is not binary 0/255 rejects its sample instead. Ids and reasons passed to the callbacks
    are valid UTF-8. Raises UserError when metadata.json is absent or unreadable (at the first
    ``next``).
    """
    meta = _metadata_path(Path(path))
    root = meta.parent
    entries = load_metadata(meta)
    source = f"detecture:{safe_text(root.resolve().name)}"
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        sid = entry_id(entry, i)
        warn: list[tuple[str, str]] = []
        try:
            if sid in seen:
                raise _Reject(f"duplicate id {sid!r} (an earlier entry has it)")
            sample = _sample_from_entry(root, entry, i, source, warn, strict)
        except (_Reject, ValidationError) as exc:
            reason = first_line(exc)
            if on_reject is not None:
                on_reject(sid, reason)
            else:
                log.warning("detecture %s: rejected %s: %s", root, sid, reason)
            continue
        for kind, message in warn:
            if on_warning is not None:
                on_warning(sample.id, kind, message)
            else:
                log.warning("detecture %s: %s: %s", root, sample.id, message)
        seen.add(sample.id)
        yield sample


def detecture_fingerprint(folder: str | Path) -> str:
    """sha256 of metadata.json plus the relative path and byte size of every file it names (an
    absolute path outside the folder: the size of the file it is re-rooted to).

    Entries or textures of the wrong shape name no file (they are rejects when read); a path
    that cannot be a file here counts as missing (size -1). UserError when metadata.json is
    absent or unreadable.
    """
    import hashlib

    meta = _metadata_path(Path(folder))
    root = meta.parent
    entries = load_metadata(meta)
    h = hashlib.sha256()
    h.update(meta.read_bytes())
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        textures = entry.get("textures")
        textures = textures if isinstance(textures, list) else []
        paths = [entry.get("image_path", "")] + [
            t.get("mask_path", "") if isinstance(t, dict) else "" for t in textures
        ]
        for rel in paths:
            text = safe_text(rel)
            try:
                p: Path | None = root / str(rel)
                if Path(str(rel)).is_absolute() and not p.resolve().is_relative_to(root.resolve()):
                    p = reroot(root.resolve(), Path(str(rel)))  # the file the reader uses, if any
                size = p.stat().st_size if p is not None and p.is_file() else -1
            except (OSError, RuntimeError, ValueError):  # NUL, surrogates, too long, link loops
                size = -1
            h.update(f"{text}\0{size}\n".encode())
    return "sha256:" + h.hexdigest()[:32]


def _safe_name(sid: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", sid).lstrip(".") or "sample"
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


def write_detecture_folder(samples: Iterable[Sample], dest: str | Path, *, overwrite: bool = False) -> Path:
    """Write samples as a Detecture-form folder; returns ``dest``.

    Layout: ``images/<name>.png`` (lossless RGB), ``masks/<name>_<k>.png`` (0/255, one per region
    k = 1..K, empty for a region absent from the map) and ``metadata.json`` with paths relative
    to ``dest`` (written last, atomically). ``<name>`` is the id with unsafe characters replaced;
    the real id is in ``metadata.json``. Raises UserError when ``dest`` already holds a
    metadata.json and ``overwrite`` is False. Reading it back gives the same images, label maps
    and descriptions (regions never overlap in a Sample).
    """
    from PIL import Image

    dest = Path(dest)
    if (dest / "metadata.json").exists() and not overwrite:
        raise UserError(f"{dest} already has a metadata.json; pick another folder or pass overwrite")
    (dest / "images").mkdir(parents=True, exist_ok=True)
    (dest / "masks").mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    entries = []
    for s in samples:
        name = _safe_name(s.id, used)
        Image.fromarray(s.image).save(dest / "images" / f"{name}.png")
        textures = []
        for k, desc in enumerate(s.descriptions, start=1):
            rel = f"masks/{name}_{k}.png"
            Image.fromarray(np.where(s.label_map == k, 255, 0).astype(np.uint8)).save(dest / rel)
            textures.append({"description": desc, "mask_path": rel})
        entries.append({"image_path": f"images/{name}.png", "id": s.id, "textures": textures})
    atomic_write(dest / "metadata.json", json.dumps(entries, indent=1, ensure_ascii=False))
    return dest
