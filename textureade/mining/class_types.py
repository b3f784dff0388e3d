"""Class typing by keyword: texture surface, object, ambiguous or ignore (the Detecture Miner's rule).

A class name is lower-cased and split into words; synonyms (separated by ";" or ",") are all
considered. A keyword matches a whole word, or a whole run of words for multi-word keywords.
Precedence: ignore > object > texture surface > ambiguous; a name matching no list is an object
("object keywords win; unknown -> object"). Class id 0 (unlabeled) is always ignore.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache

from textureade.config import MiningConfig

_WORD = re.compile(r"[a-z0-9]+")


class ClassType(StrEnum):
    TEXTURE = "texture"
    OBJECT = "object"
    AMBIGUOUS = "ambiguous"
    IGNORE = "ignore"


def _words(text: str) -> str:
    """' w1 w2 ... ' (padded with spaces so that ' kw ' finds whole words)."""
    return " " + " ".join(_WORD.findall(text.lower())) + " "


@lru_cache(maxsize=64)
def _patterns(keywords: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f" {' '.join(_WORD.findall(k.lower()))} " for k in keywords if _WORD.findall(k.lower()))


def _matches(padded: str, keywords: Iterable[str]) -> bool:
    return any(p in padded for p in _patterns(tuple(keywords)))


def class_type(name: str, cfg: MiningConfig) -> ClassType:
    """The type of one ADE class name (e.g. ``"windowpane, window"`` -> OBJECT)."""
    return _cached_type(
        name, (tuple(cfg.ignore), tuple(cfg.object), tuple(cfg.texture_surface), tuple(cfg.ambiguous))
    )


@lru_cache(maxsize=8192)
def _cached_type(name: str, lists: tuple[tuple[str, ...], ...]) -> ClassType:
    """``class_type`` for the keyword lists (ignore, object, texture surface, ambiguous); a build
    types the same names in every image, so each is typed once."""
    ignore, obj, texture, ambiguous = lists
    padded = _words(name or "")
    if padded.strip() == "" or _matches(padded, ignore):
        return ClassType.IGNORE
    if _matches(padded, obj):
        return ClassType.OBJECT
    if _matches(padded, texture):
        return ClassType.TEXTURE
    if _matches(padded, ambiguous):
        return ClassType.AMBIGUOUS
    return ClassType.OBJECT


def type_classes(class_names: dict[int, str], ids: Iterable[int], cfg: MiningConfig) -> dict[int, ClassType]:
    """Type every id in ``ids``; id 0 is IGNORE and an id without a name is an OBJECT (unknown)."""
    out: dict[int, ClassType] = {}
    for cid in ids:
        cid = int(cid)
        if cid == 0:
            out[cid] = ClassType.IGNORE
        else:
            out[cid] = class_type(class_names[cid], cfg) if cid in class_names else ClassType.OBJECT
    return out


def primary_name(name: str) -> str:
    """The first synonym of an ADE class name, stripped: ``"windowpane, window "`` -> ``"windowpane"``."""
    first = re.split(r"[;,]", name or "")[0].strip()
    return first or (name or "").strip()
