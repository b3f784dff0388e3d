"""The one reader of YAML mapping files (configs, manifests): :func:`read_yaml_mapping`.

A leaf module (it imports only :mod:`textureade.errors`), so that any module may read its YAML
through it without an import cycle (``textureade.config`` imports the describers, which read
their manifests here).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from textureade.errors import UserError, first_line

# parsed YAML mappings by file text: a build resolves its mining manifests several times at
# start-up, and PyYAML's pure-Python parser takes ~12 ms a time for them
_PARSED: dict[str, dict[str, Any]] = {}


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """The YAML mapping in ``path`` ({} for an empty file); a one-line UserError naming ``what`` otherwise.
    A text already parsed in this process is not parsed again; each caller gets its own copy."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist; give an existing YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot read {what} {path} ({type(exc).__name__}); give a readable UTF-8 YAML file"
        ) from None
    if text not in _PARSED:
        _PARSED[text] = _parse_yaml_mapping(text, path, what)
    try:
        return copy.deepcopy(_PARSED[text])
    except RecursionError:  # parsed, but nested too deep to copy
        raise UserError(f"{what} {path} is not valid YAML (nested too deep); fix the file") from None


def _parse_yaml_mapping(text: str, path: str | Path, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(
            f"{what} {path} is not valid YAML ({first_line(exc, 'parse error')}); fix the file"
        ) from None
    except RecursionError:  # flow collections nested past the recursion limit
        raise UserError(f"{what} {path} is not valid YAML (nested too deep); fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{what} {path} must hold a mapping of keys to values; fix the file")
    return data
