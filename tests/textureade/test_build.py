"""End-to-end builds: samples, splits, rejects, determinism, workers, SIGKILL resumption, CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from textureade.cli import cli
from textureade.config import resolve_build_config
from textureade.describe.validate import descriptions_problems
from textureade.errors import UserError
from textureade.pipeline import build
from textureade.store import check_dataset, read_textureade
from textureade.testing.synthetic_ade import write_synthetic_ade

ROOT = Path(__file__).resolve().parents[2]


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _build(src, out, **kw):
    cli = {"ade20k": str(src), "out": str(out), "progress": False, "chunk_size": 3, **kw}
    return build(resolve_build_config(cli))


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return write_synthetic_ade(tmp_path_factory.mktemp("syn") / "c", n=9, form="challenge", seed=1)


@pytest.fixture(scope="module")
def ref_build(synth, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "ds"
    report = _build(synth, out)
    assert report.processed == 9 and not report.resumed
    return out


def test_samples_are_well_formed(ref_build):
    samples = list(read_textureade(ref_build))
    manifest = json.loads((ref_build / "manifest.json").read_text())
    rejects = (ref_build / "rejects.jsonl").read_text().splitlines()
    assert len(samples) + len(rejects) == manifest["items"] == 9 and len(samples) >= 6
    for s in samples:
        assert 2 <= s.k <= 6
        assert all(p is None for p in descriptions_problems(s.descriptions)), s.descriptions
        present = set(np.unique(s.label_map).tolist()) - {0}
        assert present == set(range(1, s.k + 1))
        assert s.base_id == s.id and s.source.startswith("ADE20K")
        expected = "test" if s.provenance["ade_split"] == "validation" else ("train", "validation")
        assert s.split in expected
        prov = s.provenance
        assert (
            prov["selection"]["keep"]
            and prov["selection"]["score"] >= manifest["config"]["mining"]["min_score"]
        )
        assert {"merges", "splits", "segments", "dropped"} <= set(prov["regions"])
        assert len(prov["region_class_ids"]) == s.k and prov["describer"]["describer"] == "offline"
    assert check_dataset(ref_build) == []
    assert not (ref_build / ".build").exists()
    card = (ref_build / "README.md").read_text()
    assert "non-commercial research and educational purposes" in card


def test_workers_and_rebuild_identical(synth, ref_build, tmp_path):
    out = tmp_path / "w2"
    _build(synth, out, workers=2)
    assert _files(out) == _files(ref_build)
    again = _build(synth, out, workers=2)  # a finished build: nothing to do
    assert again.already_complete and again.processed == 0
    with pytest.raises(UserError, match="different config"):
        _build(synth, out, seed=5)


def test_sigkill_then_resume_is_byte_identical(synth, ref_build, tmp_path):
    out = tmp_path / "killed"
    yaml = tmp_path / "b.yaml"
    yaml.write_text("chunk_size: 3\n")
    cmd = [
        sys.executable,
        "-c",
        "from textureade.cli import main; main()",
        "build",
        "--ade20k",
        str(synth),
        "--out",
        str(out),
        "--config",
        str(yaml),
        "--no-progress",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = out / ".build" / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 2:  # header + one finished chunk
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists() and any((out / "data").iterdir())
    with pytest.raises(UserError, match="partial build of a different config"):
        build(
            resolve_build_config({"ade20k": str(synth), "out": str(out), "progress": False, "seed": 9}, yaml)
        )
    with open(out / ".build" / "journal.jsonl", "ab") as f:  # a torn last line, as a kill mid-write leaves
        f.write(b'{"kind": "chunk", "index": 7, "shar')
    report = build(resolve_build_config({"ade20k": str(synth), "out": str(out), "progress": False}, yaml))
    assert report.resumed and 0 < report.processed < 9
    assert _files(out) == _files(ref_build)


def test_bad_inputs_land_in_rejects(synth, tmp_path):
    src = tmp_path / "bad" / "ADEChallengeData2016"
    shutil.copytree(synth, src)
    images = sorted((src / "images" / "training").iterdir())
    images[0].write_bytes(b"not a jpeg at all")
    out = tmp_path / "out"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("chunk_size: 4\nmining:\n  max_regions: 2\n  min_coverage: 0.99\n")
    report = build(resolve_build_config({"ade20k": str(src.parent), "out": str(out), "progress": False}, cfg))
    rejects = [json.loads(x) for x in (out / "rejects.jsonl").read_text().splitlines()]
    assert report.rejects == len(rejects) >= 1
    by_id = {r["id"]: r for r in rejects}
    assert by_id[images[0].stem]["stage"] == "read"
    assert any(r["stage"] == "regions" and "cover" in r["reason"] for r in rejects)
    assert json.loads((out / "manifest.json").read_text())["rejects"] == len(rejects)
    args = ["build", "--ade20k", str(src.parent), "--out", str(out), "--config", str(cfg), "--no-progress"]
    res = CliRunner().invoke(cli, [*args, "--strict"])  # finished build, with rejects: exit 1
    assert res.exit_code == 1 and "already complete" in res.output
    assert CliRunner().invoke(cli, args).exit_code == 0


def test_full_form_uses_instances_and_parts(tmp_path):
    src = write_synthetic_ade(tmp_path / "f", n=4, form="full", seed=2)
    out = tmp_path / "ds"
    _build(src, out)
    samples = list(read_textureade(out))
    assert samples
    kinds = {seg["kind"] for s in samples for seg in s.provenance["regions"]["segments"]}
    assert "instance" in kinds
    assert check_dataset(out) == []


def test_genuine_samples_build_and_load(ade_samples, tmp_path):
    import datasets  # a dependency of the package: missing, it must fail, not skip

    out = tmp_path / "g"
    report = _build(ade_samples / "ADEChallengeData2016", out)
    assert report.counts.get("test", 0) + report.rejects == 3
    ds = datasets.load_dataset("parquet", data_dir=str(out))
    row = ds["test"][0]
    assert row["image"].mode == "RGB" and np.asarray(row["label_map"]).max() == row["num_regions"]


def test_cli_export_check_and_errors(ref_build, tmp_path):
    from textureade.detecture_format import read_detecture_folder

    runner = CliRunner()
    res = runner.invoke(cli, ["check", str(ref_build)])
    assert res.exit_code == 0 and "ok" in res.output
    dest = tmp_path / "det"
    res = runner.invoke(cli, ["export", "--format", "detecture", str(ref_build), str(dest)])
    assert res.exit_code == 0, res.output
    meta = json.loads((dest / "metadata.json").read_text())
    assert len(meta) == len(list(read_textureade(ref_build)))
    back = {s.id: s for s in read_detecture_folder(dest)}
    for s in read_textureade(ref_build):
        assert back[s.id].descriptions == s.descriptions
        assert np.array_equal(back[s.id].label_map > 0, s.label_map > 0)
    bad = tmp_path / "bad"
    shutil.copytree(ref_build, bad)
    shard = sorted((bad / "data").iterdir())[0]
    shard.write_bytes(shard.read_bytes()[:-10])
    res = runner.invoke(cli, ["check", str(bad)])
    assert res.exit_code == 1 and "sha256" in res.output
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from textureade.cli import main; main()",
            "build",
            "--ade20k",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (
        proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    )


def test_describer_option_and_its_deprecated_names(synth, tmp_path):
    """--describer offline is the default; --captioner / captioner: / heuristic still work and warn."""
    args = ["build", "--ade20k", str(synth), "--limit", "2", "--no-progress"]
    runner = CliRunner()
    new = runner.invoke(cli, [*args, "--out", str(tmp_path / "new"), "--describer", "offline"])
    assert new.exit_code == 0 and "deprecated" not in new.stderr, new.output
    old = runner.invoke(cli, [*args, "--out", str(tmp_path / "old"), "--captioner", "heuristic"])
    assert old.exit_code == 0, old.output
    assert "'captioner' is deprecated" in old.stderr and "--describer" in old.stderr
    yml = tmp_path / "build.yaml"
    yml.write_text("captioner: heuristic\n")
    cfg = runner.invoke(cli, [*args, "--out", str(tmp_path / "yml"), "--config", str(yml)])
    assert cfg.exit_code == 0, cfg.output
    assert "textureade: warning: build config" in cfg.stderr and "'captioner' is deprecated" in cfg.stderr
    assert "the describer name 'heuristic' is deprecated; use 'offline'" in cfg.stderr
    assert _files(tmp_path / "old") == _files(tmp_path / "new") == _files(tmp_path / "yml")
    manifest = json.loads((tmp_path / "new" / "manifest.json").read_text())
    assert manifest["config"]["describer"] == "offline" and "captioner" not in manifest["config"]
    bad = runner.invoke(
        cli, [*args, "--out", str(tmp_path / "x"), "--describer", "offline", "--captioner", "vlm"]
    )
    assert bad.exit_code == 2 and "disagree" in bad.output
    yml.write_text("captioner: vlm\ndescriber: offline\n")
    with pytest.warns(FutureWarning), pytest.raises(UserError, match="give 'describer' only"):
        resolve_build_config({"ade20k": str(synth), "out": str(tmp_path / "y")}, yml)


@pytest.mark.models
def test_vlm_describer_build(synth, tmp_path):
    pytest.importorskip("transformers")
    from textureade.testing.tiny_vlm import save_tiny_vlm

    model = save_tiny_vlm("qwen2_5_vl", tmp_path / "vlm")
    out = tmp_path / "ds"
    opts = {"max_retries": 0, "max_new_tokens": 8, "batch_size": 6}
    report = _build(synth, out, limit=2, describer="vlm", vlm=str(model), workers=2, describer_options=opts)
    samples = list(read_textureade(out))
    assert report.items == 2 and len(samples) + report.rejects == 2
    for s in samples:
        assert s.provenance["describer"]["describer"] == "vlm" or "vlm" in json.dumps(
            s.provenance["describer"]
        )
        assert all(p is None for p in descriptions_problems(s.descriptions))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["describer"] == "vlm" and manifest["config"]["vlm"] == str(model)


# ---- the local executor (textureade.executors.LocalChunks) ---------------------------------------
_MARKS: dict[str, Path] = {}


def _marks_in(folder: str) -> None:
    _MARKS["dir"] = Path(folder)


def _mark(ref: int) -> int:
    """One item's work: a marker file named after the item (it ran), then ref * 10."""
    (_MARKS["dir"] / str(ref)).touch()
    return ref * 10


