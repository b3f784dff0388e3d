"""Region describers: the offline heuristic describer and the transformers VLM describer.

``get_describer(name, **opts)``: "heuristic" -> ``OfflineDescriber(**opts)`` (no weights, the
default); "vlm" -> ``textureade.describe.vlm.VlmDescriber(**opts)`` (imported lazily: torch and
transformers load only then).
"""

from __future__ import annotations

from typing import Any

from textureade.errors import UserError

DESCRIBERS = ("heuristic", "vlm")


def get_describer(name: str, **opts: Any):
    """Build a Describer by name; unknown names or options raise UserError (one line)."""
    if name == "heuristic":
        from textureade.describe.offline import OfflineDescriber

        try:
            return OfflineDescriber(**opts)
        except TypeError as exc:
            raise UserError(f"heuristic describer: bad option(s) {sorted(opts)} ({exc})") from None
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
