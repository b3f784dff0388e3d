"""Semantic-SAM adapter: the tested reason it cannot run here, mask conversion, and `bench run` exit 2
for every weight-needing method of this family when its weights are absent."""

from __future__ import annotations

import sys
import unittest

import numpy as np
import pytest

pytest.importorskip("torch")

from baselines import semantic_sam as ss  # noqa: E402
from baselines.testing import smoke  # noqa: E402
from benchmark.method import MethodUnavailable  # noqa: E402
from benchmark.registry import build_method, load_method_specs  # noqa: E402
from textureade.detecture_format import write_detecture_folder  # noqa: E402
from textureade.types import Sample  # noqa: E402


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("detectron2") is not None, reason="detectron2 is installed here"
)
def test_reason_without_the_fork(tmp_path):
    reason = ss.SemanticSam.check_available({"repo": None, "checkpoint": None})
    assert reason == ss.INSTALL_HINT and "\n" not in reason
    for needle in (
        "detectron2-xyz",
        "swinl_only_sam_many2many.pth",
        "--option repo=",
        "--option checkpoint=",
    ):
        assert needle in reason
    spec = load_method_specs()["semantic-sam"]
    with pytest.raises(MethodUnavailable, match="semantic-sam: Semantic-SAM needs its detectron2 fork"):
        build_method(spec, {"checkpoint": str(tmp_path / "x.pth")})
    with pytest.raises(unittest.SkipTest, match="detectron2"):
        smoke.semantic_sam(tmp_path)


def test_records_to_proposals():
    seg = np.zeros((4, 6), bool)
    seg[:2, :3] = True
    records = [
        {"segmentation": seg, "predicted_iou": 1.2, "area": 6},
        {"segmentation": np.zeros((4, 6), bool), "predicted_iou": 0.5},  # empty: dropped
        {"segmentation": ~seg, "predicted_iou": 0.7},
    ]
    props = ss.proposals_from_records(records, (8, 12))  # generator ran at half size
    assert props.masks.shape == (2, 8, 12) and props.quality.tolist() == pytest.approx([1.0, 0.7])
    assert props.masks[0, :4, :6].all() and not props.masks[0, 4:].any() and not props.masks[0, :, 6:].any()
    assert ss.proposals_from_records([], (5, 5)).masks.shape == (0, 5, 5)
    assert ss.resize_short_side(np.zeros((30, 60, 3), np.uint8), 64).shape == (64, 128, 3)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("semantic-sam", "swinl_only_sam_many2many.pth"),
        ("code", "checkpoint.pth"),
        ("lseg", "demo_e200.ckpt"),
        ("use-reimpl", "huggingface-cli download"),
        ("sclip", "huggingface-cli download"),
    ],
)
def test_bench_run_exits_2_with_one_line(name, needle, tmp_path, monkeypatch, capsys):
    labels = np.zeros((16, 16), np.int32)
    labels[:, 8:] = 1
    sample = Sample(id="s1", image=np.zeros((16, 16, 3), np.uint8), label_map=labels, descriptions=["sand"])
    data = write_detecture_folder([sample], tmp_path / "data")
    options = {
        "use-reimpl": ["--option", "sam=nobody/no-such-sam"],
        "sclip": ["--option", "model=nobody/no-clip"],
    }
    argv = [
        "bench",
        "run",
        "--method",
        name,
        "--dataset",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    monkeypatch.setattr(sys, "argv", argv + options.get(name, []))
    from benchmark.cli import main

    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and needle in err, err
