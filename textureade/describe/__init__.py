"""Region describers: the offline describer and the transformers VLM describer.

``get_describer(name, **opts)``: "offline" -> ``OfflineDescriber(**opts)`` (no weights, the
default); "vlm" -> ``textureade.describe.vlm.VlmDescriber(**opts)`` (imported lazily: torch and
transformers load only then). The old name "heuristic" still means "offline", with a warning
(:func:`canonical_describer`).
"""

from __future__ import annotations

import warnings
from typing import Any

from textureade.errors import UserError

DESCRIBERS = ("offline", "vlm")
#: old describer names -> their current name (accepted with a FutureWarning)
DEPRECATED_NAMES = {"heuristic": "offline"}


def canonical_describer(name: str) -> str:
    """The current name of describer ``name``: a deprecated name warns (FutureWarning) and maps."""
    if name in DEPRECATED_NAMES:
        new = DEPRECATED_NAMES[name]
        warnings.warn(f"the describer name {name!r} is deprecated; use {new!r}", FutureWarning, stacklevel=2)
        return new
    return name


def get_describer(name: str, **opts: Any):
    """Build a Describer by name; unknown names or options raise UserError (one line)."""
    name = canonical_describer(name)
    if name == "offline":
        from textureade.describe.offline import OfflineDescriber

        try:
            return OfflineDescriber(**opts)
        except TypeError as exc:
            raise UserError(f"offline describer: bad option(s) {sorted(opts)} ({exc})") from None
    if name == "vlm":
        try:
            from textureade.describe.vlm import VlmDescriber
        except ImportError as exc:
            raise UserError(
                f"the vlm describer is unavailable here ({exc}); install textureade[models]"
            ) from None
        try:
            return VlmDescriber(**opts)
        except TypeError as exc:
            raise UserError(
                f"vlm describer: bad option(s) {sorted(opts)} ({exc}); see describer_options"
            ) from None
    raise UserError(f"unknown describer {name!r}; use one of {', '.join(DESCRIBERS)}")
