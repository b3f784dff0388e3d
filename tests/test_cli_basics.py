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
