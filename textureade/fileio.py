"""Crash-safe file plumbing shared by every job: atomic writes, checksums and JSONL journals.

- :func:`atomic_write` writes through a temporary file in the same folder, fsyncs it, renames it
  over the target and fsyncs the folder: a reader (or a resumed job) sees the old file or the new
  one, never half of one. A build's files (its parquet shards through :func:`atomic_path`,
  manifest.json, README.md, rejects.jsonl), the preview site and the harness's tables, reports,
  predictions and checkpoints are written through one of the two. Not through them: the images
  and masks of a Detecture export (its metadata.json, which lists them, is written atomically
  last), the rows a training log appends to its CSV, and the demo's and tests' input fixtures.
- :class:`JsonlLog` is the append-only journal behind both resumable jobs: one JSON object per
  line, each append written and flushed before returning; a torn last line left by a kill is cut
  off when the log is opened. The build's chunk journal fsyncs every append; the harness's
  per-image records (``benchmark/journal.py``) fsync at most once per ``SYNC_SECONDS`` and on
  close, so an OS crash (not a killed process) can lose that last second of records.
- :func:`sha256_file` is the one file checksum (the manifest's per-shard sha256, input
  fingerprints).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename inside ``folder`` durable (best effort: some file systems refuse it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it over ``path``.

    For writers that want a file name (parquet, matplotlib). On an exception the temporary file is
    removed and ``path`` is left as it was. durable=False skips both fsyncs (still atomic for a
    crashed process, not for a power cut): for many small derived files (thumbnails) whose writer
    makes them durable together afterwards (one ``os.sync()``) instead of two fsyncs each.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically and durably."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(payload)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """``obj`` as indented, key-sorted JSON (deterministic bytes), written atomically.

    Text is written as UTF-8; a lone surrogate (a file name that is not UTF-8, decoded with
    surrogateescape) is written as its JSON escape (``\\udcff``), which reads back as the same str.
    """
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    atomic_write(path, text.encode("utf-8", "backslashreplace"))


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class JsonlLog:
    """An append-only JSONL file: one object per line, each append fsynced before returning.

    Opening it cuts a torn or unparsable tail (a kill during a write) so that appends continue from
    the last complete line. Lines are written key-sorted, so the same objects give the same bytes.

    ``sync_seconds`` > 0 fsyncs at most that often (and on close) instead of after every line: each
    line is still written and flushed to the OS before ``append`` returns, so a killed process
    (even kill -9) loses nothing; only an OS crash or power loss can lose the last ``sync_seconds``
    of lines. For logs of many fast items (an fsync costs milliseconds).
    """

    def __init__(self, path: str | os.PathLike, sync_seconds: float = 0.0) -> None:
        self.path = Path(path)
        self.sync_seconds = float(sync_seconds)
        self._fh: Any = None
        # time.monotonic() of the last fsync; none yet, so the first line is fsynced whatever the clock
        self._synced = float("-inf")
        self._recover()

    def _recover(self) -> None:
        if not self.path.exists():
            return
        good = 0
        with open(self.path, "rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break
                try:
                    obj = json.loads(raw)
                except (ValueError, RecursionError):  # RecursionError: nested too deep
                    break
                if not isinstance(obj, dict):  # one object per line: anything else is damage too
                    break
                good += len(raw)
        if good != self.path.stat().st_size:
            with open(self.path, "rb+") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The complete lines, in the order they were written."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            for raw in f:
                if raw.endswith(b"\n"):
                    yield json.loads(raw)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def append(self, obj: dict[str, Any]) -> None:
        """Write one object (one line, flushed; fsynced before returning, or within
        ``sync_seconds``)."""
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")
        line = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str) + "\n"
        self._fh.write(line.encode("utf-8"))
        self._fh.flush()
        now = time.monotonic()
        if now - self._synced >= self.sync_seconds:
            os.fsync(self._fh.fileno())
            self._synced = now

    def close(self) -> None:
        if self._fh is not None:
            if self.sync_seconds > 0:
                os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
