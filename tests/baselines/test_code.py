"""CoDe: official checkpoint layout, safe loading, prompt path, PAMR, and the method end to end (tiny)."""

from __future__ import annotations

import argparse
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from baselines import code_arch as ca  # noqa: E402
from baselines import code_seg as cs  # noqa: E402
from baselines.pamr import neighbours, pamr  # noqa: E402
from baselines.safe_ckpt import check_layout, load_state_dict, load_torch_file  # noqa: E402
from baselines.testing.smoke import code as code_smoke_params  # noqa: E402
from baselines.testing.tiny_clip import tiny_code_config  # noqa: E402
from benchmark.registry import availability, build_method, load_method_specs  # noqa: E402
from textureade.errors import UserError  # noqa: E402

TEXTS = ["rough grey stone", "smooth blue water", "green leafy hedge"]


@pytest.fixture(scope="module")
def tiny(tiny_weights):
    return code_smoke_params(tiny_weights.root)


@pytest.fixture(scope="module")
def method(tiny):
    return cs.CoDe(**tiny)


def test_full_size_layout_matches_our_model_on_meta():
    """ViT-B/16 official layout -> converted keys/shapes == our CoDeNet's state dict (no real allocation)."""
    want = ca.official_layout(ca.VIT_B16)
    assert want["clip_image_encoder.clip_visual.positional_embedding"] == (197, 768)
    assert want["clip_text_encoder.prompt_learner.ctx"] == (16, 512)
    assert want["clip_text_encoder.prompt_learner.clip_model.token_embedding.weight"] == (49408, 512)
    assert want["masker.image_encoder.decoder.decoder.net.1.conv.conv.weight"] == (768, 768, 3, 3)
    assert sum(k.startswith("clip_image_encoder.clip_visual.transformer.resblocks.") for k in want) == 12 * 12
    fake = {k: torch.empty(v, device="meta") for k, v in want.items()}
    assert ca.infer_config(fake, 12, 8) == ca.VIT_B16
    converted = {k: tuple(v.shape) for k, v in ca.convert_official(fake, ca.VIT_B16).items()}
    with torch.device("meta"):
        net = ca.build_net(ca.VIT_B16, eos_token_id=49407)
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items() if k != "clip.logit_scale"}
    assert converted == ours


def test_strict_layout_check(tiny_weights):
    sd = load_state_dict(tiny_weights.code_checkpoint(), "code")
    want = ca.official_layout(tiny_code_config())
    check_layout(sd, want, "code", ignore=ca.TRAINING_ONLY)
    missing = dict(sd)
    del missing["masker.sim2mask.w"]
    with pytest.raises(UserError, match="lacks 1 expected keys"):
        check_layout(missing, want, "code", ignore=ca.TRAINING_ONLY)
    with pytest.raises(UserError, match="unexpected keys, e.g. 'extra.head'"):
        check_layout({**sd, "extra.head": torch.zeros(1)}, want, "code", ignore=ca.TRAINING_ONLY)
    bad = {**sd, "clip_image_encoder.clip_proj.proj": torch.zeros(32, 17)}
    with pytest.raises(UserError, match=r"shape \(32, 17\), expected \(32, 16\)"):
        check_layout(bad, want, "code", ignore=ca.TRAINING_ONLY)


def test_checkpoint_without_clip_copies_falls_back_to_frozen_clip(tmp_path, tiny, method):
    """A checkpoint holding only ``frozen_clip`` (no encoder copies) loads to the very same network."""
    sd = load_state_dict(tiny["checkpoint"], "code")
    vis, pl, te = (
        "clip_image_encoder.clip_visual.",
        "clip_text_encoder.prompt_learner.clip_model.",
        "clip_text_encoder.text_encoder.",
    )
    lean = {}
    for key, value in sd.items():
        if key.startswith(vis):
            lean["frozen_clip.visual." + key[len(vis) :]] = value
        elif key.startswith("clip_image_encoder.clip_proj.ln."):
            lean["frozen_clip.visual.ln_post." + key.rsplit(".", 1)[1]] = value
        elif key == "clip_image_encoder.clip_proj.proj":
            lean["frozen_clip.visual.proj"] = value
        elif key.startswith(pl):
            lean["frozen_clip." + key[len(pl) :]] = value
        elif not key.startswith(te):
            lean[key] = value
    assert not any(k.startswith(("clip_image_encoder.", pl, te)) for k in lean)
    torch.save({"model": lean}, tmp_path / "lean.pth")
    net = ca.load_code_net(tmp_path / "lean.pth", 2, 2, method.tokenizer.eos_token_id)
    ours = method.net.state_dict()
    assert all(torch.equal(v, ours[k]) for k, v in net.state_dict().items() if k != "clip.logit_scale")


def test_safe_loader_never_runs_pickled_code(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "c.pth"
    torch.save({"model": {"w": torch.ones(2)}, "config": argparse.Namespace(a=1), "evil": Evil()}, path)
    obj, refused = load_torch_file(path, "t")
    assert not marker.exists()
    assert "argparse.Namespace" in refused and any(r.endswith(".system") for r in refused)
    assert torch.equal(load_state_dict(path, "t")["w"], torch.ones(2))
    torch.save({"model": {"w": torch.ones(1), "bad": Evil()}}, path)
    with pytest.raises(UserError, match="'bad' is a .*system, not a tensor"):
        load_state_dict(path, "t")
    assert not marker.exists()
    (tmp_path / "junk.pth").write_text("not a checkpoint")
    with pytest.raises(UserError, match="not a readable torch checkpoint"):
        load_state_dict(tmp_path / "junk.pth", "t")


def test_safe_loader_reads_safetensors_with_the_same_errors(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2)}, str(tmp_path / "c.safetensors"))
    assert torch.equal(load_state_dict(tmp_path / "c.safetensors", "t")["w"], torch.ones(2))
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="^t: .*junk.safetensors is not a readable safetensors file") as err:
        load_state_dict(tmp_path / "junk.safetensors", "t")
    assert "\n" not in str(err.value)
    for name in ("none.safetensors", "none.pth"):
        with pytest.raises(UserError, match=f"^t: checkpoint .*{name} not found$"):
            load_state_dict(tmp_path / name, "t")
    with pytest.raises(UserError, match="^t: no checkpoint given$"):
        load_state_dict("", "t")