class _Bar:
    n = 0

    def update(self, k: int) -> None:
        self.n += k


def test_local_chunks_keep_the_pool_one_chunk_ahead_and_return_input_order(tmp_path):
    """The next chunk runs in the pool while the caller holds this one (writing its shards), and
    no further chunk is submitted until the caller asks: at most two chunks in flight."""
    from textureade.executors import LocalChunks

    chunks = [[0, 1], [2, 3], [4, 5]]
    bar = _Bar()
    pool = LocalChunks(
        chunks, [0, 1, 2], bar, _mark, workers=2, init=_marks_in, init_args=(str(tmp_path),), fork_safe=True
    )
    try:
        stream = iter(pool)
        assert next(stream) == (0, [0, 10])
        deadline = time.monotonic() + 30
        while not all((tmp_path / n).exists() for n in ("2", "3")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (tmp_path / "2").exists() and (tmp_path / "3").exists()  # chunk 1 ran meanwhile
        assert not (tmp_path / "4").exists() and not (tmp_path / "5").exists()  # chunk 2 not sent yet
        assert list(stream) == [(1, [20, 30]), (2, [40, 50])]
    finally:
        pool.close()
    assert bar.n == 6
    (tmp_path / "x").mkdir()
    here = LocalChunks(chunks, [0, 2], bar, _mark, workers=1, init=_marks_in, init_args=(str(tmp_path / "x"),),
                       fork_safe=True)  # fmt: skip
    assert list(here) == [(0, [0, 10]), (2, [40, 50])] and bar.n == 10
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["0", "1", "4", "5"]


def _cv_threads(ref: int) -> int:
    import cv2

    return cv2.getNumThreads()


@pytest.mark.parametrize("workers", [1, 2])
def test_local_chunks_run_opencv_single_threaded_and_restore_it(workers):
    """Workers (this process or forked ones) see one OpenCV thread: the build parallelises with
    processes, and OpenCV's own pool only competes. The caller's setting is back after close()."""
    import cv2

    from textureade.executors import LocalChunks

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        local = LocalChunks([[0, 1], [2]], [0, 1], _Bar(), _cv_threads, workers=workers, init=_marks_in,
                            init_args=("unused",), fork_safe=True)  # fmt: skip
        try:
            assert list(local) == [(0, [1, 1]), (1, [1])]
        finally:
            local.close()
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


def _failing_init(_: str) -> None:
    raise RuntimeError("worker set-up failed")


def test_local_chunks_restore_opencv_threads_when_set_up_fails():
    """A worker set-up that raises leaves no executor to close(): the caller's setting is back anyway."""
    import cv2

    from textureade.executors import LocalChunks

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        with pytest.raises(RuntimeError, match="set-up failed"):
            LocalChunks([[0]], [0], _Bar(), _cv_threads, workers=1, init=_failing_init, init_args=("x",),
                        fork_safe=True)  # fmt: skip
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)
