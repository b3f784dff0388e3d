"""The build journal: an append-only JSONL file recording finished chunks, for resumption.

Line 1 is the header (what the build is: config and input fingerprints, item count, chunk size);
each later line records one finished chunk (its index, shards and rejects). Every append is
flushed and fsynced before the build moves on. A torn last line (a kill during the write) is
ignored and cut off when the journal is reopened. Nothing in it carries a timestamp.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class Journal:
    """``path``: the JSONL file. ``header``: None until written or read; ``chunks``: index -> entry."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.header: dict[str, Any] | None = None
        self.chunks: dict[int, dict[str, Any]] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        good = 0
        with open(self.path, "rb") as f:
            data = f.read()
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break  # torn write
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                break
            if entry.get("kind") == "header" and self.header is None:
                self.header = entry
            elif entry.get("kind") == "chunk":
                self.chunks[int(entry["index"])] = entry
            good += len(raw)
        if good != len(data):
            with open(self.path, "rb+") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())

    def _append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        with open(self.path, "ab") as f:
            f.write(line.encode())
            f.flush()
            os.fsync(f.fileno())

    def start(self, header: dict[str, Any]) -> None:
        """Write the header of a new journal."""
        self.header = {"kind": "header", **header}
        self._append(self.header)

    def finish_chunk(self, index: int, entry: dict[str, Any]) -> None:
        record = {"kind": "chunk", "index": int(index), **entry}
        self._append(record)
        self.chunks[int(index)] = record
