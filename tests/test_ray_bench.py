"""`bench run --executor ray` on a real local Ray instance (2 CPUs, no mock).

The method runs in a Ray actor (a CPU actor here: texture-kmeans has no weights) and the scoring
in Ray tasks; the records must equal a local run's (every column but the ``time_*`` ones), and so
must the saved prediction files. Also after a worker process is killed mid-run (Ray restarts the
actor or re-runs the task) and after the driver is SIGKILLed and the same command is run again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray")

from benchmark.runconfig import RunConfig  # noqa: E402
from benchmark.runinfo import RunInfo  # noqa: E402
from benchmark.runner import run  # noqa: E402
from textureade.mosaic import make_mosaics  # noqa: E402
from textureade.testing.ray_local import local_ray  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N = 8


def _records(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out / "records.parquet")
    return df.drop(columns=[c for c in df.columns if c.startswith("time_")])


def _predictions(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "predictions").iterdir())}


def _run(data: Path, out: Path, **kw) -> object:
    cfg = RunConfig(method="texture-kmeans", dataset=str(data), out=str(out), progress=False,
                    save_predictions=True, **kw)  # fmt: skip
    return run(cfg)


@pytest.fixture(scope="module")
def ray_env(tmp_path_factory):
    kill_dir = tmp_path_factory.mktemp("kill")
    with local_ray(num_cpus=2, kill_dir=kill_dir) as address:
        yield address, kill_dir


@pytest.fixture(scope="module")
def mosaics(tmp_path_factory) -> Path:
    return make_mosaics(tmp_path_factory.mktemp("mos") / "m", n=N, k=(2, 3), size=(64, 64), seed=3)


@pytest.fixture(scope="module")
def local_run(mosaics, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "run"
    _run(mosaics, out)
    return out


def test_ray_records_equal_local(ray_env, mosaics, local_run, tmp_path):
    out = tmp_path / "ray"
    summary = _run(mosaics, out, executor="ray")
    assert summary.n_records == N
    pd.testing.assert_frame_equal(_records(out), _records(local_run))
    assert _predictions(out) == _predictions(local_run)
    info = RunInfo.read(out / "run.json")
    assert info.executor["kind"] == "ray" and info.executor["actors"] == 1 and info.executor["cpus"] == 2.0
    assert info.executor["num_gpus_per_actor"] == 0 and info.config["executor"] == "ray"
    assert RunInfo.read(local_run / "run.json").executor is None


def test_a_killed_worker_is_rerun(ray_env, mosaics, local_run, tmp_path):
    _, kill_dir = ray_env
    (kill_dir / "arm").write_text("")
    try:
        out = tmp_path / "killed-worker"
        summary = _run(mosaics, out, executor="ray")
    finally:
        (kill_dir / "arm").unlink()
    assert (kill_dir / "fired").exists(), "no worker was killed"
    (kill_dir / "fired").unlink()
    assert summary.n_records == N
    pd.testing.assert_frame_equal(_records(out), _records(local_run))
    assert _predictions(out) == _predictions(local_run)


@pytest.mark.slow
def test_a_killed_driver_resumes_with_equal_records(ray_env, mosaics, local_run, tmp_path):
    address, _ = ray_env
    out = tmp_path / "killed-driver"
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--method", "texture-kmeans", "--dataset", str(mosaics),
           "--out", str(out), "--no-progress", "--save-predictions", "--executor", "ray",
           "--ray-address", address]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    journal = out / "records.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()[1][-800:]!r}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "records.parquet").exists()
    done = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and f"{N} images" in done.stdout, done.stderr[-800:]
    assert " resumed)" in done.stdout and "(0 resumed)" not in done.stdout
    pd.testing.assert_frame_equal(_records(out), _records(local_run))
    assert _predictions(out) == _predictions(local_run)


def test_a_method_that_cannot_be_built_is_one_error(ray_env, mosaics, tmp_path):
    """Built in the actor, the method's refusal reaches the driver as the same one-line UserError
    a local run raises, and --out is left as it was (no run.json claiming a running run)."""
    from textureade.errors import UserError

    out = tmp_path / "bad"
    with pytest.raises(UserError, match=r"unknown option\(s\) no_such_param; it takes") as local:
        _run(mosaics, tmp_path / "bad-local", options={"no_such_param": 1})
    with pytest.raises(UserError, match=r"unknown option\(s\) no_such_param; it takes") as remote:
        _run(mosaics, out, executor="ray", options={"no_such_param": 1})
    assert str(remote.value) == str(local.value) and "\n" not in str(remote.value)
    assert not (out / "run.json").exists()
    with pytest.raises(UserError, match="needs --executor ray"):
        _run(mosaics, out, ray_address="127.0.0.1:1")