def test_prompt_path_equals_hf_text_forward(method):
    """With ctx set to real token embeddings, the prompt path = transformers' own text forward."""
    net, tok = method.net, method.tokenizer
    ids = tok(["stone"], truncation=True, max_length=61)["input_ids"][0]
    ctx_ids = tok.convert_tokens_to_ids(["a</w>", "b</w>", "c</w>", "d</w>"])
    emb = net.clip.text_model.embeddings.token_embedding
    saved = net.ctx.data.clone(), net.prefix.clone()
    try:
        net.ctx.data = emb.weight[ctx_ids].detach().clone()
        net.prefix = emb.weight[ids[0]].detach().clone()[None, None]
        got, truncated = cs.prompt_text_features(net, tok, ["stone"])
        full = torch.tensor([[ids[0], *ctx_ids, *ids[1:]]])
        with torch.no_grad():
            want = net.clip.get_text_features(input_ids=full).pooler_output
        assert truncated == 0
        assert torch.allclose(got, torch.nn.functional.normalize(want, dim=-1), atol=1e-5)
    finally:
        net.ctx.data, net.prefix = saved
    _, truncated = cs.prompt_text_features(net, tok, ["x" * 72, "x" * 71])  # limit 77 - 4 = 73 tokens
    assert truncated == 1


def _pamr_reference(image, mask, dilations):
    """One PAMR iteration by explicit loops over pixels and neighbours (replicate borders)."""
    _, c, h, w = image.shape
    out = torch.zeros_like(mask)
    for y in range(h):
        for x in range(w):
            offs = [(dy, dx) for d in dilations for dy in (-d, 0, d) for dx in (-d, 0, d)]

            def at(t, dy, dx, y=y, x=x):
                return t[0, :, min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)]

            sigma = torch.stack([at(image, dy, dx) for dy, dx in offs]).std(dim=0)
            nb = [(dy, dx) for dy, dx in offs if (dy, dx) != (0, 0)]
            logits = torch.stack(
                [
                    (-(at(image, dy, dx) - image[0, :, y, x]).abs() / (1e-8 + 0.1 * sigma)).mean()
                    for dy, dx in nb
                ]
            )
            alpha = torch.softmax(logits, dim=0)
            out[0, :, y, x] = sum(a * at(mask, dy, dx) for a, (dy, dx) in zip(alpha, nb))
    return out


def test_pamr_matches_loop_reference_and_respects_edges():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 6, 7, generator=g)
    mask = torch.rand(1, 2, 6, 7, generator=g)
    assert neighbours(image, (1, 2), include_centre=True).shape == (1, 3, 18, 6, 7)
    assert torch.allclose(pamr(image, mask, 1, (1, 2)), _pamr_reference(image, mask, (1, 2)), atol=1e-5)
    # a constant mask stays constant; an image edge stops a mask from bleeding across it
    assert torch.allclose(
        pamr(image, torch.full((1, 1, 6, 7), 0.3), 5, (1, 2)), torch.full((1, 1, 6, 7), 0.3)
    )
    edge = torch.zeros(1, 3, 16, 16)
    edge[:, :, :, 8:] = 1.0
    edge += 0.01 * torch.rand(1, 3, 16, 16, generator=g)
    blob = torch.zeros(1, 1, 16, 16)
    blob[:, :, :, :8] = 1.0
    blob[:, :, 6:10, 8:10] = 1.0  # wrongly spills over the edge
    refined = pamr(edge, blob, 10, (1, 2))
    assert refined[0, 0, :, :8].mean() > 0.9 and refined[0, 0, :, 8:].mean() < 0.1


def test_predict_background_and_soft_masks(method):
    image = np.random.default_rng(0).integers(0, 256, (70, 110, 3), dtype=np.uint8)
    pred = method.predict(image, 3, TEXTS)
    assert pred.scores.shape == (4, 70, 110) and pred.scores.dtype == np.float32
    assert np.allclose(pred.scores[0], 0.4)
    assert pred.scores[1:].min() >= 0.0 and pred.scores[1:].max() <= 1.0
    assert pred.descriptions == TEXTS and pred.extras["truncated_descriptions"] == 0
    # the masks are independent per text: dropping a text leaves the others unchanged
    two = method.predict(image, 2, TEXTS[:2])
    assert np.allclose(two.scores[1:], pred.scores[1:3], atol=1e-5)


def test_manifest_and_missing_checkpoint(tiny, tmp_path):
    spec = load_method_specs()["code"]
    assert (
        spec.protocols == ["oracle-k"] and spec.params["bg_thresh"] == 0.4 and spec.params["pamr_iter"] == 10
    )
    reason = availability(spec, {})
    assert reason and "\n" not in reason and "--option checkpoint=PATH" in reason and "Google Drive" in reason
    reason = availability(spec, {"checkpoint": str(tmp_path / "nope.pth")})
    assert f"not found at {tmp_path / 'nope.pth'}" in reason
    method = build_method(spec, dict(tiny))
    assert method.predict(np.zeros((40, 40, 3), np.uint8), 1, ["sand"]).scores.shape == (2, 40, 40)
