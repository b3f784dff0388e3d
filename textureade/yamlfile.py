"""The one reader of YAML mapping files (configs, manifests): :func:`read_yaml_mapping`; and the one
check of their values against a config dataclass's annotated field types: :func:`check_yaml_types`.

A leaf module (it imports only :mod:`textureade.errors`), so that any module may read its YAML
through it without an import cycle (``textureade.config`` imports the describers, which read
their manifests here).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import reprlib
from collections.abc import Callable
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


_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
}
# how a message names many values of a plain type ("a list of strings")
_PLURALS = {"int": "integers", "float": "numbers", "bool": "booleans", "str": "strings", "Any": "values"}


def _yaml_type(t: str) -> tuple[Callable[[Any], bool], str] | None:
    """(test, name) for one annotation ``t`` (a string: configs use ``from __future__ import
    annotations``) that :func:`check_yaml_types` checks; None for any other annotation.

    Checked: int, float (an int fits too), bool (fits only bool), str, None ("null"), Any;
    ``list[X]`` (a YAML list of X), ``tuple[X, X]`` (a YAML list of that many X) and
    ``dict[str, X]`` (a mapping whose values are X), X being one of the plain types."""
    t = t.strip()
    if t == "None":
        return (lambda v: v is None), "null"
    if t == "Any":
        return (lambda v: True), "anything"
    if t in _SIMPLE_TYPES:
        allowed = _SIMPLE_TYPES[t]
        return (lambda v: isinstance(v, allowed) and (bool in allowed or not isinstance(v, bool))), t
    m = re.fullmatch(r"(list|tuple|dict)\[(.+)\]", t)
    if m is None:
        return None
    kind, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
    if not all(a in _PLURALS for a in args):
        return None
    tests = [_yaml_type(a)[0] for a in args]  # type: ignore[index]
    if kind == "list" and len(args) == 1:
        return (lambda v: isinstance(v, list) and all(map(tests[0], v))), f"a list of {_PLURALS[args[0]]}"
    if kind == "tuple" and len(set(args)) == 1:
        n = len(args)
        return (
            lambda v: isinstance(v, list | tuple) and len(v) == n and all(map(tests[0], v))
        ), f"a list of {n} {_PLURALS[args[0]]}"
    if kind == "dict" and len(args) == 2:
        name = "a mapping" if args[1] == "Any" else f"a mapping of names to {_PLURALS[args[1]]}"
        return (lambda v: isinstance(v, dict) and all(map(tests[1], v.values()))), name
    return None


def check_yaml_types(data: dict[str, Any], cls: type, where: str, prefix: str = "") -> None:
    """UserError (one line, naming ``where``, the key and the expected type) when a YAML value does
    not fit its field of the dataclass ``cls`` (the annotations :func:`_yaml_type` knows, each
    optionally ``| None``); fields of other types are checked by the config's own code. A field whose
    metadata holds ``yaml_section`` (a function ``(value, where, prefix)``) has its mapping checked
    by it too, with ``prefix`` = ``"<key>."``. ``prefix`` goes before every key named.
    A YAML ``limit: abc`` or ``mining: {min_score: abc}`` was a traceback."""
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        checks = [_yaml_type(p) for p in str(f.type).split("|")]
        if all(c is not None for c in checks):
            if not any(test(value) for test, _ in checks):  # type: ignore[misc]
                want = " or ".join(name for _, name in checks)  # type: ignore[misc]
                raise UserError(
                    f"{where}: {prefix}{f.name} must be {want}, got {reprlib.repr(value)}; fix the file"
                )
        section = f.metadata.get("yaml_section")
        if section is not None and isinstance(value, dict):
            section(value, where, f"{prefix}{f.name}.")
