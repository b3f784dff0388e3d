"""`textureade build --executor ray` on a real local Ray instance (2 CPUs, no mock).

The Ray build must write the same bytes as the local executor: every shard, rejects.jsonl and
README.md, and manifest.json except its ``executor`` key (the Ray version and cluster size, which
a local build's manifest does not have). Also after a worker process is killed mid-chunk (Ray
re-runs the chunk) and after the driver is SIGKILLed and the same command is run again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from textureade.config import resolve_build_config  # noqa: E402
from textureade.pipeline import build  # noqa: E402
from textureade.testing.ray_local import local_ray  # noqa: E402
from textureade.testing.synthetic_ade import write_synthetic_ade  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _files(out: Path) -> dict[str, bytes]:
    """Every file's bytes; manifest.json without its ``executor`` key (and that key checked)."""
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    manifest = json.loads(files.pop("manifest.json"))
    executor = manifest.pop("executor", None)
    if executor is not None:
        assert executor["kind"] == "ray" and executor["nodes"] == 1 and executor["cpus"] == 2.0
        assert executor["ray_version"]
    files["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return files


def _build(src, out, **kw):
    cli = {"ade20k": str(src), "out": str(out), "progress": False, "chunk_size": 2, **kw}
    return build(resolve_build_config(cli))


@pytest.fixture(scope="module")
def ray_env(tmp_path_factory):
    kill_dir = tmp_path_factory.mktemp("kill")
    with local_ray(num_cpus=2, kill_dir=kill_dir) as address:
        yield address, kill_dir


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return write_synthetic_ade(tmp_path_factory.mktemp("syn") / "c", n=8, form="challenge", seed=1)


@pytest.fixture(scope="module")
def local_build(synth, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "ds"
    _build(synth, out)
    return out


def test_ray_build_is_byte_identical_to_local(ray_env, synth, local_build, tmp_path):
    out = tmp_path / "ray"
    report = _build(synth, out, executor="ray")
    assert report.processed == 8 and not report.resumed
    assert _files(out) == _files(local_build)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "executor" not in json.loads((local_build / "manifest.json").read_text())
    assert manifest["executor"]["address"] == "local" and "executor" not in manifest["config"]
    again = _build(synth, out, executor="ray")  # finished: a no-op, as locally
    assert again.already_complete


def test_a_killed_worker_reruns_its_chunk(ray_env, synth, local_build, tmp_path):
    _, kill_dir = ray_env
    (kill_dir / "arm").write_text("")
    try:
        out = tmp_path / "killed-worker"
        report = _build(synth, out, executor="ray")
    finally:
        (kill_dir / "arm").unlink()
    fired = kill_dir / "fired"
    assert fired.exists(), "no worker was killed"
    fired.unlink()
    assert report.processed == 8
    assert _files(out) == _files(local_build)


@pytest.mark.slow
def test_a_killed_driver_resumes_byte_identical(ray_env, synth, local_build, tmp_path):
    address, _ = ray_env
    out = tmp_path / "killed-driver"
    yaml = tmp_path / "b.yaml"
    yaml.write_text("chunk_size: 2\n")
    cmd = [sys.executable, "-c", "from textureade.cli import main; main()", "build", "--ade20k", str(synth),
           "--out", str(out), "--config", str(yaml), "--no-progress", "--executor", "ray",
           "--ray-address", address]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    journal = out / ".build" / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 2:  # header + one finished chunk
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the build ended before it could be killed: {proc.communicate()[1][-800:]!r}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    done = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("resumed: "), done.stderr[-800:]
    assert _files(out) == _files(local_build)


def test_vlm_describer_actors_match_local(ray_env, synth, tiny_vlm, tmp_path):
    """The VLM in a describer actor (num_gpus=0 here), model loaded once per actor: the same
    samples as the local executor's describer (separate caches, so both ask the model)."""
    pytest.importorskip("transformers")
    model = tiny_vlm("qwen2_5_vl")
    outs = {}
    for kind in ("local", "ray"):
        opts = {
            "max_retries": 0,
            "max_new_tokens": 8,
            "batch_size": 4,
            "cache_dir": str(tmp_path / f"c-{kind}"),
        }
        outs[kind] = tmp_path / kind
        report = _build(synth, outs[kind], limit=4, describer="vlm", vlm=str(model), describer_options=opts,
                        executor=kind, **({"num_gpus": 0, "actors": 1} if kind == "ray" else {}))  # fmt: skip
        assert report.describer.get("regions", 0) > 0 and report.describer["cache_hits"] == 0
    assert _files(outs["ray"]) == _files(outs["local"])
    manifest = json.loads((outs["ray"] / "manifest.json").read_text())
    assert manifest["executor"]["actors"] == 1 and manifest["executor"]["num_gpus_per_actor"] == 0


def test_a_vlm_that_cannot_load_is_one_error_and_frees_its_actor(ray_env, synth, tiny_vlm, tmp_path):
    """Truncated weights: the describer actor's load error is the driver's one-line UserError, as
    locally, before any chunk runs; the actor is released (its CPU free for the next build)."""
    import shutil

    import ray

    from textureade.errors import UserError

    model = shutil.copytree(tiny_vlm("qwen2_5_vl"), tmp_path / "vlm")
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:2000])
    with pytest.raises(UserError, match="cannot load") as err:
        _build(synth, tmp_path / "out", limit=2, describer="vlm", vlm=str(model), executor="ray", num_gpus=0,
               describer_options={"cache_dir": str(tmp_path / "c")})  # fmt: skip
    assert "\n" not in str(err.value) and not (tmp_path / "out" / "manifest.json").exists()
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2


def test_an_unreachable_ray_address_is_one_line(synth, tmp_path):
    """Ray itself retries an unreachable head for minutes; the CLI says so at once (exit 2)."""
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-c", "from textureade.cli import main; main()", "build", "--ade20k", str(synth),
           "--out", str(tmp_path / "o"), "--executor", "ray", "--ray-address", f"127.0.0.1:{port}"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-800:]
    assert done.stderr.strip().splitlines()[-1].startswith("textureade: error: cannot reach the Ray head at")
    assert not (tmp_path / "o").exists()  # refused before the output folder was made
