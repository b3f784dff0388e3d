"""The records journal (``records.jsonl``) and its finalisation into ``records.parquet``.

The journal is a :class:`textureade.fileio.JsonlLog` of :class:`benchmark.records.RecordRow`
lines: each record is one line written and flushed before the next image starts, so after a
kill -9 it holds every finished record and a torn last line at most, which opening it cuts off
(fsynced at most every ``SYNC_SECONDS`` and on close: an fsync per record cost ~4 ms, most of the
runner's own time per image with a fast method; an OS crash can lose the last second of records,
which a resume re-runs). :func:`finalize` streams it in batches into
a temporary parquet file under the records schema and renames it over ``records.parquet``
(:func:`textureade.fileio.atomic_path`): readers never see a half-written table, and memory stays
flat in the number of records. `bench run` and `bench score` both write through these two.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmark.datasets.handle import N_LISTED
from benchmark.records import RecordRow, schema
from textureade.errors import UserError
from textureade.fileio import JsonlLog, atomic_path

BATCH = 1024
SYNC_SECONDS = 1.0


class Journal:
    """``records.jsonl``: RecordRow lines, appended one record at a time (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._log = JsonlLog(self.path, sync_seconds=SYNC_SECONDS)  # cuts a torn tail left by a kill

    def __len__(self) -> int:
        """The number of complete records."""
        return len(self._log)

    def rows(self) -> Iterator[RecordRow]:
        """The records in the order they were written."""
        for line in self._log:
            yield RecordRow.from_json(line, str(self.path))

    def append(self, row: RecordRow) -> None:
        """Write one record (one line, flushed to the OS before returning; fsynced within a second)."""
        self._log.append(row.to_json())

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Finalized:
    """What finalisation wrote: rows, ok, failed and the first N_LISTED (id, reason) failures."""

    rows: int = 0
    ok: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def finalize(journal: Journal, out_path: Path, limit: int | None = None) -> Finalized:
    """Stream the journal into ``out_path`` (parquet under the records schema, atomic rename).

    Indexes must rise (records are written in stream order). Only the first ``limit`` rows are
    kept when given (a rerun with a smaller ``--limit``).
    """
    stats = Finalized()
    last_index = -1
    # Python's open: an --out folder whose name is not UTF-8 works too (pyarrow paths must be UTF-8)
    with atomic_path(out_path) as tmp, open(tmp, "wb") as sink:
        writer = pq.ParquetWriter(sink, schema())
        try:
            batch: list[dict] = []
            for row in journal.rows():
                if limit is not None and stats.rows >= limit:
                    break
                if row.index <= last_index:
                    raise UserError(f"{journal.path}: records out of order at {row.id}; start a new --out")
                last_index = row.index
                stats.rows += 1
                if row.status == "failed":
                    stats.failed += 1
                    if len(stats.failures) < N_LISTED:
                        stats.failures.append((row.id, str(row.reason)))
                else:
                    stats.ok += 1
                batch.append(row.to_json())
                if len(batch) >= BATCH:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema()))
                    batch = []
            if batch or stats.rows == 0:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema()))
        finally:
            writer.close()
    return stats
