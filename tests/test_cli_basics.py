import subprocess
import sys

import pytest


@pytest.mark.parametrize("prog", ["textureade", "bench"])
def test_help_and_version(prog):
    module = {"textureade": "textureade.cli", "bench": "benchmark.cli"}[prog]
    out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "0.1.0" in out.stdout
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Usage" in out.stdout


def test_bench_run_on_a_mosaic_folder_summary_names_protocol_and_k(tmp_path):
    # `textureade mosaic` then `bench run` on the folder: oracle-k with the GT K by default, and an
    # autonomous run does not claim K=GT in its summary line
    from click.testing import CliRunner

    from benchmark.cli import cli as bench
    from textureade.mosaic import make_mosaics

    make_mosaics(tmp_path / "mos", n=1, k=(2, 2), size=(48, 48))
    r = CliRunner().invoke(bench, ["run", "--method", "slic", "--dataset", str(tmp_path / "mos"),
                                   "--out", str(tmp_path / "a"), "--no-progress"])  # fmt: skip
    assert r.exit_code == 0 and "(oracle-k, K=GT)" in r.output
    r = CliRunner().invoke(bench, ["run", "--method", "slic", "--dataset", str(tmp_path / "mos"),
                                   "--out", str(tmp_path / "b"), "--protocol", "autonomous", "--no-progress"])  # fmt: skip
    assert r.exit_code == 0 and "(autonomous, K=not given)" in r.output
