"""Mosaic sets (``textureade mosaic --out DIR``): TextureADE-form folders with their own defaults.

A folder opened by path whose ``manifest.json`` names the generator ``textureade.mosaic`` takes
the ``mosaics`` manifest's protocol and K (oracle-k with the ground-truth K) instead of the
autonomous protocol of a mined TextureADE build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.datasets.handle import DatasetHandle
from benchmark.datasets.textureade import open_textureade

GENERATOR = "textureade.mosaic"


def is_mosaic_set(folder: Path) -> bool:
    """True when ``folder/manifest.json`` says ``textureade mosaic`` wrote it."""
    try:
        config = json.loads((Path(folder) / "manifest.json").read_text()).get("config")
    except (OSError, ValueError, AttributeError, RecursionError):
        return False
    return isinstance(config, dict) and config.get("generator") == GENERATOR


def open_mosaics(folder: Path, spec: Any) -> DatasetHandle:
    """A handle on a mosaic set with the defaults of ``spec`` (the ``mosaics`` DatasetSpec)."""
    return open_textureade(folder, protocol=spec.protocol, k=spec.k)
