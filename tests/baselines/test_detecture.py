"""The trained DETECTURE: published checkpoint layout, strict loading, block-diagonal reading, inference.

Tiny random Qwen3-VL + tiny random SAM 3 + a random checkpoint written in the published key layout.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

import torch  # noqa: E402

from baselines import detecture_arch as arch  # noqa: E402
from baselines.detecture import Detecture, assistant_text, parse_lines  # noqa: E402
from baselines.lora import LoraLinear, apply_lora  # noqa: E402
from baselines.testing.smoke import detecture as tiny_params  # noqa: E402
from benchmark.method import MethodUnavailable  # noqa: E402
from textureade.errors import UserError  # noqa: E402

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def params(tiny_weights):
    return tiny_params(tiny_weights.root)


@pytest.fixture(scope="module")
def model(params):
    return Detecture(**params)


@pytest.fixture(scope="module")
def state(params):
    return torch.load(params["checkpoint"], weights_only=True)["model_trainable"]


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(2)
    return rng.integers(0, 255, (36, 52, 3), dtype=np.uint8)


def test_published_key_layout():
    keys = arch.published_keys(2)
    assert len(keys) == 13 + 4 * 2
    assert (
        "qwen.base_model.model.model.language_model.layers.1.self_attn.v_proj.lora_B.default.weight" in keys
    )
    assert {"bridge.proj.0.weight", "bridge.proj.1.bias", "mask_head.query_mlp.2.weight"} <= keys
    assert {"mask_head.pixel_head.weight", "dustbin_embed", arch.EMBED_KEY, arch.LM_HEAD_KEY} <= keys


def test_round_trip_loads_every_tensor(model, state):
    seen = 0
    for name, module in model.qwen.named_modules():
        if isinstance(module, LoraLinear):
            for ab in ("A", "B"):
                want = state[f"{arch.PEFT_PREFIX}{name}.lora_{ab}.default.weight"]
                torch.testing.assert_close(getattr(module, f"lora_{ab}").weight.detach(), want)
                seen += 1
    assert seen == 4 * model.qwen.config.text_config.num_hidden_layers
    for key, value in model.heads.state_dict().items():
        torch.testing.assert_close(value, state[key])
    torch.testing.assert_close(model.qwen.get_input_embeddings().weight.detach(), state[arch.EMBED_KEY])
    torch.testing.assert_close(model.qwen.get_output_embeddings().weight.detach(), state[arch.LM_HEAD_KEY])
    assert model.seg_id == state[arch.EMBED_KEY].shape[0] - 1  # <|seg|> is the last row


def test_key_mismatch_is_one_line(state, tmp_path):
    bad = dict(state)
    bad.pop("bridge.proj.0.weight")
    bad["sam3_lora.extra.weight"] = torch.zeros(1)
    torch.save({"model_trainable": bad}, tmp_path / "bad.pt")
    with pytest.raises(UserError) as err:
        arch.read_checkpoint(tmp_path / "bad.pt", 2)
    msg = str(err.value)
    assert "\n" not in msg and "bridge.proj.0.weight" in msg and "sam3_lora.extra.weight" in msg
    with pytest.raises(UserError, match="2-layer"):
        arch.read_checkpoint(tmp_path / "bad.pt", 2)
    with pytest.raises(UserError) as err:  # a checkpoint for another depth
        arch.read_checkpoint(tmp_path / "bad.pt", 3)
    assert "layers.2" in str(err.value)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError) as err:
        arch.read_checkpoint(tmp_path / "junk.pt", 2)
    assert "\n" not in str(err.value)


def test_shape_mismatch_is_one_line(params, state, tmp_path):
    bad = dict(state)
    bad["bridge.proj.0.weight"] = torch.zeros(7, 5)
    torch.save({"model_trainable": bad}, tmp_path / "shape.pt")
    with pytest.raises(UserError) as err:
        Detecture(**{**params, "checkpoint": str(tmp_path / "shape.pt")})
    assert "\n" not in str(err.value) and "does not fit" in str(err.value)


def test_flat_safetensors_loads(params, state, tmp_path):
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "ckpt.safetensors"))
    assert set(arch.read_checkpoint(tmp_path / "ckpt.safetensors", 2)) == arch.published_keys(2)


def test_missing_checkpoint_is_unavailable(params, tmp_path):
    from benchmark.registry import build_method, get_method_spec

    for ckpt in (None, str(tmp_path / "none.pt")):
        with pytest.raises(MethodUnavailable) as err:
            build_method(get_method_spec("detecture"), {**params, "checkpoint": ckpt})
        assert "--option checkpoint=PATH" in str(err.value) and "\n" not in str(err.value)
        assert "best.pt" in str(err.value)  # names the file to get


def test_block_diagonal_mask_pattern():
    seg, start = 9, 2
    ids = torch.tensor([1, 1, 5, 9, 6, 6, 9, 7])  # prefix 0-1, block1 2-3, block2 4-6, tail 7
    allowed = arch.block_diagonal_mask(ids, seg, start, torch.float32)[0, 0] == 0
    assert allowed[5, 0] and allowed[5, 1] and allowed[5, 4] and allowed[5, 5]
    assert not allowed[5, 2] and not allowed[5, 3] and not allowed[6, 3]  # block 2 cannot see block 1
    assert allowed[3, 2] and not allowed[3, 4]  # causal inside block 1
    assert allowed[7].sum() == 8  # tokens after the last block see everything before them


def test_seg_state_isolation(model, image):
    d1a, d1b, d2 = "Texture of red brick wall", "Texture of blue sky above", "Texture of green grass"
    try:
        model.block_diagonal = True
        a, _, _ = model.read(image, 2, [d1a, d2])
        b, _, _ = model.read(image, 2, [d1b, d2])
        torch.testing.assert_close(a[1], b[1], atol=1e-5, rtol=1e-5)  # region 2 blind to region 1
        assert not torch.allclose(a[0], b[0], atol=1e-4)
        model.block_diagonal = False
        ca, _, _ = model.read(image, 2, [d1a, d2])
        cb, _, _ = model.read(image, 2, [d1b, d2])
        assert not torch.allclose(ca[1], cb[1], atol=1e-4)  # causal: region 1's text leaks in
    finally:
        model.block_diagonal = True


def test_oracle_k_predict_and_vision_once(model, image):
    calls = [0]
    hook = model.grounder.model.vision_encoder.register_forward_hook(
        lambda *a: calls.__setitem__(0, calls[0] + 1)
    )
    try:
        d = [
            "Texture of red brick wall, rough, left",
            "Texture of grass, green, right",
            "Texture of sky, blue",
        ]
        pred = model.predict(image, 3, d)
    finally:
        hook.remove()
    assert calls[0] == 1
    assert pred.scores.shape == (4, 36, 52) and np.isfinite(pred.scores).all()
    assert pred.descriptions == d and pred.extras["k_pred"] == 3
    assert set(pred.extras["timings"]) == {"vlm_generate", "sam3_vision", "sam3_text_decode"}


def test_multiplexed_slots_are_independent(model, image):
    feats = model.grounder.encode_image(image)
    states = torch.randn(3, model.qwen.config.text_config.hidden_size)
    other = states.clone()
    other[0] += 1.0
    a, b = model.mask_logits(feats, states), model.mask_logits(feats, other)
    assert a.shape[0] == 4
    torch.testing.assert_close(a[[0, 2, 3]], b[[0, 2, 3]])  # dustbin and slots 2, 3 unchanged
    assert not torch.allclose(a[1], b[1])


def test_autonomous_runs(model, image):
    pred = model.predict(image, None, None)
    assert pred.scores.shape[0] == pred.extras["k_pred"] + 1 <= 7
    assert "generated_text" in pred.extras


def test_text_format_helpers():
    text = assistant_text(["Texture of a b", "Texture of c"])
    assert text == "TEXTURE_1: Texture of a b <|seg|>\nTEXTURE_2: Texture of c <|seg|>"
    assert parse_lines(text + "\nnoise") == ["Texture of a b", "Texture of c"]


def test_lora_wrapper_math():
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("q_proj", torch.nn.Linear(6, 4))
    net.add_module("k_proj", torch.nn.Linear(6, 4))
    x = torch.randn(3, 6)
    ref = net.q_proj(x)
    assert apply_lora(net, ("q_proj", "v_proj"), r=2, alpha=4) == ["q_proj"]
    torch.testing.assert_close(net.q_proj(x), ref)  # B starts at zero
    net.q_proj.lora_B.weight.data.normal_()
    want = ref + 2.0 * x @ net.q_proj.lora_A.weight.T @ net.q_proj.lora_B.weight.T
    torch.testing.assert_close(net.q_proj(x), want)
    assert isinstance(net.k_proj, torch.nn.Linear) and not isinstance(net.k_proj, LoraLinear)


def test_vlm_sees_1008_square(model, image):
    """The Qwen processor gets the image resized to 1008x1008 (the authors' training/eval input)."""
    seen, real = [], model.processor

    class Spy:
        def __getattr__(self, name):
            return getattr(real, name)

        def __call__(self, *args, **kwargs):
            seen.append(np.asarray(kwargs["images"][0]).shape)
            return real(*args, **kwargs)

    model.processor = Spy()
    try:
        model.predict(image, 2, ["Texture of red brick", "Texture of blue sky"])
    finally:
        model.processor = real
    assert seen and all(s == (1008, 1008, 3) for s in seen)
    assert model.vlm_image(image).shape == (1008, 1008, 3)
