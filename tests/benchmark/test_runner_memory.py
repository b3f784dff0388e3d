"""A long synthetic stream keeps the runner's memory flat (the 25k version: benchmarks/runner_memory.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import runner_memory  # noqa: E402


def test_rss_flat_over_a_long_stream(tmp_path):
    r = runner_memory.measure(2000, 300, tmp_path / "run")
    # holding the samples would cost ~1.7 KB each and the records ~1 KB each: >4 MB over 1,700 more
    assert r["rss_end"] - r["rss_at"] < 4.0, r
    df = pd.read_parquet(tmp_path / "run" / "records.parquet", columns=["index", "status"])
    assert len(df) == 2000 and (df["index"].diff().dropna() == 1).all() and (df["status"] == "ok").all()
