"""Training-free DETECTURE and the naive coupling, on a tiny random Qwen3-VL and a tiny random SAM 3.

Each of the three fixes has a test that fails when the fix is switched off.
"""

from __future__ import annotations

import string

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

import torch  # noqa: E402

from baselines._vlm_sam3 import as_description, parse_names, shorten  # noqa: E402
from baselines.detecture_zs import DetectureZS  # noqa: E402
from baselines.naive_coupling import NaiveCoupling, paint_in_order  # noqa: E402
from baselines.testing.smoke import vlm_sam3 as tiny_params  # noqa: E402
from benchmark.method import Method, MethodUnavailable  # noqa: E402
from textureade.errors import UserError  # noqa: E402

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def params(tiny_weights):
    return tiny_params(tiny_weights.root)


def printable_only(method: DetectureZS) -> None:
    """Make the random tiny VLM write letters, spaces, commas and newlines only (readable junk)."""
    tok = method.vlm.processor.tokenizer
    keep = set(string.ascii_letters + ",") | {"Ġ", "Ċ"}
    eos = method.vlm.model.generation_config.eos_token_id
    bad = [i for t, i in tok.get_vocab().items() if t not in keep and i != eos]
    bad += list(range(len(tok), method.vlm.model.config.text_config.vocab_size))
    method.vlm.model.generation_config.suppress_tokens = sorted(set(bad))
    # The tiny model's default init (std 0.02) makes its greedy text almost context-free; a wider
    # random init of the language model makes context matter, which the leakage test measures.
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, w in method.vlm.model.named_parameters():
            if w.dim() >= 2 and "language_model" in name:
                w.copy_(torch.randn(w.shape, generator=g) * 0.3)


@pytest.fixture(scope="module")
def method(params):
    m = DetectureZS(**params)
    assert m._vlm is None  # lazily loaded
    return m


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(1)
    img = np.zeros((40, 56, 3), np.uint8)
    img[:20] = (90, 140, 220)
    img[20:] = (60, 150, 60)
    return np.clip(img + rng.integers(0, 30, img.shape), 0, 255).astype(np.uint8)


def test_oracle_k_needs_no_vlm(method, image):
    d = ["Texture of clear blue sky, smooth, top half", "Texture of green grass lawn, dense blades, bottom"]
    pred = method.predict(image, 2, d)
    assert isinstance(method, Method)
    assert pred.scores.shape == (3, 40, 56) and np.all(pred.scores[0] == 0.0)
    assert pred.descriptions == d and pred.extras["prompts"] == d
    assert method._vlm is None
    printable_only(method)  # later tests use the VLM


def test_blind_and_autonomous_propose_texture_descriptions(method, image):
    pred = method.predict(image, 3, None)
    assert pred.scores.shape == (4, 40, 56)
    assert len(pred.descriptions) == 3 and all(d.startswith("Texture of ") for d in pred.descriptions)
    assert len(pred.extras["names"]) == 3
    assert set(pred.extras["timings"]) == {"vlm_generate", "sam3_vision", "sam3_text_decode"}
    auto = method.predict(image, None, None)
    assert 1 <= len(auto.descriptions) <= 6 and auto.scores.shape[0] == len(auto.descriptions) + 1


def test_fix1_isolation(method, image):
    a_names = ["red brick wall", "green grass"]
    b_names = ["blue sky above", "green grass"]  # region 1's text changes (same length: same padding)
    method.isolate = True
    try:
        iso_a, iso_b = method.describe_regions(image, a_names), method.describe_regions(image, b_names)
        assert iso_a[1] == iso_b[1]  # region 2's grounding input is unchanged
        assert method.grounding_prompts(iso_a)[0][1] == method.grounding_prompts(iso_b)[0][1]
        method.isolate = False
        leak_a, leak_b = method.describe_regions(image, a_names), method.describe_regions(image, b_names)
        assert leak_a[1] != leak_b[1]  # one causal context: region 1's text leaks into region 2
    finally:
        method.isolate = True


def test_fix2_multiplexing(method, image):
    feats = method.grounder.encode_image(image)
    a = ["Texture of red brick wall", "Texture of green grass", "Texture of blue sky"]
    b = ["Texture of old wooden floor", "Texture of green grass", "Texture of blue sky"]
    try:
        method.multiplex = True
        ma, mb = method.ground(image, feats, a, None), method.ground(image, feats, b, None)
        np.testing.assert_allclose(ma[1:], mb[1:], atol=1e-5)
        method.multiplex = False
        ja, jb = method.ground(image, feats, a, None), method.ground(image, feats, b, None)
        assert np.abs(ja[1:] - jb[1:]).max() > 1e-3
    finally:
        method.multiplex = True


