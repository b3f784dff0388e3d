"""`bench score`: records for every GT sample, failures scored not skipped, summary, CLI exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmark.metrics import HIGHER_IS_BETTER, METRIC_KEYS, bootstrap_ci, score_failure, score_partition
from benchmark.records import columns, read_records
from benchmark.runinfo import Counts, Given, RunInfo
from benchmark.score import score_folder
from textureade.detecture_format import write_detecture_folder
from textureade.errors import UserError
from textureade.types import Sample

REPO = Path(__file__).resolve().parents[2]


def sample(sid: str, seed: int, h: int = 16, w: int = 20) -> Sample:
    rng = np.random.default_rng(seed)
    label = np.ones((h, w), np.int32)
    label[:, w // 2 :] = 2
    label[: h // 3, :] = 3
    label[0, :3] = 0
    return Sample(
        id=sid,
        image=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        label_map=label,
        descriptions=["Texture of a", "Texture of b", "Texture of c"],
    )


@pytest.fixture
def scored(tmp_path):
    samples = [sample(f"s{i}", i) for i in range(7)]
    data = write_detecture_folder(samples, tmp_path / "data")
    preds = tmp_path / "preds"
    preds.mkdir()
    gt = samples[0].label_map
    Image.fromarray(gt.astype(np.uint8)).save(preds / "s0.png")  # perfect, 8-bit
    (preds / "s0.json").write_text(json.dumps({"descriptions": ["Texture of a", "b", "c"]}))
    shifted = (np.roll(gt, 2, axis=1) * 1000).astype(np.uint16)  # 16-bit, large ids
    Image.fromarray(shifted).save(preds / "s1.png")
    (preds / "s1.json").write_text("{not json")
    # s2: missing. s3: wrong size. s4: RGB. s5: corrupt file. s6: all unassigned.
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(preds / "s3.png")
    Image.fromarray(np.zeros((16, 20, 3), np.uint8)).save(preds / "s4.png")
    (preds / "s5.png").write_bytes(b"garbage")
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(preds / "s6.png")
    summary = score_folder(data, preds, tmp_path / "out", n_boot=200)
    return samples, shifted, summary, tmp_path / "out"


def test_every_gt_sample_gets_a_record(scored):
    samples, shifted, summary, out = scored
    df = read_records(out)
    assert list(df["id"]) == [s.id for s in samples]
    assert set(METRIC_KEYS) | {"id", "status", "reason", "n_gt", "n_pred"} <= set(df.columns)
    by = df.set_index("id")
    assert list(df["status"]) == ["ok", "ok", "failed", "failed", "failed", "failed", "ok"]
    assert "no prediction s2.png" in by.loc["s2", "reason"]
    assert "8x8" in by.loc["s3", "reason"] and "20x16" in by.loc["s3", "reason"]
    assert "mode RGB" in by.loc["s4", "reason"]
    assert "cannot read prediction" in by.loc["s5", "reason"]
    # Scores: ok images equal score_partition; failures equal score_failure (0, vi = log N).
    want1 = score_partition(shifted, samples[1].label_map)
    for k in METRIC_KEYS:
        assert by.loc["s0", k] == pytest.approx(1.0 if HIGHER_IS_BETTER[k] else 0.0)
        assert by.loc["s1", k] == pytest.approx(want1[k], abs=1e-12)
        assert by.loc["s2", k] == pytest.approx(score_failure(samples[2].label_map)[k])
    assert by.loc["s6", "miou_matched"] == 0.0 and by.loc["s6", "n_pred"] == 0
    assert by.loc["s0", "n_desc"] == 3 and pd.isna(by.loc["s2", "n_desc"])
    assert json.loads(by.loc["s1", "extras"])["descriptions_note"].startswith("unreadable")
    # the runner's columns: protocol "external", the prediction's size, no predict time known
    assert list(df.columns) == list(columns()) and (df["protocol"] == "external").all()
    assert by.loc["s1", "pred_height"] == 16 and pd.isna(by.loc["s2", "pred_height"])
    assert df["time_total"].isna().all() and (df["time_score"] >= 0).all()


def test_summary_means_intervals_and_run_json(scored):
    samples, _, summary, out = scored
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    assert summary["n_images"] == 7 and summary["n_ok"] == 3 and summary["n_failed"] == 4
    assert [f["id"] for f in summary["failures"]] == ["s2", "s3", "s4", "s5"]
    df = read_records(out)
    for k in METRIC_KEYS:
        m = summary["metrics"][k]
        assert m["mean"] == pytest.approx(df[k].mean())
        assert m["ci95"] == list(bootstrap_ci(df[k].to_numpy(), n=200, seed=0))
    assert summary["metrics"]["vi"]["higher_is_better"] is False
    assert summary["metrics"]["vi_bits"]["higher_is_better"] is False
    assert 0 <= summary["pooled"]["pooled_iou_panoptic"] <= 1
    run = RunInfo.read(out / "run.json")
    assert run.kind == "score" and run.status == "complete" and run.counts == Counts(7, 3, 4)
    assert run.metric_keys[: len(METRIC_KEYS)] == list(METRIC_KEYS) and run.method.name == "preds"
    assert run.given == Given(k="none", gt_descriptions=False, prompts=[])
    from benchmark.leaderboard import build_leaderboard

    board = build_leaderboard([out], n_boot=100)
    assert board.loc[0, "n_failed"] == 4 and board.loc[0, "miou_matched"] == pytest.approx(
        df["miou_matched"].mean()
    )


def test_textureade_parquet_folder_routes_through_open_dataset(tmp_path):
    from textureade.store import DatasetWriter

    samples = [sample(f"t{i}", i) for i in range(2)]
    with DatasetWriter(tmp_path / "ta", name="tiny", card={}, config={}) as w:
        for s in samples:
            w.add(s)
    preds = tmp_path / "p"
    preds.mkdir()
    Image.fromarray(samples[0].label_map.astype(np.uint8)).save(preds / "t0.png")
    summary = score_folder(tmp_path / "ta", preds, tmp_path / "o", n_boot=50)
    assert summary["dataset_info"]["form"] == "textureade"
    assert summary["n_ok"] == 1 and summary["n_failed"] == 1


def test_user_errors(tmp_path):
    data = write_detecture_folder([sample("a", 0)], tmp_path / "data")
    with pytest.raises(UserError, match="predictions folder"):
        score_folder(data, tmp_path / "missing", tmp_path / "out")
    with pytest.raises(UserError):
        score_folder(tmp_path / "nothing_here", tmp_path, tmp_path / "out")


def test_rescoring_resumes_and_changed_predictions_are_refused(scored):
    samples, _, summary, out = scored
    before = read_records(out)
    lines = (out / "records.jsonl").read_bytes()
    (out / "records.jsonl").write_bytes(lines[: lines.index(b"\n", len(lines) // 2) + 1] + b'{"index": 5')
    (out / "records.parquet").unlink()  # as after a kill mid-way: a torn journal, no table
    again = score_folder(out.parent / "data", out.parent / "preds", out, n_boot=200)
    after = read_records(out)
    keep = [c for c in before.columns if not c.startswith("time_")]
    pd.testing.assert_frame_equal(before[keep], after[keep])
    assert again["metrics"] == summary["metrics"] and again["pooled"] == summary["pooled"]
    assert RunInfo.read(out / "run.json").resumed_records < 7
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(out.parent / "preds" / "s2.png")
    with pytest.raises(UserError, match="holds a run with other params"):
        score_folder(out.parent / "data", out.parent / "preds", out, n_boot=200)


def test_read_records_typed_by_the_schema(scored, tmp_path):
    _, _, _, out = scored
    df = read_records(out, ["id", "n_gt", "miou_matched"])
    assert list(df.columns) == ["id", "n_gt", "miou_matched"] and str(df["n_gt"].dtype) == "int64"
    with pytest.raises(ValueError, match="not record columns"):
        read_records(out, ["n_descriptions"])
    with pytest.raises(UserError, match="no records"):
        read_records(tmp_path / "none.parquet")


@pytest.mark.slow  # end to end through subprocesses / the CLI: seconds, not the quick loop
def test_cli_exit_codes(tmp_path):
    data = write_detecture_folder([sample("a", 0), sample("b", 1)], tmp_path / "data")
    preds = tmp_path / "preds"
    preds.mkdir()
    Image.fromarray(sample("a", 0).label_map.astype(np.uint8)).save(preds / "a.png")
    cmd = [
        sys.executable,
        "-m",
        "benchmark.cli",
        "score",
        "--dataset",
        str(data),
        "--predictions",
        str(preds),
    ]
    ok = subprocess.run([*cmd, "--out", str(tmp_path / "o1")], capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    assert (
        "2 images: 1 ok, 1 failed" in ok.stdout
        and "failed b: PredictionProblem: no prediction b.png" in ok.stdout
    )
    strict = subprocess.run(
        [*cmd, "--out", str(tmp_path / "o2"), "--strict"], capture_output=True, text=True, cwd=REPO
    )
    assert strict.returncode == 1
    bad = [
        sys.executable,
        "-m",
        "benchmark.cli",
        "score",
        "--dataset",
        str(data),
        "--predictions",
        "/nonexistent",
    ]
    err = subprocess.run([*bad, "--out", str(tmp_path / "o3")], capture_output=True, text=True, cwd=REPO)
    assert err.returncode == 2 and err.stderr.count("\n") == 1 and "Traceback" not in err.stderr


def test_score_reproduces_the_runners_records(tmp_path):
    """`bench run --save-predictions` then `bench score` on those PNGs: the same scores per image."""
    from benchmark.runner import RunConfig, run

    samples = [sample(f"r{i}", i, h=32, w=40) for i in range(3)]
    data = write_detecture_folder(samples, tmp_path / "data")
    summary = run(
        RunConfig(method="slic", dataset=data, out=tmp_path / "run", save_predictions=True, progress=False)
    )
    assert summary.n_ok == 3
    ran = read_records(tmp_path / "run").set_index("id")
    score_folder(data, tmp_path / "run" / "predictions", tmp_path / "scored", n_boot=50)
    scored = read_records(tmp_path / "scored").set_index("id")
    for sid in ran.index:
        for k in METRIC_KEYS:
            assert scored.loc[sid, k] == pytest.approx(ran.loc[sid, k], abs=1e-12), (sid, k)


@pytest.mark.parametrize(
    "message, reason", [("bad map\nsecond line", "ValidationError: bad map"), ("", "ValidationError")]
)
def test_bench_run_and_bench_score_word_a_failed_image_alike(message, reason, tmp_path, monkeypatch):
    """The same exception gives the same ``reason`` in both: type name and first line."""
    import benchmark.score as score_mod
    from benchmark.evaluate import evaluate_sample
    from benchmark.records import RowContext
    from benchmark.score import score_prediction
    from textureade.types import ValidationError

    class Failing:
        def predict(self, image, k, descriptions):
            raise ValidationError(message)

    def failing_load(*args, **kwargs):
        raise ValidationError(message)

    s = sample("s0", 0)
    ran = evaluate_sample(Failing(), s, index=0, context=RowContext("m", "d", "oracle-k"), k=None, scoring={})
    monkeypatch.setattr(score_mod, "load_prediction", failing_load)
    context = RowContext("m", "d", "external")
    scored = score_prediction(s, index=0, t_load=0.0, pred_dir=tmp_path, context=context, scoring={})
    assert (ran.status, scored.status) == ("failed", "failed")
    assert ran.reason == scored.reason == reason


def _bench(*args: str):
    from click.testing import CliRunner

    from benchmark.cli import cli

    return CliRunner().invoke(cli, [*args, "--text-model", "none"])


@pytest.mark.parametrize("bad", ["missing image", "16-bit mask of 0/1000"])
def test_bench_score_meets_bad_ground_truth_as_bench_run_does(bad, tmp_path):
    """README: exit 1 with --strict when an image was rejected or failed; a mask that is not binary
    0/255 is a "kept with a warning" line on stderr, and with --strict a skipped sample. `bench
    score` does what `bench run` does on the same dataset."""
    samples = [sample(f"s{i}", i) for i in range(3)]
    data = write_detecture_folder(samples, tmp_path / "data")
    if bad == "missing image":
        (data / "images" / "s1.png").unlink()
    else:
        mask = np.array(Image.open(data / "masks" / "s1_1.png"))
        Image.fromarray((mask > 0).astype(np.uint16) * 1000).save(data / "masks" / "s1_1.png")
    preds = tmp_path / "preds"
    preds.mkdir()
    for s in samples:
        Image.fromarray(s.label_map.astype(np.uint8)).save(preds / f"{s.id}.png")
    for strict in ([], ["--strict"]):
        tag = "strict" if strict else "plain"
        ran = _bench("run", "--method", "one-region", "--dataset", str(data), "--no-progress",
                     "--out", str(tmp_path / f"run-{tag}"), *strict)  # fmt: skip
        scored = _bench("score", "--dataset", str(data), "--predictions", str(preds),
                        "--out", str(tmp_path / f"score-{tag}"), *strict)  # fmt: skip
        rejected = bad == "missing image" or bool(strict)
        expected = 1 if strict and rejected else 0
        assert (ran.exit_code, scored.exit_code) == (expected, expected), scored.output
        assert len(read_records(tmp_path / f"score-{tag}")) == len(read_records(tmp_path / f"run-{tag}"))
        assert len(read_records(tmp_path / f"score-{tag}")) == (2 if rejected else 3)
        warned = "1 samples kept with a warning (1 non_binary_mask"
        assert (warned in ran.stderr) == (warned in scored.stderr) == (not rejected), scored.stderr


def test_bench_score_skips_a_bad_shard_as_bench_run_does(tmp_path):
    """The bad-shard advice names the commands that take --skip-bad-shards; bench score is one."""
    from textureade.store import DatasetWriter

    samples = [sample(f"t{i}", i) for i in range(4)]
    with DatasetWriter(tmp_path / "ta", name="tiny", card={}, config={}, shard_size=2) as w:
        for s in samples:
            w.add(s)
    shard = sorted((tmp_path / "ta" / "data").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-10])
    preds = tmp_path / "p"
    preds.mkdir()
    for s in samples:
        Image.fromarray(s.label_map.astype(np.uint8)).save(preds / f"{s.id}.png")
    with pytest.raises(UserError, match=r"`bench run` and `bench score`, pass --skip-bad-shards"):
        score_folder(tmp_path / "ta", preds, tmp_path / "o1", n_boot=50)
    res = _bench("score", "--dataset", str(tmp_path / "ta"), "--predictions", str(preds),
                 "--out", str(tmp_path / "o2"), "--skip-bad-shards")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"skipped shard data/{shard.name}: sha256" in res.stderr and "2 images: 2 ok" in res.stdout
