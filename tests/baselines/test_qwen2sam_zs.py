"""qwen2sam-zs: the authors' prompts and parser, on a tiny Qwen3-VL + SAM 3 saved and loaded back offline."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

from baselines.qwen2sam_zs import (  # noqa: E402
    SYSTEM_PROMPT,
    Qwen2SamZS,
    fit_to_k,
    parse_descriptions,
    user_prompt,
)
from baselines.testing.smoke_detecture import qwen2sam_zs  # noqa: E402
from benchmark.registry import build_method, load_method_specs  # noqa: E402
from textureade.errors import UserError  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def tiny(tiny_weights):
    return tiny_weights  # the session's tiny models (tests/conftest.py)


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(1)
    img = np.zeros((40, 56, 3), np.uint8)
    img[:20] = (180, 60, 40)
    img[20:] = (40, 150, 60)
    return np.clip(img + rng.integers(0, 30, img.shape), 0, 255).astype(np.uint8)


def test_prompts_ask_for_exactly_k_lines():
    two = user_prompt(2)
    assert two.startswith("This image contains exactly TWO main visually distinct regions")
    assert two.endswith("TEXTURE_1: Texture of <description>\nTEXTURE_2: Texture of <description>")
    four = user_prompt(4)
    assert four.startswith("This image contains EXACTLY FOUR (4) visually distinct surface regions")
    assert "• Output EXACTLY 4 TEXTURE_i lines, no more, no less." in four
    assert four.count("TEXTURE_") == 5 and four.endswith("TEXTURE_4: Texture of <description>")
    assert user_prompt(9).startswith("This image contains EXACTLY 9 (9)")
    water = user_prompt(1, "water")
    assert (
        water.startswith("This image contains a water surface region.")
        and "EXACTLY 1 TEXTURE_i line(s)" in water
    )
    assert SYSTEM_PROMPT.startswith("You analyze surface textures in images.")
    with pytest.raises(UserError):
        user_prompt(2, "sky")


def test_parser_and_fallback_follow_the_authors():
    text = (
        "Sure.\nTEXTURE_1: Texture of red brick, lower half\ntexture_2 : Texture of grass\nTEXTURE_4: skipped"
    )
    assert parse_descriptions(text) == ["Texture of red brick, lower half", "Texture of grass"]  # stops at 3
    assert parse_descriptions("TEXTURE_2: only the second") == []
    assert fit_to_k(["a", "b", "c"], 2) == (["a", "b"], 0)
    assert fit_to_k(["a"], 3) == (["a", "uniform surface region 1", "uniform surface region 2"], 2)
    assert fit_to_k([], 1) == (["uniform surface region 1"], 1)


@pytest.fixture(scope="module")
def fitted(tiny, image):
    """A 160-wide tiny Qwen3-VL whose output layer is fitted so that, for this image and K=2, greedy
    decoding of the method's own inputs writes two TEXTURE lines (a real model generating real text)."""
    from textureade.testing.tiny_vlm import fit_answers

    params = {**qwen2sam_zs(tiny.root), "on_parse_failure": "fail", "max_new_tokens": 700}
    params["vlm"] = str(
        tiny.vlm("qwen3_vl", hidden_size=160)
    )  # in memory only: fitting does not touch the folder
    method = build_method(load_method_specs()["qwen2sam-zs"], params)
    answer = "TEXTURE_1: Texture of red bricks\nTEXTURE_2: Texture of grass"
    fit_answers(
        method.vlm.model,
        method.vlm.processor.tokenizer,
        dict(method.vlm_inputs(image, 2)),
        [answer],
        "<|im_end|>",
    )
    return method, answer


def test_one_call_k_lines_one_sam3_row_each(fitted, image):
    method, answer = fitted
    assert isinstance(method, Qwen2SamZS) and method.max_new_tokens == 700
    pred = method.predict(image, 2, ["Texture of GT text", "never used"])
    assert pred.extras["raw_answer"] == answer
    assert pred.descriptions == ["Texture of red bricks", "Texture of grass"] == pred.extras["prompts"]
    assert pred.extras["n_parsed"] == 2 and pred.extras["n_fallback"] == 0
    assert pred.scores.shape == (3, 40, 56) and np.all(pred.scores[0] == 0.0)
    feats = method.grounder.encode_image(image)
    np.testing.assert_allclose(pred.scores[1:], method.grounder.ground(feats, pred.descriptions), atol=1e-5)


def test_fewer_lines_than_k_are_padded_more_are_cut(fitted, image, monkeypatch):
    method, _ = fitted
    monkeypatch.setattr(method, "generate", lambda img, k: "TEXTURE_1: Texture of bricks\nTEXTURE_3: lost")
    pred = method.predict(image, 3, None)
    assert pred.descriptions == ["Texture of bricks", "uniform surface region 1", "uniform surface region 2"]
    assert pred.scores.shape == (4, 40, 56) and (pred.extras["n_parsed"], pred.extras["n_fallback"]) == (1, 2)
    monkeypatch.setattr(method, "generate", lambda img, k: "TEXTURE_1: a\nTEXTURE_2: b\nTEXTURE_3: c")
    assert method.predict(image, 2, None).descriptions == ["a", "b"]


def test_junk_answer_fails_the_image_or_takes_the_fallback(tiny, image):
    params = qwen2sam_zs(tiny.root)
    fallback = Qwen2SamZS(**params)
    pred = fallback.predict(image, 2, None)
    assert pred.extras["n_parsed"] == 0
    assert pred.descriptions == ["uniform surface region 1", "uniform surface region 2"]
    strict = Qwen2SamZS(**{**params, "on_parse_failure": "fail"})
    with pytest.raises(RuntimeError, match="qwen_parse_failed"):
        strict.predict(image, 2, None)
    with pytest.raises(UserError, match="needs K"):
        strict.predict(image, None, None)