def test_fix3_native_text_encoder(method, params, image, tmp_path):
    calls = [0]
    hook = method.grounder.model.text_encoder.register_forward_hook(
        lambda *a: calls.__setitem__(0, calls[0] + 1)
    )
    try:
        d = ["Texture of red brick wall, rough", "Texture of green grass, dense"]
        native = method.predict(image, 2, d)
        assert calls[0] >= 1  # the descriptions went through SAM 3's own text encoder
        with pytest.raises(UserError):
            DetectureZS(**{**params, "native_text": False})
        d_vlm = method.vlm.model.config.text_config.hidden_size
        d_sam = method.grounder.model.config.detr_encoder_config.hidden_size
        torch.save({"weight": torch.randn(d_sam, d_vlm), "bias": torch.zeros(d_sam)}, tmp_path / "proj.pt")
        projected = DetectureZS(**{**params, "native_text": False, "projector": str(tmp_path / "proj.pt")})
        projected.grounder = method.grounder  # same SAM 3 weights, same hook
        calls[0] = 0
        out = projected.predict(image, 2, d)
        assert calls[0] == 0  # the projector path bypasses SAM 3's text encoder
        assert not np.allclose(out.scores[1:], native.scores[1:])
    finally:
        hook.remove()


def test_bad_projector_is_one_line(params, tmp_path):
    torch.save({"weight": torch.zeros(3, 3)}, tmp_path / "p.pt")
    with pytest.raises(UserError) as err:
        DetectureZS(**{**params, "native_text": False, "projector": str(tmp_path / "p.pt")})
    assert "\n" not in str(err.value)


def test_vision_runs_once_per_image(method, image):
    calls = [0]
    hook = method.grounder.model.vision_encoder.register_forward_hook(
        lambda *a: calls.__setitem__(0, calls[0] + 1)
    )
    try:
        method.predict(image, 4, None)
        assert calls[0] == 1
    finally:
        hook.remove()


def test_rewrite_is_recorded(method, image):
    method.rewrite = "short"
    try:
        pred = method.predict(image, 1, ["Texture of weathered red brick, staggered courses, lower wall"])
    finally:
        method.rewrite = "none"
    assert pred.extras["prompts"] == ["weathered red brick"]
    assert pred.extras["rewrites"] == [
        ["Texture of weathered red brick, staggered courses, lower wall", "weathered red brick"]
    ]
    assert pred.descriptions[0].startswith("Texture of weathered")


def test_text_helpers():
    assert parse_names("REGION_1: Red brick\nREGION_2: red brick\n2. grass lawn\n\n###\n", 5) == [
        "Red brick",
        "grass lawn",
    ]
    assert parse_names("a\nb\nc", 2) == ["a", "b"]
    assert as_description(" rough  stone\nTEXTURE_2: x") == "Texture of rough stone"
    assert shorten("Texture of the old oak planks, brown, floor") == "old oak planks"


def test_naive_coupling_paints_in_order(params, image):
    maps = np.array([[[5.0, 5.0, -5.0]], [[-5.0, 5.0, -5.0]]])
    assert paint_in_order(maps).tolist() == [[1, 2, 0]]  # region 2 overwrites region 1
    naive = NaiveCoupling(**params)
    assert not naive.isolate and not naive.multiplex
    pred = naive.predict(image, 2, ["Texture of blue sky, smooth", "Texture of grass, green blades"])
    assert pred.label_map.shape == (40, 56) and pred.scores is None
    assert pred.label_map.max() <= 2 and pred.extras["painted"]


def test_missing_weights_one_line(params, tmp_path):
    from benchmark.registry import build_method, get_method_spec

    with pytest.raises(MethodUnavailable) as err:
        build_method(get_method_spec("detecture-zs"), {**params, "vlm": str(tmp_path / "no-vlm")})
    assert "vlm" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(MethodUnavailable) as err:
        build_method(get_method_spec("naive-coupling"), {**params, "vlm": "nobody/not-downloaded-vlm"})
    assert "huggingface-cli download" in str(err.value)


def test_a_vlm_folder_that_does_not_load_is_method_unavailable(params, image):
    # the VLM loads lazily (first blind/autonomous image); a folder holding another model (here
    # SAM 3's) must stop the run as MethodUnavailable, not fail every image one by one
    m = DetectureZS(**{**params, "vlm": params["sam3"]})
    with pytest.raises(MethodUnavailable) as err:
        m.predict(image, 2, None)
    assert "vlm" in str(err.value) and "\n" not in str(err.value)


def test_a_vlm_without_a_chat_template_is_method_unavailable(params, image, tmp_path):
    # every prompt goes through the chat template: a base checkpoint must stop the run in one line
    import json
    import shutil

    folder = tmp_path / "no-chat"
    shutil.copytree(params["vlm"], folder)
    for f in folder.glob("chat_template*"):
        f.unlink()
    for f in folder.glob("*_config.json"):
        cfg = json.loads(f.read_text())
        cfg.pop("chat_template", None)
        f.write_text(json.dumps(cfg))
    m = DetectureZS(**{**params, "vlm": str(folder)})
    with pytest.raises(MethodUnavailable, match="no chat template") as err:
        m.predict(image, 2, None)
    assert "\n" not in str(err.value)
