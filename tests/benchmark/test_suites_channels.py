"""Issue #11 item 1 wired in: score maps are scored over all K channels (the Detecture authors'
convention), in `bench run` records and in `bench score` (``--channels`` / ``<id>.json``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmark.datasets import DatasetHandle
from benchmark.records import OPTIONAL_METRIC_KEYS
from benchmark.registry import MethodSpec
from benchmark.runner import RunConfig, run
from benchmark.score import score_folder

sys.path.insert(0, str(Path(__file__).parent))
import runner_toys  # noqa: E402
from test_datasets import write_detecture  # noqa: E402


def halves() -> DatasetHandle:
    return DatasetHandle(
        name="halves", form="python", factory=lambda: runner_toys.halves_stream(2),
        fingerprint_fn=lambda: "halves:2", count_fn=lambda: 2,
    )  # fmt: skip


def toy(**params) -> MethodSpec:
    return MethodSpec(name="second-channel-empty", entry="runner_toys:SecondChannelEmpty", params=params)


def records(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "records.parquet")


def test_an_empty_channel_of_score_maps_is_charged_as_the_authors_do(tmp_path):
    run(RunConfig(method=toy(), dataset=halves(), out=tmp_path / "r", progress=False))
    df = records(tmp_path / "r")
    assert (df["status"] == "ok").all()
    # GT halves; channel 1: IoU 50/80 = 0.625 with the left half, channel 2 empty (IoU 0)
    assert df["miou_matched"].tolist() == pytest.approx([0.3125, 0.3125])
    assert df["iou_panoptic"].tolist() == pytest.approx([0.3125, 0.3125])  # (0.625 + 0) / max(2, 2)
    dice = 2 * 50 / (80 + 50) / 2  # channel 1 vs the left half, then / 2 pairs
    assert df["dice_matched"].tolist() == pytest.approx([dice, dice])
    assert df["dice_panoptic"].tolist() == pytest.approx([dice, dice])
    assert df["dustbin_share"].tolist() == pytest.approx([0.2, 0.2])  # columns 8-9
    assert (df["n_pred"] == 1).all()  # the regions present (the record's count stays ours)


def test_a_label_map_keeps_our_convention_and_null_authors_columns(tmp_path):
    run(RunConfig(method=toy(label_map=True), dataset=halves(), out=tmp_path / "r", progress=False))
    df = records(tmp_path / "r")
    assert df["miou_matched"].tolist() == pytest.approx([0.625, 0.625])  # channel 2 does not exist
    assert df["iou_panoptic"].tolist() == pytest.approx([0.3125, 0.3125])  # 0.625 / max(G=2, P=1)
    assert df[list(OPTIONAL_METRIC_KEYS)].isna().all().all()


def test_bench_score_takes_the_channels_from_the_sidecar_or_the_flag(tmp_path, monkeypatch):
    folder = write_detecture(tmp_path / "RWTD", n=3, size=20)
    keys = ["miou_matched", "iou_panoptic", "ari", *OPTIONAL_METRIC_KEYS]
    # score maps through the runner: <id>.json records K, and bench score reproduces the records
    run(
        RunConfig(
            method=toy(), dataset=str(folder), out=tmp_path / "maps", save_predictions=True, progress=False
        )
    )
    sidecar = json.loads((tmp_path / "maps" / "predictions" / "im0.json").read_text())
    assert sidecar == {"descriptions": [], "channels": 2}
    score_folder(str(folder), tmp_path / "maps" / "predictions", tmp_path / "maps-scored")
    a, b = records(tmp_path / "maps"), records(tmp_path / "maps-scored")
    pd.testing.assert_frame_equal(a[keys], b[keys], check_dtype=False)
    assert a["dice_matched"].notna().all()
    # the same partition saved as a plain label map: our convention unless --channels says K
    run(RunConfig(method=toy(label_map=True), dataset=str(folder), out=tmp_path / "lm", save_predictions=True,
                  progress=False))  # fmt: skip
    assert "channels" not in json.loads((tmp_path / "lm" / "predictions" / "im0.json").read_text())
    score_folder(str(folder), tmp_path / "lm" / "predictions", tmp_path / "lm-plain")
    score_folder(str(folder), tmp_path / "lm" / "predictions", tmp_path / "lm-k2", channels=2)
    plain, k2 = records(tmp_path / "lm-plain"), records(tmp_path / "lm-k2")
    assert plain["dice_matched"].isna().all()
    pd.testing.assert_frame_equal(k2[keys], a[keys], check_dtype=False)
    assert k2["miou_matched"].tolist() == pytest.approx((plain["miou_matched"] / 2).tolist())  # channel 2: 0
    info = json.loads((tmp_path / "lm-k2" / "run.json").read_text())
    assert info["identity"]["params"]["channels"] == 2 and info["config"]["channels"] == 2
    # a label above K fails the image with the reason
    score_folder(str(folder), tmp_path / "lm" / "predictions", tmp_path / "lm-k1", channels=1)
    failed = records(tmp_path / "lm-k1")
    assert (failed["status"] == "ok").all()  # label 1 only: K = 1 holds it
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in (tmp_path / "lm" / "predictions").glob("*.png"):
        (bad / p.name).write_bytes(p.read_bytes())
    (bad / "im0.json").write_text(json.dumps({"descriptions": [], "channels": 0}))
    score_folder(str(folder), bad, tmp_path / "bad-scored")
    df = records(tmp_path / "bad-scored").set_index("id")
    assert df.loc["im0", "status"] == "failed" and "produced 0 channels" in df.loc["im0", "reason"]
    assert df.loc["im1", "status"] == "ok" and pd.isna(df.loc["im1", "dice_matched"])


def test_bench_score_cli_channels(tmp_path):
    from click.testing import CliRunner

    from benchmark.cli import cli

    folder = write_detecture(tmp_path / "RWTD", n=2, size=20)
    run(RunConfig(method=toy(label_map=True), dataset=str(folder), out=tmp_path / "lm", save_predictions=True,
                  progress=False))  # fmt: skip
    args = ["score", "--dataset", str(folder), "--predictions", str(tmp_path / "lm" / "predictions")]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "s"), "--channels", "2"])
    assert res.exit_code == 0, res.output
    assert "dice_matched" in res.output and records(tmp_path / "s")["dice_matched"].notna().all()
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "s0"), "--channels", "0"])
    assert res.exit_code == 2 and "--channels" in res.output


def test_failed_images_count_in_the_dice_and_dustbin_means_as_an_all_dustbin_prediction(tmp_path):
    from benchmark.leaderboard import OPTIONAL_FAILURE_SCORES, summarize_run

    spec = MethodSpec(name="flaky", entry="runner_toys:Threshold", params={"fail_mod": 3})
    run(RunConfig(method=spec, dataset=halves_like_toys(), out=tmp_path / "r", progress=False))
    df = records(tmp_path / "r")
    failed = df["status"] == "failed"
    assert failed.any() and (~failed).any() and df.loc[failed, "dice_matched"].isna().all()
    ours, theirs = (
        summarize_run(tmp_path / "r", n_boot=100),
        summarize_run(tmp_path / "r", 100, drop_failures=True),
    )
    for key, fail_value in OPTIONAL_FAILURE_SCORES.items():
        filled = df[key].where(~failed, fail_value)
        assert ours[key] == pytest.approx(filled.mean())  # failures count (ours)
        assert theirs[key] == pytest.approx(df.loc[~failed, key].mean())  # failures dropped (the authors')
    # a label-map run's columns stay empty, failures or not
    lm = MethodSpec(name="lm", entry="runner_toys:SecondChannelEmpty", params={"label_map": True})
    run(RunConfig(method=lm, dataset=halves(), out=tmp_path / "lm", progress=False))
    assert "dice_matched" not in summarize_run(tmp_path / "lm", n_boot=100)


def halves_like_toys() -> DatasetHandle:
    return DatasetHandle(
        name="toy", form="python", factory=lambda: runner_toys.toy_stream(12), fingerprint_fn=lambda: "toy:12",
        count_fn=lambda: 12,
    )  # fmt: skip
