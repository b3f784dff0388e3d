"""Detecture-form dataset folders: ``metadata.json`` + images + one 0/255 mask PNG per texture.

The samples are read by :mod:`textureade.detecture_format`; this module gives the harness its
handle on such a folder (name, fingerprint, count) without reading any image, and checks what that
reader's 8-bit view of a mask hides: a mask stored wider than 8 bits (a 16-bit PNG, 32-bit integer
or float image) is read as 8-bit grey with values above 255 clipped to 255, so a 16-bit mask of
0/1000 or one holding 1000 alone looks binary 0/255 there. Such a mask is a non-binary mask like
any other (:func:`hidden_non_binary`): a ``non_binary_mask`` warning for its sample, which keeps
the reader's thresholded map, or a reject under ``strict``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.datasets.handle import DatasetHandle
from textureade.errors import UserError
from textureade.types import Sample

#: PIL modes of images stored wider than 8 bits per pixel (16-bit and 32-bit integer, float)
WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def detecture_metadata(folder: Path) -> list[dict[str, Any]]:
    """The parsed ``metadata.json`` of a Detecture-form folder (UserError when unreadable)."""
    meta = folder / "metadata.json"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise UserError(f"cannot read {meta}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, list):
        raise UserError(f"{meta} must hold a JSON list of {{image_path, id, textures}} entries")
    return data


def detecture_fingerprint(folder: Path) -> str:
    """sha256 of metadata.json plus the relative path and byte size of every file it names."""
    from textureade.detecture_format import detecture_fingerprint as fingerprint

    return fingerprint(folder)


def hidden_non_binary(path: Path) -> str | None:
    """What is wrong with a mask stored wider than 8 bits whose values are not all 0/255 although its
    8-bit reading (``convert("L")``, what :mod:`textureade.detecture_format` thresholds) is; else None.

    A mask of another mode, or one whose 8-bit reading already shows other values (the reader
    flags those), gives None; so does a file that cannot be opened (the reader rejected it then).
    """
    from PIL import Image

    from textureade.readers.base import safe_text

    try:
        with Image.open(path) as im:  # only the header is read here
            if im.mode not in WIDE_MODES:
                return None
            raw, seen = np.asarray(im), np.asarray(im.convert("L"))
    except Exception:  # noqa: BLE001 - unreadable: the reader's reject already says why
        return None
    odd = (raw != 0) & (raw != 255)
    if not odd.any() or ((seen != 0) & (seen != 255)).any():
        return None
    return (
        f"mask {safe_text(path.name)} is not binary 0/255 ({raw.dtype} values {raw.min():g}..{raw.max():g}, "
        f"{int(np.count_nonzero(odd))} other pixels; read as 8-bit {int(seen.min())}..{int(seen.max())})"
    )


def _with_wide_masks_checked(
    samples: Iterable[Sample], folder: Path, handle: DatasetHandle
) -> Iterator[Sample]:
    """``samples`` with :func:`hidden_non_binary` notes as ``non_binary_mask`` warnings (or, under
    ``handle.strict``, the sample rejected with the note), like the reader's own non-binary masks."""
    from textureade.detecture_format import MASK_THRESHOLD, NON_BINARY_MASK, resolve_inside

    root = folder if folder.is_dir() else folder.parent
    for sample in samples:
        notes = []
        for j, rel in enumerate(sample.provenance.get("mask_paths", [])):
            try:
                path = resolve_inside(root, rel, f"texture {j} mask_path")  # as the reader found it
            except Exception:  # noqa: BLE001 - the reader resolved it; nothing to add if not
                continue
            note = hidden_non_binary(path)
            if note is not None:
                notes.append(note)
        if notes and handle.strict:
            handle.on_reject(sample.id, f"{notes[0]}; --strict")
            continue
        for note in notes:
            handle.on_warning(sample.id, NON_BINARY_MASK, f"{note}: thresholded at > {MASK_THRESHOLD}")
        yield sample


def open_detecture(folder: Path, **kw: Any) -> DatasetHandle:
    """A handle on a Detecture-form folder (read through textureade.detecture_format; masks stored
    wider than 8 bits checked here, see the module docstring)."""
    folder = Path(folder)

    def factory() -> Iterator[Sample]:
        from textureade.detecture_format import read_detecture_folder

        samples = read_detecture_folder(
            folder, on_reject=handle.on_reject, on_warning=handle.on_warning, strict=handle.strict
        )
        return _with_wide_masks_checked(samples, folder, handle)

    kw.setdefault("name", folder.name)
    handle = DatasetHandle(
        form="detecture",
        factory=factory,
        path=folder,
        fingerprint_fn=lambda: detecture_fingerprint(folder),
        count_fn=lambda: len(detecture_metadata(folder)),
        **kw,
    )
    return handle
