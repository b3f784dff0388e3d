"""read_textureade: stream Samples from a TextureADE folder, one row group at a time, shards verified.

Bad input, by level (the README's "Bad input" table lists what the user sees):

- **A shard** that cannot be used (its sha256 differs from ``manifest.json``, it is listed there
  but missing, on disk but not listed, or pyarrow cannot read it) is a dataset-level problem:
  a :class:`UserError` naming the shard and what to do, or, when ``on_bad_shard`` is given, a
  call ``on_bad_shard(path, reason)`` and the remaining shards.
- **A row** whose image or label map does not decode (or whose fields do not make a Sample) is
  a per-sample problem: ``on_reject(id, reason)`` (default: a logged warning) and the next row.

Verification hashes the bytes that are read anyway: each shard is memory-mapped once, its pages
are hashed, then parquet decodes from the same mapping (no second read from disk, no copy in
memory). A folder without ``manifest.json`` cannot be verified; it is read with a logged warning.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from textureade.errors import UserError, first_line, safe_text
from textureade.store.manifest import OUTSIDE, outside_folder, read_manifest
from textureade.store.schema import row_to_sample
from textureade.store.shards import SHARD_RE, canonical_split, list_shards
from textureade.types import Sample

log = logging.getLogger(__name__)

OnReject = Callable[[str, str], None]
OnBadShard = Callable[[str, str], None]

_HASH_BLOCK = 1 << 20


class _BadShard(Exception):
    """One shard cannot be used (one-line reason)."""


def shard_advice(out: Path) -> str:
    """What to do about a bad shard in ``out`` (the end of every bad-shard message, whichever
    command reads the shards: only `bench run` and `bench score` take --skip-bad-shards)."""
    return (
        f"run `textureade check {safe_text(out)}`, then rebuild or re-download the dataset "
        "(or, in `bench run` and `bench score`, pass --skip-bad-shards to go on without it)"
    )


def _listed_shards(out: Path) -> dict[str, dict[str, Any]] | None:
    """{relative path: manifest entry} from manifest.json, or None when there is no manifest."""
    if not (out / "manifest.json").is_file():
        return None
    return {s["path"]: s for s in read_manifest(out).get("shards", [])}  # a checked shape


def _open_shard(path: Path, expected_sha256: str | None) -> Any:
    """The shard as a pyarrow ParquetFile over a memory map; its sha256 checked when expected."""
    import mmap

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # Python's open: any file name the file system holds, UTF-8 or not
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:  # a directory, no permission, an empty file
        raise _BadShard(f"cannot be opened ({first_line(exc)})") from None
    view = memoryview(mapped)
    if expected_sha256 is not None:
        h = hashlib.sha256()
        for start in range(0, len(view), _HASH_BLOCK):
            h.update(view[start : start + _HASH_BLOCK])
        digest = h.hexdigest()
        if digest != expected_sha256:
            raise _BadShard(
                f"sha256 {digest[:12]} does not match manifest.json's {safe_text(expected_sha256)[:12]} "
                "(damaged or changed)"
            )
    try:
        return pq.ParquetFile(pa.BufferReader(pa.py_buffer(view)))
    except Exception as exc:  # ArrowInvalid (no magic bytes, bad footer), OSError...
        raise _BadShard(f"not a readable parquet file ({first_line(exc)})") from None


def _row_id(row: dict[str, Any], where: str) -> str:
    rid = row.get("id") if isinstance(row, dict) else None
    return safe_text(rid) if isinstance(rid, str) and rid else where


def _preflight(
    out: Path, split: str | None, verify: bool
) -> tuple[list[Path], str | None, dict[str, dict[str, Any]] | None]:
    """What read_textureade checks before opening a shard: (the shards on disk, the canonical split
    or None, manifest.json's {path: entry} or None). UserError when there is no shard (a missing
    folder or not a TextureADE one), the split is unknown, or manifest.json cannot be read."""
    shards = list_shards(out)
    if not shards:
        raise UserError(f"{out} holds no TextureADE shards (expected data/<split>-NNNNN.parquet)")
    try:
        want = canonical_split(split) if split else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return shards, want, _listed_shards(out) if verify else None


def check_readable(out_dir: str | os.PathLike, split: str | None = None, *, verify: bool = True) -> None:
    """Raise now the one-line UserError that ``read_textureade(out_dir, split, verify=verify)``
    would raise before its first shard (no shards, an unknown split, an unreadable manifest.json),
    for a command that validates its inputs before slow set-up (loading a model)."""
    _preflight(Path(out_dir), split, verify)


def read_textureade(
    out_dir: str | os.PathLike,
    split: str | None = None,
    *,
    verify: bool = True,
    on_reject: OnReject | None = None,
    on_bad_shard: OnBadShard | None = None,
) -> Iterator[Sample]:
    """Yield the samples of ``out_dir`` (all splits, or one: train/validation/test, "val" accepted),
    shard by shard in name order, decoding images lazily per row group.

    verify: check each shard's sha256 against manifest.json as it is opened (and that every
    listed shard exists and every shard is listed). on_reject(id, reason): a row that cannot be
    decoded (default: a logged warning). on_bad_shard(path, reason): a shard that cannot be used,
    skipped (default None: UserError naming the shard and what to do). See the module docstring.
    """
    out = Path(out_dir)
    shards, want, listed = _preflight(out, split, verify)
    if verify and listed is None:
        log.warning("%s has no manifest.json: its shards cannot be verified", out)

    def bad(rel: str, reason: str) -> None:
        if on_bad_shard is None:
            raise UserError(f"{safe_text(out / rel)}: {reason}; {shard_advice(out)}")
        on_bad_shard(safe_text(rel), reason)

    def split_of(rel: str) -> str | None:
        m = SHARD_RE.match(Path(rel).name)
        return m.group("split") if m else None

    on_disk = {p.relative_to(out).as_posix(): p for p in shards}
    names = sorted(set(on_disk) | set(listed or ()))
    seen: dict[str, str] = {}  # sample id -> where it was read first (a build never repeats one)
    for rel in names:
        if outside_folder(rel):  # a manifest entry (names on disk never are): never read
            bad(rel, f"shard path {OUTSIDE}")
            continue
        if want and split_of(rel) != want:
            continue
        if rel not in on_disk:
            bad(rel, "listed in manifest.json but missing")
            continue
        expected = None
        if listed is not None:
            if rel not in listed:
                bad(rel, "on disk but not listed in manifest.json (a stray or renamed shard)")
                continue
            expected = str(listed[rel].get("sha256"))
        try:
            pf = _open_shard(on_disk[rel], expected)
        except _BadShard as exc:
            bad(rel, str(exc))
            continue
        for i in range(pf.num_row_groups):
            try:
                rows = pf.read_row_group(i).to_pylist()
            except Exception as exc:  # a damaged page the hash did not cover (or --no-verify)
                bad(rel, f"row group {i} is unreadable ({first_line(exc)})")
                break
            for j, row in enumerate(rows):
                where = f"{rel} row group {i} row {j}"
                try:
                    sample = row_to_sample(row)
                except Exception as exc:  # PIL decode errors, ValidationError, missing fields
                    reason = f"{where}: {first_line(exc)}"
                    if on_reject is not None:
                        on_reject(_row_id(row, where), reason)
                    else:
                        log.warning("skipped %s: %s", _row_id(row, where), reason)
                    continue
                if sample.id in seen:  # a second record of one id would corrupt records and resume
                    reason = f"{where}: duplicate id {safe_text(sample.id)} ({seen[sample.id]} has it too)"
                    if on_reject is not None:
                        on_reject(_row_id(row, where), reason)
                    else:
                        log.warning("skipped %s: %s", _row_id(row, where), reason)
                    continue
                seen[sample.id] = where
                yield sample
