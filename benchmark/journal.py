"""Append-only JSONL journal of per-image records, finalised atomically into parquet.

Crash safety: each record is one ``write`` of one line followed by ``flush`` + ``fsync``, so after
a kill -9 the journal holds every finished record and at most one partial last line, which
:meth:`Journal.recover` cuts off. Finalisation streams the journal in batches into a temporary
parquet file and renames it over ``records.parquet``, so readers never see a half-written table
and memory stays flat in the number of records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from textureade.errors import UserError

STR_COLUMNS = ("id", "base_id", "status", "reason", "method", "dataset", "protocol", "extras")
INT_COLUMNS = ("index", "k_given", "n_gt", "n_pred", "n_desc", "height", "width", "pred_height", "pred_width")
BOOL_COLUMNS = ("resized",)
BATCH = 1024


def column_type(name: str) -> pa.DataType:
    """Arrow type of a record column: strings, ints and bools by name, every other column float64."""
    if name in STR_COLUMNS:
        return pa.string()
    if name in INT_COLUMNS:
        return pa.int64()
    if name in BOOL_COLUMNS:
        return pa.bool_()
    return pa.float64()


class Journal:
    """``records.jsonl``: one JSON object per line, appended and fsynced one record at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh: Any = None

    def recover(self) -> int:
        """Cut a partial last line left by a crash; return the number of complete records."""
        if not self.path.exists():
            return 0
        n = 0
        good_end = 0
        with open(self.path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break
                try:
                    json.loads(line)
                except ValueError:
                    break
                n += 1
                good_end += len(line)
        if good_end != self.path.stat().st_size:
            with open(self.path, "r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
        return n

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Stream the records in the order they were written."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if line.endswith("\n"):
                    yield json.loads(line)

    def append(self, row: dict[str, Any]) -> None:
        """Write one record durably (one line, flushed and fsynced before returning)."""
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _schema(columns: list[str]) -> pa.Schema:
    return pa.schema([pa.field(c, column_type(c)) for c in columns])


def fsync_dir(folder: Path) -> None:
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


def finalize(
    journal_path: Path, out_path: Path, columns: list[str], limit: int | None = None
) -> dict[str, Any]:
    """Stream the journal into ``out_path`` (parquet, atomic rename) with the given column order.

    Rows must carry a subset of ``columns`` (a missing value is null); their ``index`` must rise
    (the runner writes in stream order). Only the first ``limit`` rows are kept when given (a rerun
    with a smaller ``--limit``). Returns counts: rows, ok, failed and the first 20 failures.
    """
    journal = Journal(journal_path)
    schema = _schema(columns)
    tmp = out_path.with_name(f".{out_path.name}.tmp-{os.getpid()}")
    stats: dict[str, Any] = {"rows": 0, "ok": 0, "failed": 0, "failures": []}
    last_index = -1
    writer = pq.ParquetWriter(tmp, schema)
    try:
        batch: list[dict[str, Any]] = []
        for row in journal.iter_rows():
            if limit is not None and stats["rows"] >= limit:
                break
            extra = set(row) - set(columns)
            if extra:
                raise UserError(
                    f"{journal_path}: record {row.get('id')} has unexpected columns {sorted(extra)}"
                )
            if row.get("index", last_index + 1) <= last_index:
                raise UserError(f"{journal_path}: records out of order at {row.get('id')}; start a new --out")
            last_index = row.get("index", last_index + 1)
            stats["rows"] += 1
            if row.get("status") == "failed":
                stats["failed"] += 1
                if len(stats["failures"]) < 20:
                    stats["failures"].append((row.get("id"), row.get("reason")))
            else:
                stats["ok"] += 1
            batch.append(row)
            if len(batch) >= BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or stats["rows"] == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        writer.close()
        os.replace(tmp, out_path)
        fsync_dir(out_path.parent)
    finally:
        if tmp.exists():
            writer.close()
            tmp.unlink()
    return stats
