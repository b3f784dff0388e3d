"""A long synthetic stream keeps the runner's memory flat (the 25k version: benchmarks/runner_memory.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import runner_memory  # noqa: E402


def test_rss_flat_over_a_long_stream(tmp_path):
    r = runner_memory.measure(1500, 300, tmp_path / "run")
    # holding the samples would cost ~2.3 KB each (plus ~1 KB per record): ~3-4 MB over 1,200 more
    assert r["rss_end"] - r["rss_at"] < 2.0, r
    df = pd.read_parquet(tmp_path / "run" / "records.parquet", columns=["index", "status"])
    assert len(df) == 1500 and (df["index"].diff().dropna() == 1).all() and (df["status"] == "ok").all()
