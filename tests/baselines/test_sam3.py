"""SAM 3 grounding through transformers: a tiny random Sam3Model saved and loaded back offline."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

from baselines._sam3 import MISSING_LOGIT, Sam3Grounder, stack_scores  # noqa: E402
from baselines.sam3 import Sam3Method  # noqa: E402
from benchmark.method import Method, MethodUnavailable  # noqa: E402
from textureade.errors import UserError  # noqa: E402

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def tiny_sam3(tiny_weights):
    return tiny_weights.sam3()


@pytest.fixture(scope="module")
def method(tiny_sam3):
    return Sam3Method(sam3=str(tiny_sam3), device="cpu")


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    img = np.zeros((48, 70, 3), np.uint8)
    img[:, :35] = (200, 40, 40)
    img[:, 35:] = (30, 160, 50)
    return np.clip(img + rng.integers(0, 40, img.shape), 0, 255).astype(np.uint8)


def count_vision_runs(grounder: Sam3Grounder) -> list[int]:
    calls = [0]
    grounder.model.vision_encoder.register_forward_hook(lambda *a: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_is_a_method(method):
    assert isinstance(method, Method)


def test_oracle_k_scores_shape_dustbin_and_resolution(method, image):
    pred = method.predict(image, 2, ["Texture of red brick wall", "Texture of green grass lawn"])
    assert pred.scores.shape == (3, 48, 70)
    assert np.all(pred.scores[0] == 0.0)  # the manifest's constant dustbin logit
    assert np.isfinite(pred.scores).all()
    assert not np.allclose(pred.scores[1], pred.scores[2])  # different prompts, different maps
    assert pred.descriptions == ["Texture of red brick wall", "Texture of green grass lawn"]
    assert pred.partition().shape == (48, 70)


def test_both_outputs_exist_and_differ(tiny_sam3, image):
    sem = Sam3Method(sam3=str(tiny_sam3), device="cpu", output="semantic")
    ins = Sam3Method(sam3=str(tiny_sam3), device="cpu", output="instances")
    d = ["Texture of red brick", "Texture of grass"]
    a, b = sem.predict(image, 2, d).scores, ins.predict(image, 2, d).scores
    assert a.shape == b.shape
    assert not np.allclose(a[1:], b[1:])
    with pytest.raises(UserError):
        Sam3Method(sam3=str(tiny_sam3), device="cpu", output="boxes")


def test_vision_runs_once_for_k_prompts(method, image):
    calls = count_vision_runs(method.grounder)
    method.predict(image, 4, ["Texture of a", "Texture of b", "Texture of c", "Texture of d"])
    assert calls[0] == 1
    method.predict(image, None, None)
    assert calls[0] == 2


def test_multiplexed_prompts_do_not_interact_but_joint_ones_do(method, image):
    g = method.grounder
    feats = g.encode_image(image)
    a = g.ground(feats, ["red brick wall", "green grass", "blue sky"])
    b = g.ground(feats, ["wooden floor", "green grass", "blue sky"])
    np.testing.assert_allclose(a[1:], b[1:], atol=1e-5)  # prompts 2, 3 unchanged
    assert np.abs(a[0] - b[0]).max() > 1e-3  # prompt 1 itself did change
    ja = g.ground_joint(feats, ["red brick wall", "green grass", "blue sky"])
    jb = g.ground_joint(feats, ["wooden floor", "green grass", "blue sky"])
    assert ja.shape == (3, 48, 70)
    assert np.abs(ja[1:] - jb[1:]).max() > 1e-3  # joint call: the others' text moves prompt 2's map


def test_proposals_blind_k_and_autonomous(method, image):
    pred = method.predict(image, 3, None)
    assert pred.scores.shape == (4, 48, 70)  # exactly K channels (missing ones at MISSING_LOGIT)
    assert pred.extras["mode"] == "proposals"
    auto = method.predict(image, None, None)
    n = auto.scores.shape[0] - 1
    assert 1 <= n <= 6
    assert len(auto.extras["proposal_scores"]) == n
    assert auto.extras["proposal_scores"] == sorted(auto.extras["proposal_scores"], reverse=True)


def test_stack_scores_pads_missing_channels():
    maps = np.ones((1, 2, 3), np.float32)
    out = stack_scores(maps, 0.5, k=3)
    assert out.shape == (4, 2, 3)
    assert np.all(out[0] == 0.5) and np.all(out[1] == 1) and np.all(out[2:] == MISSING_LOGIT)


def test_missing_weights_one_line(tmp_path):
    from benchmark.registry import build_method, get_method_spec

    spec = get_method_spec("sam3")
    with pytest.raises(MethodUnavailable) as err:
        build_method(spec, {"sam3": str(tmp_path / "nope"), "device": "cpu"})
    assert "\n" not in str(err.value) and "sam3" in str(err.value)
    # a missing folder is not told to `huggingface-cli download` a path
    assert "does not exist" in str(err.value) and "huggingface-cli" not in str(err.value)
    with pytest.raises(MethodUnavailable) as err:
        build_method(spec, {"sam3": "someone/not-downloaded-sam3", "device": "cpu"})
    assert "huggingface-cli download" in str(err.value) and "\n" not in str(err.value)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(UserError) as err:
        Sam3Method(sam3=str(broken), device="cpu")
    assert "\n" not in str(err.value)


def test_manifest_builds_through_registry(tiny_weights, image):
    from benchmark.registry import build_method, get_method_spec, smoke_params

    spec = get_method_spec("sam3")
    assert spec.weights["sam3"]["id"] == "facebook/sam3"
    params = smoke_params(spec, tiny_weights.root)
    m = build_method(spec, params)
    assert m.predict(image, 2, ["Texture of a b c d", "Texture of e f g h"]).scores.shape == (3, 48, 70)


def test_fixed_prompts_replace_descriptions(tiny_sam3, image):
    m = Sam3Method(sam3=str(tiny_sam3), device="cpu", prompts=["foreground texture", "background texture"])
    pred = m.predict(image, 3, ["Texture of a b c d", "Texture of e f g h", "Texture of i j k l"])
    assert pred.extras["prompts"] == ["foreground texture", "background texture", "background texture"]
    assert pred.scores.shape == (4, 48, 70)
    np.testing.assert_allclose(pred.scores[2], pred.scores[3], atol=1e-5)  # repeated phrase, same map
    with pytest.raises(UserError):
        Sam3Method(sam3=str(tiny_sam3), device="cpu", prompts="foreground texture")


def test_proposal_nms_drops_overlapping_masks(method, image):
    feats = method.grounder.encode_image(image[:32, :32])  # the tiny model's mask size: no resampling
    loose, _ = method.grounder.propose(
        feats, "texture regions", k=None, threshold=0.0, nms_iou=1.0, max_regions=10
    )
    strict, scores = method.grounder.propose(
        feats, "texture regions", k=None, threshold=0.0, nms_iou=0.0, max_regions=10
    )
    assert loose.shape[0] == 10 and 1 <= strict.shape[0] <= loose.shape[0]
    binary = strict > 0
    for i in range(len(strict)):
        for j in range(i):
            assert not (binary[i] & binary[j]).any()  # IoU 0 between kept masks


# ---- the Detecture authors' conventions (issue #11 item 3) -----------------------------------


def test_inverse_mode_gives_m_and_minus_m_from_one_prompt(tiny_sam3, image):
    m = Sam3Method(sam3=str(tiny_sam3), device="cpu", mode="inverse", prompts=["texture"])
    pred = m.predict(image, 2, ["Texture of GT a", "Texture of GT b"])  # GT text is never read
    assert pred.scores.shape == (3, 48, 70) and np.all(pred.scores[0] == 0.0)
    np.testing.assert_array_equal(pred.scores[2], -pred.scores[1])
    single = m.grounder.ground(m.grounder.encode_image(image), ["texture"])[0]
    np.testing.assert_allclose(pred.scores[1], single, atol=1e-5)  # channel 1 is the map of "texture"
    part = pred.partition()  # [m, -m, dustbin 0]: a binary split by the sign of m
    assert set(np.unique(part)) <= {1, 2} and ((part == 1) == (single > 0)).all()
    assert pred.extras["mode"] == "inverse" and pred.extras["prompts"] == ["texture"]
    assert m.predict(image, None, None).scores.shape == (3, 48, 70)
    with pytest.raises(ValueError, match="K=3"):
        m.predict(image, 3, None)
    for bad in (None, ["a", "b"]):
        with pytest.raises(UserError, match="inverse"):
            Sam3Method(sam3=str(tiny_sam3), device="cpu", mode="inverse", prompts=bad)


def test_proposal_mode_is_top_k_above_the_threshold_padded_to_k(tiny_sam3, image):
    kw = dict(sam3=str(tiny_sam3), device="cpu", mode="proposal", prompts=["texture regions"])
    m = Sam3Method(**kw, proposal_threshold=0.0)
    pred = m.predict(image, 3, None)
    scores = pred.extras["proposal_scores"]
    assert pred.scores.shape == (4, 48, 70) and len(scores) == 3 and pred.extras["n_padded"] == 0
    assert (
        scores == sorted(scores, reverse=True) and min(scores) > 0.0
    )  # threshold 0.0: every proposal passes
    maps, expect = m.grounder.propose(
        m.grounder.encode_image(image), "texture regions", k=3, threshold=0.0, nms_iou=1.0, strict=True
    )
    assert expect == pytest.approx(scores)
    np.testing.assert_allclose(pred.scores[1:], maps, atol=1e-5)  # each channel is a proposal's mask logit
    assert pred.extras["mode"] == "proposal" and pred.extras["prompt"] == "texture regions"
    # a threshold nothing passes: K missing-logit channels (all dustbin), or one without K
    none = Sam3Method(**kw, proposal_threshold=1.0)
    p2 = none.predict(image, 2, None)
    assert p2.scores.shape == (3, 48, 70) and np.all(p2.scores[1:] == MISSING_LOGIT)
    assert p2.extras["n_padded"] == 2 and p2.extras["proposal_scores"] == []
    assert (p2.partition() == 0).all()
    p0 = none.predict(image, None, None)
    assert p0.scores.shape == (2, 48, 70) and np.all(p0.scores[1] == MISSING_LOGIT)
    # without K: every proposal above 0.0, at most max_regions
    auto = Sam3Method(**kw, proposal_threshold=0.0, max_regions=4).predict(image, None, None)
    assert auto.scores.shape == (5, 48, 70)


def test_static_mode_uses_the_fixed_prompts_never_gt_text(tiny_sam3, image):
    m = Sam3Method(sam3=str(tiny_sam3), device="cpu", mode="static", prompts=["water surface"])
    a = m.predict(image, 1, ["Texture of the GT lake"])
    b = m.predict(image, 1, None)
    assert a.scores.shape == (2, 48, 70) and a.extras["prompts"] == ["water surface"]
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.descriptions is None
    c = m.predict(image, None, None)  # no K: one channel per prompt
    np.testing.assert_array_equal(c.scores, b.scores)
    with pytest.raises(UserError, match="needs prompts"):
        Sam3Method(sam3=str(tiny_sam3), device="cpu", mode="static")
    with pytest.raises(UserError, match="mode must be one of"):
        Sam3Method(sam3=str(tiny_sam3), device="cpu", mode="steelman")


def test_the_detecture_suites_run_sam3_in_the_authors_modes(tiny_sam3, tmp_path, monkeypatch):
    """The real sam3 (tiny weights) through `bench run --suite`: what it got, per dataset and suite."""
    import sys
    from pathlib import Path

    import pandas as pd

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmark"))
    from test_suites import REGION_COUNTS, write_folder

    from benchmark.runinfo import Given, RunInfo
    from benchmark.runner import RunConfig, run

    for folder in ("RWTD", "ADE20k_Detecture", "CAID"):
        write_folder(tmp_path / "data" / folder, REGION_COUNTS)
    monkeypatch.setenv("TEXTUREADE_DATA", str(tmp_path / "data"))
    options = {"sam3": str(tiny_sam3), "device": "cpu"}
    expect = {  # (suite, dataset): (mode, channels per image, given)
        ("detecture", "rwtd"): ("inverse", [2, 2, 2], Given("dataset", False, ["texture"])),
        ("detecture", "ade20k-detecture"): ("proposal", REGION_COUNTS, Given("gt", False, ["texture regions"])),
        ("detecture", "caid"): ("fixed-prompts", REGION_COUNTS, Given("gt", False, ["water surface"])),
        ("detecture-2026-04", "rwtd"): (
            "fixed-prompts", REGION_COUNTS, Given("gt", False, ["foreground texture", "background texture"])
        ),
    }  # fmt: skip
    for (suite, ds), (mode, channels, given) in expect.items():
        out = tmp_path / f"{suite}-{ds}"
        s = run(RunConfig(method="sam3", dataset=ds, out=out, suite=suite, options=options, progress=False))
        assert s.n_ok == 3, s.failures
        assert RunInfo.read(out / "run.json").given == given
        df = pd.read_parquet(out / "records.parquet")
        assert [json.loads(e)["mode"] for e in df["extras"]] == [mode] * 3
        assert df["dice_matched"].notna().all()  # score maps: the authors' scorer over all channels
        if mode == "proposal":
            assert [len(json.loads(e)["proposal_scores"]) for e in df["extras"]] == channels
