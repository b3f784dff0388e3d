"""MaskCLIP / SCLIP / ClearCLIP: tiny random CLIP saved and loaded back through the production path."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from baselines import _clip  # noqa: E402
from baselines.clip_dense import ClipDense  # noqa: E402
from baselines.testing.smoke import clip_dense as smoke_params  # noqa: E402
from benchmark.method import MethodUnavailable  # noqa: E402
from benchmark.registry import availability, build_method, load_method_specs  # noqa: E402
from textureade.errors import UserError  # noqa: E402

TEXTS = ["red brick wall with white mortar", "blue sky", "green grass lawn"]


@pytest.fixture(scope="module")
def tiny(tiny_weights):
    return smoke_params(tiny_weights.root)


@pytest.fixture(scope="module")
def loaded(tiny):
    model, tok, _ = _clip.load_clip(tiny["model"], None, "cpu", "float32")
    return model, tok


def _image(h=100, w=70, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("variant", _clip.VARIANTS)
def test_predict_shapes_and_dustbin(tiny, variant):
    method = ClipDense(variant=variant, **tiny)
    image = _image()
    pred = method.predict(image, 3, TEXTS)
    assert pred.scores.shape == (4, 100, 70) and pred.scores.dtype == np.float32
    assert np.all(pred.scores[0] == -100.0)
    assert np.isfinite(pred.scores).all()
    assert pred.descriptions == TEXTS and pred.extras["truncated_descriptions"] == 0
    labels = pred.partition()
    assert labels.min() >= 1 and labels.max() <= 3  # the dustbin never wins at its default
    # logits are logit_scale * cosine: bounded by the scale
    assert np.abs(pred.scores[1:]).max() <= 40.0 + 1e-4


def _hidden_before_last(model, px):
    out = model.vision_model(pixel_values=px, output_hidden_states=True)
    return out.hidden_states[-2]


def test_last_block_maskclip_is_self_only_attention(loaded):
    """MaskCLIP's value path = the unchanged HF block with each token attending only to itself."""
    model, _ = loaded
    layer = model.vision_model.encoder.layers[-1]
    x = torch.randn(2, 5, 32)
    mask = torch.full((5, 5), float("-inf")).fill_diagonal_(0.0)[None, None].expand(2, 1, 5, 5)
    with torch.no_grad():
        want = layer(x, mask)
        got = _clip.last_block(layer, x, "maskclip")
    assert torch.allclose(got, want, atol=1e-5)


def test_last_block_clearclip_and_sclip_match_hf_attention(loaded):
    """q-q attention = HF attention with k_proj replaced by q_proj; SCLIP adds the k-k term."""
    model, _ = loaded
    layer = model.vision_model.encoder.layers[-1]
    x = torch.randn(2, 5, 32)
    qq, kk = copy.deepcopy(layer), copy.deepcopy(layer)
    qq.self_attn.k_proj.load_state_dict(layer.self_attn.q_proj.state_dict())
    kk.self_attn.q_proj.load_state_dict(layer.self_attn.k_proj.state_dict())
    with torch.no_grad():
        y = layer.layer_norm1(x)
        a_qq = qq.self_attn(y, None)[0]
        a_kk = kk.self_attn(y, None)[0]
        assert torch.allclose(_clip.last_block(layer, x, "clearclip"), a_qq, atol=1e-5)
        h = x + a_qq + a_kk - layer.self_attn.out_proj.bias
        want = h + layer.mlp(layer.layer_norm2(h))
        assert torch.allclose(_clip.last_block(layer, x, "sclip"), want, atol=1e-5)


