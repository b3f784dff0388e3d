"""The build journal: finished chunks of a build, for resumption, on :class:`textureade.fileio.JsonlLog`.

Line 1 is the header (what the build is: config and input fingerprints, item count, chunk size);
each later line records one finished chunk (its index, shards and rejects). Every append is
flushed and fsynced before the build moves on; a torn last line (a kill during the write) is cut
off when the journal is reopened (both by JsonlLog). Nothing in it carries a timestamp.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textureade.fileio import JsonlLog


class Journal:
    """``path``: the JSONL file. ``header``: None until written or read; ``chunks``: index -> entry."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._log = JsonlLog(self.path)
        self.header: dict[str, Any] | None = None
        self.chunks: dict[int, dict[str, Any]] = {}
        for entry in self._log:
            if entry.get("kind") == "header" and self.header is None:
                self.header = entry
            elif entry.get("kind") == "chunk":
                self.chunks[int(entry["index"])] = entry

    def _append(self, entry: dict[str, Any]) -> None:
        self._log.append(entry)
        self._log.close()  # a chunk takes minutes: no file handle held between appends

    def start(self, header: dict[str, Any]) -> None:
        """Write the header of a new journal."""
        self.header = {"kind": "header", **header}
        self._append(self.header)

    def finish_chunk(self, index: int, entry: dict[str, Any]) -> None:
        record = {"kind": "chunk", "index": int(index), **entry}
        self._append(record)
        self.chunks[int(index)] = record
