"""On-disk cache of region descriptions, so a re-run or a resumed build never asks a model twice.

Key: sha256 over (image hash, region mask hash, model key, prompt hash). The image hash covers the
pixels and shape; the mask hash covers the region's pixels (and, for overlay presentations, the
layout of the regions shown beside it, because the answer depends on them); the model key is
"hub id@revision" or, for a local folder, its path plus a hash of its config files and weights;
the prompt hash covers templates, presentation and hints (``prompts.prompt_hash``) and, in the
describer's key, the generation settings that decide a fallback (max_new_tokens, max_retries, seed).

Value: ``{"status": "ok", "description": str, "attempts": int}`` for a validated model answer, or
``{"status": "fallback", "reason": str, "attempts": int}`` when the model gave no usable answer after
all retries. Fallback decisions are cached too, so a re-run does not query a junk-producing model
again: the fallback describer (deterministic, cheap) is simply re-run for those regions. Junk is never
stored. An entry holds everything the sample's provenance records about the decision (attempts,
reason), so a cache hit reproduces the provenance of the original run byte for byte; whether a region
came from the cache is a property of the run (the describer's ``stats``), not of the dataset.

Storage: one SQLite file ``descriptions.sqlite`` in ``cache_dir``. Every ``put_many`` is one
transaction, so a kill mid-write loses at most that batch and never corrupts the file; several
processes may share the file (SQLite locking, 60 s busy timeout).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from textureade.errors import UserError

FILENAME = "descriptions.sqlite"


def image_hash(image: np.ndarray) -> str:
    """sha256 (hex, 32 chars) of an image's shape, dtype and bytes."""
    arr = np.ascontiguousarray(image)
    h = hashlib.sha256(f"{arr.shape}|{arr.dtype}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()[:32]


def mask_hash(mask: np.ndarray, context: np.ndarray | None = None) -> str:
    """sha256 (hex, 32 chars) of a boolean mask (bit-packed) and optionally a context label map."""
    m = np.ascontiguousarray(mask, dtype=bool)
    h = hashlib.sha256(f"{m.shape}".encode())
    h.update(np.packbits(m).tobytes())
    if context is not None:
        h.update(b"|context|")
        h.update(np.ascontiguousarray(context, dtype=np.int32).tobytes())
    return h.hexdigest()[:32]


def cache_key(img_hash: str, msk_hash: str, model_key: str, prompt_h: str) -> str:
    return hashlib.sha256(f"{img_hash}|{msk_hash}|{model_key}|{prompt_h}".encode()).hexdigest()


def default_cache_dir() -> Path:
    """Where builds cache VLM descriptions unless told otherwise: $TEXTUREADE_CACHE/descriptions,
    else ~/.cache/textureade/descriptions. Shared by every build on the machine, so a resumed build
    or a rebuild into another folder never asks the model twice (keys include model and prompts)."""
    import os

    root = os.environ.get("TEXTUREADE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "textureade")
    return Path(root) / "descriptions"


class DescriptionCache:
    """A key -> entry store in ``cache_dir/descriptions.sqlite`` (created on first use).

    Picklable (the connection is reopened in each process).
    """

    def __init__(self, cache_dir: str | Path):
        self.dir = Path(cache_dir).expanduser()
        self.path = self.dir / FILENAME
        self._conn: sqlite3.Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"dir": self.dir, "path": self.path, "_conn": None}

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=60)
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS descriptions (key TEXT PRIMARY KEY, model TEXT, "
                    "prompt TEXT, entry TEXT NOT NULL)"
                )
                conn.commit()
            except (OSError, sqlite3.Error) as exc:
                raise UserError(f"description cache {self.path} cannot be opened ({exc}); "
                                "pass a writable cache_dir") from None  # fmt: skip
            self._conn = conn
        return self._conn

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The stored entries among ``keys`` (missing keys are absent from the result)."""
        out: dict[str, dict[str, Any]] = {}
        db = self._db()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, entry in db.execute(
                f"SELECT key, entry FROM descriptions WHERE key IN ({marks})", chunk
            ):
                out[key] = json.loads(entry)
        return out

    def put_many(self, entries: dict[str, dict[str, Any]], model: str = "", prompt: str = "") -> None:
        """Store ``entries`` (key -> entry) in one transaction; an existing key is replaced."""
        if not entries:
            return
        for entry in entries.values():
            if entry.get("status") not in ("ok", "fallback"):
                raise ValueError(f"cache entries need status 'ok' or 'fallback', got {entry!r}")
        db = self._db()
        with db:  # one transaction: all or nothing
            db.executemany(
                "INSERT OR REPLACE INTO descriptions (key, model, prompt, entry) VALUES (?, ?, ?, ?)",
                [(k, model, prompt, json.dumps(v, sort_keys=True)) for k, v in entries.items()],
            )

    def __len__(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM descriptions").fetchone()[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
