"""ADE20K readers: every form a user may own, read exactly as distributed.

Forms (auto-detected by :func:`open_ade20k`): ADEChallengeData2016 folders (SceneParse150 ids),
ADE20K_2021_17_01 folders (full-ADE ``name_ndx`` ids, instances, parts, objects with attributes),
and the Hugging Face parquet mirrors ``scene_parse_150`` and ``1aurent/ADE20K`` (streamed by row
group). A per-image problem is reported through ``on_reject(id, reason)`` and reading goes on; a path
that holds no ADE20K form is a :class:`textureade.errors.UserError`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping

from textureade.readers.base import FORMS, SPLITS, Ade20kSource, ItemRef, ReadError
from textureade.readers.detect import open_ade20k
from textureade.readers.mapping import convert_from_ade, load_map_from_ade
from textureade.types import Scene

__all__ = [
    "FORMS",
    "SPLITS",
    "Ade20kSource",
    "ItemRef",
    "ReadError",
    "convert_from_ade",
    "load_map_from_ade",
    "open_ade20k",
    "read_ade20k",
]

log = logging.getLogger("textureade.readers")


def _warn(item_id: str, reason: str) -> None:
    log.warning("skipped %s: %s", item_id, reason)


def read_ade20k(
    path: str | os.PathLike,
    split: str | None = None,
    limit: int | None = None,
    *,
    mapping: str | os.PathLike | Mapping[int, int] | None = None,
    on_reject: Callable[[str, str], None] | None = None,
) -> Iterator[Scene]:
    """Return an iterator over the :class:`Scene` objects at ``path``, lazily, sorted by id.

    split: "training", "validation" or None (every split present). limit: stop after this many
    scenes (rejected images do not count). mapping: mapFromADE.txt path or {full_id: challenge_id},
    converting the full forms to SceneParse150 ids (see :mod:`textureade.readers.mapping`).
    on_reject(item_id, reason): called for each unreadable image (default: a logged warning).
    The form is detected and the images listed now (a UserError is raised here, not mid-iteration);
    images are decoded one at a time as the iterator advances.
    """
    if limit is not None and limit < 0:
        from textureade.errors import UserError

        raise UserError(f"limit must be >= 0, got {limit}")
    source = open_ade20k(path, mapping=mapping)
    refs = source.items(split)
    return _iterate(source, refs, limit, on_reject or _warn)


def _iterate(
    source: Ade20kSource, refs: list[ItemRef], limit: int | None, report: Callable[[str, str], None]
) -> Iterator[Scene]:
    done = 0
    for ref in refs:
        if limit is not None and done >= limit:
            return
        try:
            scene = source.load(ref)
        except ReadError as exc:
            report(ref.id, str(exc))
            continue
        yield scene
        done += 1
