"""TextureADE: derive a sub-semantic segmentation dataset from ADE20K.

``import textureade`` stays light (numpy/Pillow only); torch and transformers are imported inside
the functions that need them.
"""

from __future__ import annotations

from typing import Any

from textureade.errors import UserError
from textureade.types import Prediction, Record, Sample, Scene, SceneObject, ValidationError

__version__ = "0.1.0"

__all__ = [
    "Prediction",
    "Record",
    "Sample",
    "Scene",
    "SceneObject",
    "UserError",
    "ValidationError",
    "__version__",
    "read_ade20k",
]


def __getattr__(name: str) -> Any:  # lazy: keeps `import textureade` cheap
    if name == "read_ade20k":
        from textureade.readers import read_ade20k

        return read_ade20k
    raise AttributeError(f"module 'textureade' has no attribute {name!r}")
