"""Grounded-SAM3: tiny random Grounding DINO + SAM 3 saved and loaded back through the production path."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

from baselines._sam3 import MISSING_LOGIT  # noqa: E402
from baselines.grounded_sam3 import GroundedSam3, dino_text, xyxy_to_cxcywh_norm  # noqa: E402
from baselines.testing.smoke_detecture import grounded_sam3  # noqa: E402
from benchmark.method import Method, MethodUnavailable  # noqa: E402
from benchmark.registry import availability, build_method, load_method_specs  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def tiny(tiny_weights):
    return tiny_weights  # the session's tiny models (tests/conftest.py)


@pytest.fixture(scope="module")
def params(tiny):
    return grounded_sam3(tiny.root)


@pytest.fixture(scope="module")
def method(params):
    return build_method(load_method_specs()["grounded-sam3"], params)


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    img = np.zeros((48, 70, 3), np.uint8)
    img[:, :35] = (200, 40, 40)
    img[:, 35:] = (30, 160, 50)
    return np.clip(img + rng.integers(0, 40, img.shape), 0, 255).astype(np.uint8)


def test_phrase_string_and_box_conversion():
    assert (
        dino_text(["foreground texture", "background texture"]) == "foreground texture . background texture ."
    )
    assert dino_text(["water surface"]) == "water surface ."
    assert dino_text(["texture regions ."]) == "texture regions ."
    assert xyxy_to_cxcywh_norm((10, 20, 30, 60), height=100, width=50) == pytest.approx([0.4, 0.4, 0.4, 0.4])


def test_built_from_the_manifest(method):
    assert isinstance(method, Method) and isinstance(method, GroundedSam3)
    assert method.text == "texture regions ."
    assert (method.box_threshold, method.text_threshold, method.max_n, method.inverse_k2) == (
        0.2,
        0.2,
        6,
        True,
    )


def test_k2_is_top1_box_and_its_inverse(method, image):
    boxes, _ = method.detect(image)
    assert len(boxes) >= 1  # the random detector scores well above 0.2
    pred = method.predict(image, 2, None)
    assert pred.scores.shape == (3, 48, 70) and np.all(pred.scores[0] == 0.0)
    np.testing.assert_array_equal(pred.scores[2], -pred.scores[1])
    np.testing.assert_allclose(
        pred.scores[1], method.box_maps(method.grounder.encode_image(image), boxes[:1])[0]
    )
    assert pred.extras["mode"] == "top1-inverse" and pred.extras["n_padded"] == 0
    assert pred.extras["kept_boxes_xyxy"] == [[float(v) for v in boxes[0]]]


def test_boxes_are_the_only_prompt_and_rows_are_independent(method, image):
    feats = method.grounder.encode_image(image)
    boxes = np.array([[0, 0, 20, 20], [30, 10, 70, 48], [5, 5, 60, 40]], np.float32)
    both = method.box_maps(feats, boxes)
    assert both.shape == (3, 48, 70) and np.isfinite(both).all()
    assert not np.allclose(both[0], both[1])  # the box moves the map
    np.testing.assert_allclose(method.box_maps(feats, boxes[1:2])[0], both[1], atol=1e-4)


def test_known_k_pads_missing_boxes_with_the_missing_logit(method, image, monkeypatch):
    one = (np.array([[5.0, 5.0, 40.0, 30.0]], np.float32), np.array([0.7], np.float32))
    monkeypatch.setattr(method, "detect", lambda img: one)
    pred = method.predict(image, 3, None)
    assert pred.scores.shape == (4, 48, 70)
    assert np.all(pred.scores[2:] == MISSING_LOGIT) and not np.all(pred.scores[1] == MISSING_LOGIT)
    assert pred.extras["mode"] == "top-k" and pred.extras["n_padded"] == 2 and pred.extras["n_detected"] == 1


def test_no_detection(method, image, monkeypatch):
    none = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    monkeypatch.setattr(method, "detect", lambda img: none)
    k2 = method.predict(image, 2, None)  # inverse mode: both channels missing
    assert k2.scores.shape == (3, 48, 70) and np.all(k2.scores[1:] == MISSING_LOGIT)
    blind = method.predict(image, None, None)  # no K: one empty channel, as the authors fabricate
    assert blind.scores.shape == (2, 48, 70) and np.all(blind.scores[1] == MISSING_LOGIT)
    assert blind.extras["mode"] == "no-k-peek" and blind.extras["n_padded"] == 1


def test_no_k_keeps_at_most_max_n_boxes_without_padding(params, image):
    capped = GroundedSam3(**{**params, "max_n": 2})
    n_det = len(capped.detect(image)[0])
    assert n_det > 2
    pred = capped.predict(image, None, None)
    assert pred.scores.shape == (3, 48, 70) and pred.extras["n_padded"] == 0
    assert pred.extras["kept_scores"] == sorted(pred.extras["kept_scores"], reverse=True)
    # without the inverse trick K=2 takes the top-2 boxes
    plain = GroundedSam3(
        **{**params, "inverse_k2": False, "prompts": ["foreground texture", "background texture"]}
    )
    assert plain.text == "foreground texture . background texture ."
    two = plain.predict(image, 2, None)
    assert two.extras["mode"] == "top-k" and len(two.extras["kept_boxes_xyxy"]) == 2


def test_a_threshold_above_every_score_detects_nothing(params, image):
    strict = GroundedSam3(**{**params, "box_threshold": 1.01})
    assert len(strict.detect(image)[0]) == 0
    assert np.all(strict.predict(image, 1, None).scores[1] == MISSING_LOGIT)


def test_missing_detector_weights_is_one_line(params, tmp_path):
    spec = load_method_specs()["grounded-sam3"]
    reason = availability(spec, {**params, "dino": str(tmp_path / "nope")})
    assert reason and "dino weights" in reason and "--option dino=" in reason and "\n" not in reason
    with pytest.raises(MethodUnavailable):
        build_method(spec, {**params, "dino": str(tmp_path / "nope")})
