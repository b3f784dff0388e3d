"""`--executor ray` when Ray is not there or cannot be joined: one line, exit 2, and `--out` untouched.

These run the real CLIs in a subprocess with a stand-in `ray` package first on the path (no real
Ray needed): one that cannot be imported (Ray not installed), and one whose `ray.init` refuses
(a cluster that cannot be joined: an `auto` or `ray://` address, which no TCP probe checks first).
The executor itself is tested on a real local Ray instance in tests/test_ray_*.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from textureade.detecture_format import write_detecture_folder
from textureade.testing.synthetic_ade import write_synthetic_ade
from textureade.types import Sample

ROOT = Path(__file__).resolve().parents[1]

NOT_INSTALLED = "raise ImportError('No module named ray')\n"
REFUSES = (
    "def is_initialized():\n    return False\n\n\n"
    "def init(**kw):\n    raise ConnectionError('Could not find any running Ray instance')\n"
)


def _cli(tmp_path: Path, stand_in: str, module: str, *args: str) -> subprocess.CompletedProcess:
    fake = tmp_path / "fake" / "ray"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text(stand_in)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake.parent), str(ROOT)]), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-c", f"from {module} import main; main()", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return write_synthetic_ade(tmp_path_factory.mktemp("syn") / "c", n=2, form="challenge", seed=1)


@pytest.fixture(scope="module")
def detecture(tmp_path_factory) -> Path:
    label = np.ones((16, 16), np.int32)
    label[:, 8:] = 2
    image = np.zeros((16, 16, 3), np.uint8)
    image[:, 8:] = 200
    samples = [Sample(id="a", image=image, label_map=label, descriptions=["Texture of a", "Texture of b"])]
    return write_detecture_folder(samples, tmp_path_factory.mktemp("det") / "d")


@pytest.mark.parametrize(
    ("stand_in", "address", "message"),
    [
        (NOT_INSTALLED, None, "--executor ray needs Ray: install this project with its ray extra"),
        (REFUSES, "auto", "cannot join the Ray cluster at auto: Could not find any running Ray instance"),
    ],
)
def test_build_and_bench_without_a_ray_cluster_say_so_in_one_line(
    synth, detecture, tmp_path, stand_in, address, message
):
    ray_args = ["--executor", "ray", *(["--ray-address", address] if address else [])]
    build = _cli(tmp_path, stand_in, "textureade.cli", "build", "--ade20k", str(synth), "--out",
                 str(tmp_path / "ds"), *ray_args)  # fmt: skip
    bench = _cli(tmp_path, stand_in, "benchmark.cli", "run", "--method", "one-region", "--dataset", str(detecture),
                 "--out", str(tmp_path / "run"), "--text-model", "none", *ray_args)  # fmt: skip
    for done, out in ((build, tmp_path / "ds"), (bench, tmp_path / "run")):
        assert done.returncode == 2, done.stderr[-1500:]
        assert "Traceback" not in done.stderr and message in done.stderr.strip().splitlines()[-1]
        assert not out.exists()  # refused before the output folder was made


def test_workers_with_the_ray_executor_is_refused(synth, tmp_path):
    """--workers sizes the local pool; on Ray it would be silently ignored."""
    from textureade.config import BuildConfig
    from textureade.errors import UserError

    with pytest.raises(UserError, match=r"^--workers is for the local executor; with --executor ray"):
        BuildConfig(ade20k=str(synth), out=str(tmp_path / "o"), executor="ray", workers=2).validate()
    BuildConfig(ade20k=str(synth), out=str(tmp_path / "o"), executor="ray", workers=1).validate()