def test_dense_features_follow_hf_forward(loaded):
    """Up to the last block our path is the HF vision tower's; then post-LN + projection, normalised."""
    model, _ = loaded
    px = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        got = _clip.dense_features(model, px, "sclip")
        h = _clip.last_block(model.vision_model.encoder.layers[-1], _hidden_before_last(model, px), "sclip")
        tok = model.visual_projection(model.vision_model.post_layernorm(h[:, 1:]))
    want = torch.nn.functional.normalize(tok, dim=-1).transpose(1, 2).reshape(1, 16, 8, 8)
    assert got.shape == (1, 16, 8, 8)
    assert torch.allclose(got, want, atol=1e-5)
    # other sizes interpolate positions: 48 x 80 -> 6 x 10 patches
    with torch.no_grad():
        assert _clip.dense_features(model, torch.randn(1, 3, 48, 80), "clearclip").shape == (1, 16, 6, 10)


def test_sliding_windows_cover_and_average():
    assert _clip.window_origins(100, 64, 32) == [0, 32, 36]
    assert _clip.window_origins(50, 64, 32) == [0]
    x = torch.arange(3 * 90 * 130, dtype=torch.float32).reshape(1, 3, 90, 130)
    out = _clip.sliding_logits(lambda crops: crops[:, :2] * 2.0, x, crop=64, stride=32, batch_size=3)
    assert out.shape == (2, 90, 130)
    assert torch.allclose(out, x[0, :2] * 2.0)


def test_text_truncation_counted_and_templates_averaged(loaded):
    model, tok = loaded
    long = "a very long description of a wooden floor " * 10
    emb, truncated = _clip.encode_texts(model, tok, ["grass", long], ["{}"])
    assert emb.shape == (2, 16) and truncated == 1
    assert torch.allclose(emb.norm(dim=-1), torch.ones(2), atol=1e-5)
    twice, _ = _clip.encode_texts(model, tok, ["grass"], ["{}", "{}"])
    assert torch.allclose(twice[0], emb[0], atol=1e-5)
    other, _ = _clip.encode_texts(model, tok, ["grass"], ["a photo of {}."])
    assert not torch.allclose(other[0], emb[0], atol=1e-3)


def test_user_errors(tiny):
    with pytest.raises(UserError, match="variant"):
        ClipDense(variant="nope", **tiny)
    with pytest.raises(UserError, match="template"):
        ClipDense(templates=["no placeholder"], **tiny)
    method = ClipDense(**tiny)
    with pytest.raises(UserError, match="descriptions"):
        method.predict(_image(), 2, None)
    with pytest.raises(UserError, match="k=3"):
        method.predict(_image(), 3, ["a", "b"])


def test_manifests_registry_and_missing_weights(tmp_path, tiny):
    specs = load_method_specs()
    for name in ("maskclip", "sclip", "clearclip"):
        spec = specs[name]
        assert spec.params["variant"] == name and spec.protocols == ["oracle-k"]
        assert spec.weights["clip"]["param"] == "model"
    assert specs["clearclip"].params["crop"] == 448 and specs["clearclip"].params["logit_scale"] == 50.0
    # weights absent -> one line naming what to get and where to put it
    reason = availability(specs["sclip"], {"model": "someone/not-cached-clip"})
    assert reason and "\n" not in reason and "huggingface-cli download someone/not-cached-clip" in reason
    with pytest.raises(MethodUnavailable, match="--option model="):
        build_method(specs["maskclip"], {"model": "someone/not-cached-clip"})
    reason = availability(specs["maskclip"], {"model": str(tmp_path / "missing")})
    assert reason and "\n" not in reason and "missing" in reason
    # the tiny model through the registry (the harness smoke path)
    method = build_method(specs["clearclip"], dict(tiny))
    pred = method.predict(_image(40, 90), 2, TEXTS[:2])
    assert pred.scores.shape == (3, 40, 90) and pred.extras["variant"] == "clearclip"


def test_tiny_clip_round_trip(tiny_weights):
    path = tiny_weights.clip()
    model, tok, (mean, std) = _clip.load_clip(str(path), None, "cpu", None)
    assert model.config.vision_config.patch_size == 8 and len(mean) == 3 and len(std) == 3
    assert tok("ab")["input_ids"][0] == tok.convert_tokens_to_ids("<|startoftext|>")
