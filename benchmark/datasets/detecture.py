"""Detecture-form dataset folders: ``metadata.json`` + images + one 0/255 mask PNG per texture.

The samples are read by :mod:`textureade.detecture_format` (masks that are not binary 0/255, also
one stored wider than 8 bits, are flagged there); this module gives the harness its handle on such
a folder (name, fingerprint, count) without reading any image.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.datasets.handle import DatasetHandle
from textureade.errors import UserError, first_line
from textureade.types import Sample


def detecture_metadata(folder: Path) -> list[dict[str, Any]]:
    """The parsed ``metadata.json`` of a Detecture-form folder (UserError when unreadable)."""
    meta = folder / "metadata.json"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise UserError(f"cannot read {meta}: {first_line(exc)}") from None
    if not isinstance(data, list):
        raise UserError(f"{meta} must hold a JSON list of {{image_path, id, textures}} entries")
    return data


def detecture_fingerprint(folder: Path) -> str:
    """sha256 of metadata.json plus the relative path and byte size of every file it names."""
    from textureade.detecture_format import detecture_fingerprint as fingerprint

    return fingerprint(folder)


def open_detecture(folder: Path, **kw: Any) -> DatasetHandle:
    """A handle on a Detecture-form folder (read through textureade.detecture_format)."""
    folder = Path(folder)

    def factory() -> Iterator[Sample]:
        from textureade.detecture_format import read_detecture_folder

        return read_detecture_folder(
            folder, on_reject=handle.on_reject, on_warning=handle.on_warning, strict=handle.strict
        )

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
