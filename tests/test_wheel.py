"""The installed wheel runs the main jobs outside the repository (#12 item 1).

A wheel is built from a copy of the sources, installed with ``--no-deps`` into a fresh venv under
tmp_path; the project's dependencies come from the test's own venv through a ``.pth`` file that
names its site-packages (never the repository). Every command then runs from a folder outside the
repository with a clean environment (no PYTHONPATH, a throwaway HOME, no network), so only what the
wheel ships can be found: the manifests as package data above all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "textureade", "benchmark", "baselines", "manifests")


@dataclass
class Installed:
    """A fresh venv holding only the wheel; run commands in ``work`` with ``env``."""

    venv: Path
    work: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(  # python, bench, textureade: the new venv's interpreter and scripts
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check:
            assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc


def _run(cmd: list[str], **kw) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    assert not tmp.resolve().is_relative_to(REPO)
    src, dist, venv, work = tmp / "src", tmp / "dist", tmp / "venv", tmp / "work"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    src.mkdir()
    for name in SOURCES:  # a copy: the build writes build/ and egg-info beside the sources
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("textureade-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)])
    site = Path(
        subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       capture_output=True, text=True, check=True).stdout.strip()
    )  # fmt: skip
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    assert not any(Path(p).resolve().is_relative_to(REPO / "textureade") for p in ours)
    (site / "textureade_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    work.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp / "home"),  # no user manifests, no ~/data, an empty Hugging Face cache
        "LANG": "C.UTF-8",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TEXTUREADE_CACHE": str(tmp / "cache"),
        "TEXTUREADE_DATA": str(tmp / "data"),
        "OMP_NUM_THREADS": "1",
    }
    return Installed(venv=venv, work=work, env=env)


def test_the_installed_packages_and_manifests_come_from_the_new_venv(installed):
    out = installed.run(
        "python", "-c",
        "import baselines, benchmark, manifests, textureade, textureade.manifests as m\n"
        "for mod in (textureade, benchmark, baselines, manifests): print(mod.__file__)\n"
        "print(m.builtin_root().path)",
    ).stdout.split()  # fmt: skip
    site = installed.venv.resolve()
    assert len(out) == 5 and all(Path(p).resolve().is_relative_to(site) for p in out), out
    assert not any(Path(p).resolve().is_relative_to(REPO) for p in out)
    root = Path(out[-1])
    for rel in ("methods/texture-kmeans.yaml", "datasets/rwtd.yaml", "suites/detecture.yaml",
                "mining/default.yaml", "mining/classes.yaml", "describers/qwen3-vl.yaml"):  # fmt: skip
        assert (root / rel).is_file(), rel
    shipped = {p.name for p in installed.venv.glob("lib/python*/site-packages/*")}
    assert {"textureade", "benchmark", "baselines", "manifests"} <= shipped
    assert not {"benchmarks", "tests", "build"} & shipped  # scripts and tests stay in the repository


def test_bench_list_names_the_methods_datasets_and_suites(installed):
    out = installed.run("bench", "list").stdout
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    for name in ("texture-kmeans", "one-region", "slic", "felzenszwalb"):
        assert name in rows and rows[name].rstrip().endswith("ready"), rows.get(name)
    for name in ("sam3", "detecture-zs", "rwtd", "stld", "textureade"):
        assert name in rows, name
    assert "detecture:" in out and "demo:" in out  # suites


def test_bench_run_on_mosaic_and_detecture_folders(installed):
    installed.run("textureade", "mosaic", "--out", "mos", "--n", "2", "--k", "2..3", "--size", "64")
    installed.run("textureade", "export", "--format", "detecture", "mos", "det")
    for method, data in (("texture-kmeans", "mos"), ("one-region", "det")):
        r = installed.run("bench", "run", "--method", method, "--dataset", data, "--out", f"r-{method}",
                          "--no-progress")  # fmt: skip
        df = pd.read_parquet(installed.work / f"r-{method}" / "records.parquet")
        assert len(df) == 2 and (df["status"] == "ok").all(), r.stdout
        assert (installed.work / f"r-{method}" / "run.json").is_file()
    r = installed.run("bench", "run", "--method", "nope", "--dataset", "mos", "--out", "x", check=False)
    assert r.returncode == 2 and "texture-kmeans" in r.stderr  # the known methods are listed


def _build_and_check(installed: Installed, ade: Path, out: str) -> str:
    r = installed.run("textureade", "build", "--ade20k", str(ade), "--out", out, "--no-progress")
    installed.run("textureade", "check", out)
    assert (installed.work / out / "manifest.json").is_file()
    return r.stdout


def test_textureade_build_on_a_synthetic_ade_folder_matches_the_repository_build(installed, tmp_path):
    from textureade.config import resolve_build_config
    from textureade.pipeline import build
    from textureade.testing.synthetic_ade import write_synthetic_ade

    ade = write_synthetic_ade(tmp_path / "ade", n=4, form="challenge", seed=1)
    out = _build_and_check(installed, ade, "syn-build")
    assert out.startswith("built:"), out
    ref = tmp_path / "ref"
    build(resolve_build_config({"ade20k": str(ade), "out": str(ref), "progress": False}))
    shards = sorted(p.relative_to(ref) for p in (ref / "data").glob("*.parquet"))
    assert shards, "the synthetic scenes yield samples"
    for rel in shards:  # the installed code writes the very bytes the checkout writes
        assert (installed.work / "syn-build" / rel).read_bytes() == (ref / rel).read_bytes(), rel


def test_textureade_build_on_the_genuine_samples(installed, ade_samples):
    out = _build_and_check(installed, ade_samples, "ade-build")
    assert "of 3" in out, out
