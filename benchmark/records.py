"""Per-image records on disk: one parquet file, written atomically, read back as a DataFrame."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from textureade.errors import UserError


def write_records_parquet(rows: list[dict[str, Any]] | pd.DataFrame, path: str | Path) -> Path:
    """Write records to ``path`` atomically: a temp file in the same folder, then ``os.replace``.

    rows: a list of flat dicts (e.g. ``Record.to_row()``; missing keys become nulls) or a
    DataFrame. A reader never sees a half-written file; a crash leaves the old file (if any).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(list(rows))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_records(path: str | Path) -> pd.DataFrame:
    """Read a records parquet file (or a folder holding ``records.parquet``); UserError if absent."""
    path = Path(path)
    if path.is_dir():
        path = path / "records.parquet"
    if not path.is_file():
        raise UserError(f"no records at {path}; pass a records.parquet file or the folder that holds one")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise UserError(f"cannot read records {path}: {str(exc).splitlines()[0]}") from None
