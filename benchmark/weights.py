"""Are a method's weights here? The one check, driven by the manifest's ``weights:`` block.

Every weight a method loads is declared in its manifest (``manifests/methods/<name>.yaml``)::

    weights:
      sam3: {id: facebook/sam3, revision: main, param: sam3}
      tokenizer: {id: openai/clip-vit-base-patch16, revision: main, param: tokenizer, revision_param: revision}
      checkpoint: {param: checkpoint, file: checkpoint.pth, get: "the Google Drive link in the README of ..."}
      dinov2: {param: dinov2, optional: true}

Fields of one entry (:class:`WeightsEntry`):

- ``param``: the constructor parameter, and ``--option`` key, that carries the weights (default: the
  entry's name). Its value is a hub id or a local path; the manifest's ``id`` is the default.
- ``id``: the default hub id, or null when the weights are not on the Hugging Face hub.
- ``revision``: the hub revision of ``id``; ``revision_param`` the parameter a user pins another
  revision with (default ``<param>_revision``).
- ``file``: the weights are one local file of this name (a checkpoint), never a hub id; ``get`` says
  where to download it.
- ``optional``: the method runs without them (absent value: nothing to check).

A hub id is looked up in the local Hugging Face cache only (its ``config.json``; nothing downloads
at run time); a local folder or file must exist. :func:`weights_problem` gives the first problem as
one line naming what to get and where to put it; ``benchmark.registry.availability`` asks it
before any method is built, so the check is the same for every method.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textureade.errors import UserError

FIELDS = ("id", "revision", "param", "revision_param", "file", "get", "optional")


@dataclass(frozen=True)
class WeightsEntry:
    """One named weight of a manifest's ``weights:`` block (see the module docstring)."""

    name: str
    param: str
    id: str | None = None
    revision: str | None = None
    revision_param: str = ""
    file: str | None = None
    get: str | None = None
    optional: bool = False

    @classmethod
    def parse(cls, name: str, fields: dict[str, Any], where: str = "") -> WeightsEntry:
        """One ``name: {...}`` item of a manifest's weights block; unknown fields are a UserError."""
        if not isinstance(fields, dict):
            raise UserError(f"{where}: weights entry {name!r} must be a mapping of {', '.join(FIELDS)}")
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise UserError(f"{where}: weights entry {name!r} has unknown fields {unknown}; known: {FIELDS}")
        param = str(fields.get("param") or name)
        entry = cls(
            name=name,
            param=param,
            id=fields.get("id"),
            revision=fields.get("revision"),
            revision_param=str(fields.get("revision_param") or f"{param}_revision"),
            file=fields.get("file"),
            get=fields.get("get"),
            optional=bool(fields.get("optional", False)),
        )
        if entry.file and entry.id:
            raise UserError(
                f"{where}: weights entry {name!r} is a local file ({entry.file}): it takes no hub id"
            )
        return entry


def weights_entries(block: dict[str, Any] | None, where: str = "") -> list[WeightsEntry]:
    """A manifest's ``weights:`` block -> its entries, in manifest order."""
    return [WeightsEntry.parse(name, fields, where) for name, fields in (block or {}).items()]


@dataclass(frozen=True)
class ResolvedWeights:
    """What a weights entry resolves to under the given params.

    value: the hub id or path in use (None: not given); revision: the hub revision in use (None for
    a local path); local: value names an existing local file or folder; default: value is the
    manifest's ``id``.
    """

    entry: WeightsEntry
    value: str | None
    revision: str | None
    local: bool
    default: bool


def resolve(entry: WeightsEntry, params: dict[str, Any]) -> ResolvedWeights:
    """The weights ``params`` (manifest params + ``--option`` overrides) select for ``entry``."""
    raw = params.get(entry.param, entry.id)
    value = None if raw in (None, "") else str(raw)
    local = value is not None and Path(os.path.expanduser(value)).exists()
    default = value == entry.id
    revision = params.get(entry.revision_param) or (entry.revision if default else None)
    return ResolvedWeights(entry, value, None if local else revision, local, default)


def _looks_like_path(value: str) -> bool:
    """A path rather than an ``org/name`` hub id."""
    return value.startswith(("/", ".", "~")) or value.count("/") > 1 or "\\" in value


def _hub_cached(repo_id: str, revision: str | None) -> bool | None:
    """True when the hub id's config.json is in the local HF cache, False when not, None when not an id."""
    from huggingface_hub import try_to_load_from_cache

    try:
        hit = try_to_load_from_cache(repo_id, "config.json", revision=revision or None)
    except ValueError:  # huggingface_hub's HFValidationError: not a valid repo id
        return None
    return isinstance(hit, str)


def entry_problem(entry: WeightsEntry, params: dict[str, Any]) -> str | None:
    """None when ``entry``'s weights are usable offline here, else one line saying how to get them."""
    r = resolve(entry, params)
    opt = f"--option {entry.param}"
    if entry.file:  # one local file, never on the hub
        fetch = f"download {entry.file}" + (f" ({entry.get})" if entry.get else "")
        if r.value is None:
            return None if entry.optional else f"no {entry.name} given; {fetch} and pass {opt}=PATH"
        if Path(os.path.expanduser(r.value)).is_file():
            return None
        return f"{entry.name} not found at {r.value}; {fetch} and pass {opt}=PATH"
    if r.value is None:
        return None if entry.optional else f"no {entry.name} weights given; pass {opt}=HUB_ID_OR_FOLDER"
    if r.local:
        return None
    if _looks_like_path(r.value):
        return f"{entry.name} weights folder {r.value} does not exist; pass {opt}=FOLDER (an existing folder) or a hub id"
    cached = _hub_cached(r.value, r.revision)
    if cached:
        return None
    if cached is None:
        return (
            f"{entry.name} weights {r.value!r} are neither an existing folder nor a hub id; pass {opt}=FOLDER"
        )
    rev = f" --revision {r.revision}" if r.revision else ""
    return (
        f"{entry.name} weights {r.value!r} are not in the local Hugging Face cache (nothing downloads at "
        f"run time); get them with `huggingface-cli download {r.value}{rev}` (into the cache) or pass {opt}=FOLDER"
    )


def weights_problem(entries: list[WeightsEntry], params: dict[str, Any]) -> str | None:
    """The first entry whose weights are not usable here (manifest order), as one line; else None."""
    for entry in entries:
        problem = entry_problem(entry, params)
        if problem:
            return problem
    return None
