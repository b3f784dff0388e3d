"""manifest.json (config, code version, input fingerprint, per-shard sha256, counts) and its checks."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from textureade.errors import UserError, safe_text
from textureade.fileio import atomic_write, sha256_file
from textureade.store.card import render_card
from textureade.store.schema import schema_problem
from textureade.store.shards import ShardInfo, list_shards

FORMAT = "textureade-1"


def finalise_dataset(
    out_dir: str | os.PathLike,
    *,
    name: str,
    card: dict[str, Any],
    config: dict[str, Any],
    shards: list[ShardInfo],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write manifest.json and README.md for the given shards (atomically, deterministically)."""
    from textureade import __version__

    out = Path(out_dir)
    shard_dicts = sorted((s.to_dict() for s in shards), key=lambda d: d["path"])
    counts: dict[str, int] = defaultdict(int)
    for s in shard_dicts:
        counts[s["split"]] += s["rows"]
    manifest = {
        "format": FORMAT,
        "name": name,
        "code_version": __version__,
        "config": config,
        "counts": dict(sorted(counts.items())),
        "total": sum(counts.values()),
        "shards": shard_dicts,
    }
    manifest.update(extra or {})
    text = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write(out / "README.md", render_card(name, card, counts, shard_dicts).encode())
    atomic_write(out / "manifest.json", text.encode())
    return out


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    """manifest.json as a dict whose ``shards`` (when present) is a list of {path, sha256, ...}.

    UserError (one line, what to do) when it is missing, not JSON or of another shape.
    """
    path = Path(out_dir) / "manifest.json"
    if not path.is_file():
        raise UserError(f"{out_dir} has no manifest.json; is it a finished TextureADE build?")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot read {path} ({type(exc).__name__}); rebuild or re-download the dataset"
        ) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg}); rebuild the dataset") from None
    except RecursionError:  # arrays/objects nested deeper than Python's recursion limit
        raise UserError(f"{path} is not valid JSON (nested too deep); rebuild the dataset") from None
    shards = data.get("shards", []) if isinstance(data, dict) else None
    if not isinstance(shards, list) or not all(
        isinstance(s, dict) and isinstance(s.get("path"), str) and isinstance(s.get("sha256"), str)
        for s in shards
    ):
        raise UserError(f"{path} has no valid shard list; rebuild or re-download the dataset")
    return data


def outside_folder(rel: str) -> bool:
    """Whether a manifest's shard path leaves the dataset folder: absolute (``/x.parquet``) or
    climbing out of it (``../x.parquet``, ``data/../../x.parquet``). Such a shard is never read."""
    norm = posixpath.normpath(rel)
    return posixpath.isabs(rel) or norm == ".." or norm.startswith("../")


OUTSIDE = "lies outside the dataset folder (not read)"


def dataset_fingerprint(out_dir: str | os.PathLike) -> str:
    """sha256 over the shards' relative paths and sha256s (from manifest.json, else from the files)."""
    out = Path(out_dir)
    if (out / "manifest.json").is_file():
        pairs = [(s["path"], s["sha256"]) for s in read_manifest(out).get("shards", [])]
    else:
        pairs = [(p.relative_to(out).as_posix(), sha256_file(p)) for p in list_shards(out)]
    if not pairs:
        raise UserError(f"{out_dir} holds no TextureADE shards (data/*.parquet)")
    blob = "".join(f"{p}\t{h}\n" for p, h in sorted(pairs)).encode()
    return hashlib.sha256(blob).hexdigest()


def check_dataset(out_dir: str | os.PathLike) -> list[str]:
    """Problems found (empty = fine), one line each: shard paths outside the folder, checksums,
    missing or unlisted shards, shards without TextureADE's columns (or with columns of another
    type), row counts, sample ids in more than one row, and base images in more than one split."""
    out = Path(out_dir)
    manifest = read_manifest(out)
    problems: list[str] = []
    listed = {s["path"]: s for s in manifest.get("shards", [])}
    on_disk = {p.relative_to(out).as_posix() for p in list_shards(out)}
    for rel in sorted(on_disk - set(listed)):
        problems.append(f"{rel}: shard not listed in manifest.json")
    splits_of: dict[str, set[str]] = defaultdict(set)
    first_row: dict[str, str] = {}  # sample id -> where it was seen first (ids are unique)
    for rel, entry in sorted(listed.items()):
        if outside_folder(rel):
            problems.append(f"shard path {safe_text(rel)} in manifest.json {OUTSIDE}")
            continue
        path = out / rel
        if not path.is_file():
            problems.append(f"{rel}: listed in manifest.json but missing")
            continue
        digest = sha256_file(path)
        if digest != entry.get("sha256"):
            problems.append(
                f"{rel}: sha256 {digest[:12]} does not match the manifest's {str(entry.get('sha256'))[:12]}"
            )
            continue
        try:
            with open(path, "rb") as f:  # Python's open: folder names that are not UTF-8 too
                shard = pq.ParquetFile(f)
                wrong = schema_problem(shard.schema_arrow)
                table = None if wrong else shard.read(columns=["id", "base_id", "split"])
        except Exception as exc:  # a corrupt shard is a finding, not a crash
            problems.append(f"{rel}: unreadable parquet ({type(exc).__name__})")
            continue
        if table is None:
            problems.append(f"{rel}: {wrong}")
            continue
        if table.num_rows != entry.get("rows"):
            problems.append(f"{rel}: {table.num_rows} rows, manifest says {entry.get('rows')}")
        ids, bases, splits = (table.column(c).to_pylist() for c in ("id", "base_id", "split"))
        repeated = []
        for row, (sid, base, split) in enumerate(zip(ids, bases, splits)):
            if sid in first_row:
                repeated.append(f"{sid} (first in {first_row[sid]})")
            else:
                first_row[sid] = f"{rel} row {row}"
            splits_of[base].add(split)
        if repeated:
            more = f" and {len(repeated) - 3} more" if len(repeated) > 3 else ""
            problems.append(
                f"{rel}: duplicate sample id{'s' * (len(repeated) > 1)} {', '.join(repeated[:3])}{more}"
            )
    for base, splits in sorted(splits_of.items()):
        if len(splits) > 1:
            problems.append(f"base image {base} is in more than one split ({', '.join(sorted(splits))})")
    return problems
