"""Protocols (what a method is told), suites, and the prediction -> partition rule (dustbin first)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.protocol import method_inputs, prediction_to_partition
from benchmark.suites import get_suite, load_suites
from textureade.errors import UserError
from textureade.types import Prediction, Sample

DESCS = ["Texture of a, b, c", "Texture of d, e, f", "Texture of g, h, i"]


def sample(k: int = 3) -> Sample:
    lm = np.zeros((4, 6), np.int32)
    for r in range(1, k + 1):
        lm[:, r - 1] = r
    return Sample(id="s", image=np.zeros((4, 6, 3), np.uint8), label_map=lm, descriptions=DESCS[:k])


def test_what_each_protocol_tells_the_method():
    s = sample(3)
    assert method_inputs("oracle-k", s, None) == (3, DESCS)
    assert method_inputs("oracle-k-blind", s, None) == (3, None)
    assert method_inputs("autonomous", s, None) == (None, None)
    # a fixed K (RWTD/STLD: 2) differing from the GT's count: K is told, descriptions are not
    assert method_inputs("oracle-k", s, 2) == (2, None)
    assert method_inputs("oracle-k", sample(2), 2) == (2, DESCS[:2])
    with pytest.raises(UserError, match="unknown protocol"):
        method_inputs("oracle", s, None)


def test_scores_become_a_partition_textures_winning_ties():
    scores = np.array(
        [
            [[0.0, 0.0, 0.5]],  # dustbin
            [[1.0, 0.0, 0.2]],
            [[0.5, 0.0, 0.4]],
        ],
        np.float32,
    )
    part, info = prediction_to_partition(Prediction(scores=scores), (1, 3))
    assert part.tolist() == [[1, 1, 0]]  # an exact tie goes to the texture (the authors' rule)
    assert part.dtype == np.int32 and not info.resized and (info.pred_height, info.pred_width) == (1, 3)
    nan = scores.copy()
    nan[1, 0, 0] = np.nan
    assert prediction_to_partition(Prediction(scores=nan), (1, 3))[0].tolist() == [[2, 1, 0]]


def test_smaller_predictions_are_resized_and_flagged():
    # label map: nearest
    lm = np.array([[1, 2], [3, 0]], np.int32)
    part, info = prediction_to_partition(Prediction(label_map=lm), (4, 4))
    assert info.resized and (info.pred_height, info.pred_width) == (2, 2)
    assert part.tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 0, 0], [3, 3, 0, 0]]
    # scores: bilinear before the argmax, -inf pad channels survive the interpolation
    s = np.zeros((3, 2, 2), np.float32)
    s[1] = [[1.0, -1.0], [1.0, -1.0]]
    s[2] = -np.inf
    part, info = prediction_to_partition(Prediction(scores=s, descriptions=["Texture of x"]), (2, 8))
    assert info.resized and info.n_desc == 1
    assert part[0].tolist() == [1, 1, 1, 1, 0, 0, 0, 0] and not (part == 2).any()


def test_detecture_suite_fixes_protocol_and_k_as_in_the_paper():
    suite = get_suite("detecture")
    # the authors' final regime: K only (never GT text), per dataset for a method it does not name
    assert suite.setting("rwtd") == ("oracle-k-blind", 2)
    assert suite.setting("stld") == ("oracle-k-blind", 2)
    assert suite.setting("ade20k-detecture") == ("autonomous", None)
    assert suite.setting("caid") == ("oracle-k-blind", 1)
    with pytest.raises(UserError, match="does not cover dataset 'mosaics'"):
        suite.setting("mosaics")
    with pytest.raises(UserError, match="unknown suite"):
        get_suite("nope")
    from benchmark.datasets import load_dataset_specs

    names = set(load_dataset_specs())
    for s in load_suites().values():  # every suite names known datasets
        assert set(s.datasets) <= names, s.name


def test_suite_and_explicit_choices_reach_the_runner(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import runner_toys

    from benchmark.datasets import DatasetHandle
    from benchmark.registry import MethodSpec
    from benchmark.runner import RunConfig, run

    h = DatasetHandle(
        name="rwtd", form="python", factory=lambda: runner_toys.toy_stream(2), protocol="autonomous"
    )
    spec = MethodSpec(name="t", entry="runner_toys:Threshold")
    s = run(RunConfig(method=spec, dataset=h, out=tmp_path / "a", suite="detecture", progress=False))
    assert (s.protocol, s.k) == ("oracle-k-blind", 2)
    s = run(
        RunConfig(
            method=spec,
            dataset=h,
            out=tmp_path / "b",
            suite="detecture",
            protocol="oracle-k-blind",
            k=3,
            progress=False,
        )
    )
    assert (s.protocol, s.k) == ("oracle-k-blind", 3)
    from benchmark.runinfo import Given, RunInfo

    info = RunInfo.read(tmp_path / "b" / "run.json")
    assert info.identity.protocol == "oracle-k-blind" and info.identity.k == 3
    assert info.config["suite"] == "detecture" and info.given == Given("cli", False, [])  # --k 3
    assert RunInfo.read(tmp_path / "a" / "run.json").given == Given("dataset", False, [])  # the suite's K=2
