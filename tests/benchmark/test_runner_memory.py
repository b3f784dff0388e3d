"""A long synthetic stream through the runner: every record journaled and finalised in order across
parquet batches. (Memory staying flat is measured, not asserted: benchmarks/runner_memory.py prints
the RSS after 1k and 25k samples and their ratio.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmark.journal import BATCH

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import runner_memory  # noqa: E402


@pytest.mark.slow  # end to end through subprocesses / the CLI: seconds, not the quick loop
def test_a_stream_longer_than_a_parquet_batch(tmp_path):
    n = BATCH + 476
    runner_memory.measure(n, 300, tmp_path / "run")
    df = pd.read_parquet(tmp_path / "run" / "records.parquet", columns=["index", "id", "status"])
    assert len(df) == n and list(df["index"]) == list(range(n)) and (df["status"] == "ok").all()
    assert df["id"].is_unique
