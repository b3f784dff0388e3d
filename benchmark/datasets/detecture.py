"""Detecture-form dataset folders: ``metadata.json`` + images + one 0/255 mask PNG per texture.

The samples are read by :mod:`textureade.detecture_format` (masks that are not binary 0/255, also
one stored wider than 8 bits, are flagged there); this module gives the harness its handle on such
a folder (name, fingerprint, count) without reading any image.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.datasets.handle import DatasetHandle
from textureade.detecture_format import detecture_fingerprint, load_metadata, read_detecture_folder
from textureade.types import Sample


def open_detecture(folder: Path, **kw: Any) -> DatasetHandle:
    """A handle on a Detecture-form folder (read through textureade.detecture_format)."""
    folder = Path(folder)

    def factory() -> Iterator[Sample]:
        return read_detecture_folder(
            folder, on_reject=handle.on_reject, on_warning=handle.on_warning, strict=handle.strict
        )

    kw.setdefault("name", folder.name)
    handle = DatasetHandle(
        form="detecture",
        factory=factory,
        path=folder,
        fingerprint_fn=lambda: detecture_fingerprint(folder),
        count_fn=lambda: len(load_metadata(folder)),
        **kw,
    )
    return handle
