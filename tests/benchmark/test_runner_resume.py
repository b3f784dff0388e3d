"""Kill -9 a `bench run` mid-run, run the same command again: the records equal an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).parent


def _env(tmp_path: Path) -> dict[str, str]:
    man = tmp_path / "manifests"
    (man / "methods").mkdir(parents=True, exist_ok=True)
    (man / "datasets").mkdir(exist_ok=True)
    (man / "methods" / "threshold.yaml").write_text(
        "name: threshold\nentry: runner_toys:Threshold\nparams: {delay: 0.04, fail_mod: 4}\n"
    )
    (man / "datasets" / "toy.yaml").write_text(
        "name: toy\nform: python\nentry: runner_toys:toy_stream\nparams: {n: 40, size: 32}\nprotocol: oracle-k\n"
    )
    env = dict(os.environ)
    env.update(
        TEXTUREADE_MANIFESTS=str(man), PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    )
    return env


def _cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "benchmark.cli", "run", "--method", "threshold", "--dataset", "toy",
            "--out", str(out), "--no-progress", "--save-predictions"]  # fmt: skip


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


@pytest.mark.slow  # end to end through subprocesses / the CLI: seconds, not the quick loop
def test_sigkill_then_resume_gives_identical_records(tmp_path):
    env = _env(tmp_path)
    ref = tmp_path / "ref"
    done = subprocess.run(_cmd(ref), env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "40 images" in done.stdout and "failed toy" in done.stdout  # failures are listed

    out = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while _lines(out / "records.jsonl") < 12 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = _lines(out / "records.jsonl")
    assert 12 <= n_before < 40, "the run must be killed mid-way"
    assert not (out / "records.parquet").exists()

    again = subprocess.run(_cmd(out), env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"({n_before} resumed)" in again.stdout or f"({n_before - 1} resumed)" in again.stdout

    a = pd.read_parquet(ref / "records.parquet")
    b = pd.read_parquet(out / "records.parquet")
    keep = [c for c in a.columns if not c.startswith("time_")]
    assert len(a) == len(b) == 40 and (a["status"] == "failed").any()
    pd.testing.assert_frame_equal(a[keep], b[keep])
    assert sorted(p.name for p in (out / "predictions").iterdir()) == sorted(
        p.name for p in (ref / "predictions").iterdir()
    )

    strict = subprocess.run(_cmd(out) + ["--strict"], env=env, capture_output=True, text=True, timeout=120)
    assert strict.returncode == 1  # failed samples exist


def test_cli_user_errors_exit_2_in_one_line(tmp_path):
    env = _env(tmp_path)
    bad = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "run", "--method", "threshold", "--dataset", str(tmp_path / "nope"),
         "--out", str(tmp_path / "o")], env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("bench: error: unknown dataset") and bad.stderr.count("\n") == 1
    bad = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "run", "--method", "nope", "--dataset", "toy",
         "--out", str(tmp_path / "o")], env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown method 'nope'" in bad.stderr
