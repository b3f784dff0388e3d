"""LSeg: official checkpoint layout (full size on meta), ViT/DPT forward, safe Lightning loading, method (tiny)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("timm")

from baselines import lseg as ls  # noqa: E402
from baselines import lseg_arch as la  # noqa: E402
from baselines.safe_ckpt import load_torch_file  # noqa: E402
from baselines.testing.smoke import lseg as lseg_smoke_params  # noqa: E402
from baselines.testing.tiny_clip import tiny_lseg_config  # noqa: E402
from benchmark.registry import availability, build_method, load_method_specs  # noqa: E402
from textureade.errors import UserError  # noqa: E402

TEXTS = ["striped zebra fur", "dry savanna grass"]


@pytest.fixture(scope="module")
def tiny(tiny_weights):
    return lseg_smoke_params(tiny_weights.root)


@pytest.fixture(scope="module")
def method(tiny):
    return ls.LSeg(**tiny)


def test_full_size_layout_matches_our_model_on_meta():
    want = la.official_layout(la.VIT_L16)
    facts = {
        "net.pretrained.model.pos_embed": (1, 577, 1024),
        "net.pretrained.model.blocks.23.attn.qkv.weight": (3072, 1024),
        "net.pretrained.act_postprocess1.0.project.0.weight": (1024, 2048),
        "net.pretrained.act_postprocess1.4.weight": (256, 256, 4, 4),
        "net.pretrained.act_postprocess4.4.weight": (1024, 1024, 3, 3),
        "net.scratch.layer3_rn.weight": (256, 1024, 3, 3),
        "net.scratch.refinenet4.resConfUnit1.bn2.num_batches_tracked": (),
        "net.scratch.head1.weight": (512, 256, 1, 1),
        "net.clip_pretrained.token_embedding.weight": (49408, 512),
        "net.clip_pretrained.text_projection": (512, 512),
    }
    assert {k: want[k] for k in facts} == facts
    assert "net.pretrained.act_postprocess3.4.weight" not in want
    fake = {k: torch.empty(v, device="meta") for k, v in want.items()}
    assert ls.infer_config(fake, [5, 11, 17, 23], 16, 8) == la.VIT_L16
    converted = {k: tuple(v.shape) for k, v in la.convert_official(fake, la.VIT_L16).items()}
    with torch.device("meta"):
        net = la.build_lseg_net(la.VIT_L16, eos_token_id=49407)
    assert converted == {k: tuple(v.shape) for k, v in net.state_dict().items()}
    # the image tower is exactly timm's registered vit_large_patch16_384 (its classifier aside)
    import timm

    with torch.device("meta"):
        ref = timm.create_model("vit_large_patch16_384", pretrained=False)
    ref_shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items() if not k.startswith("head.")}
    assert ref_shapes == {k: tuple(v.shape) for k, v in net.pretrained.model.state_dict().items()}


def test_vit_levels_follow_timm_and_decoder_shapes(method):
    net = method.net
    x = torch.randn(1, 3, 64, 64)
    got = []
    hooks = [
        net.pretrained.model.blocks[i].register_forward_hook(lambda m, i, o: got.append(o)) for i in range(4)
    ]
    try:
        with torch.no_grad():
            net.pretrained.model.forward_features(x)
    finally:
        for h in hooks:
            h.remove()
    with torch.no_grad():
        ours = net.vit_levels(x)
        assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ours, got))
        assert net.pixel_embeddings(x).shape == (1, 16, 64, 64)
        assert net.pixel_embeddings(torch.randn(2, 3, 64, 96)).shape == (2, 16, 64, 96)


def test_logits_in_lsegs_order_normalise_at_half_resolution_then_upsample(method):
    # official LSeg.forward: head1 -> per-pixel normalise -> scale * cosine -> output_conv (2x bilinear,
    # align_corners) on the logits; normalising the upsampled embeddings instead gives other numbers
    F = torch.nn.functional
    net, x = method.net, torch.randn(1, 3, 64, 96)
    text = F.normalize(torch.randn(3, net.cfg.out_c), dim=-1)
    with torch.no_grad():
        half = F.normalize(net.head_embeddings(x), dim=1)
        assert half.shape == (1, net.cfg.out_c, 32, 48)
        want = la.LOGIT_SCALE * torch.einsum("bchw,kc->bkhw", half, text)
        want = F.interpolate(want, scale_factor=2, mode="bilinear", align_corners=True)
        got = net.logits(x, text)
        other = la.LOGIT_SCALE * torch.einsum(
            "bchw,kc->bkhw", F.normalize(net.pixel_embeddings(x), dim=1), text
        )
    assert got.shape == (1, 3, 64, 96) and torch.allclose(got, want, atol=1e-4)
    assert not torch.allclose(got, other, atol=1e-3)


def test_lightning_checkpoint_with_objects_loads_and_strict_check(tiny_weights, tmp_path):
    path = tiny_weights.lseg_checkpoint()
    obj, refused = load_torch_file(path, "lseg")
    assert refused == ["argparse.Namespace"] and obj["epoch"] == 200
    with pytest.raises(UserError, match="hooks"):
        ls.load_lseg_net(path, [0, 1, 2, 9], 2, 2, 513)
    sd = obj["state_dict"]
    sd["net.scratch.head1.weight"] = torch.zeros(16, 16, 3, 3)
    torch.save({"state_dict": sd}, tmp_path / "bad.ckpt")
    with pytest.raises(UserError, match=r"head1.weight has shape \(16, 16, 3, 3\)"):
        ls.load_lseg_net(tmp_path / "bad.ckpt", [0, 1, 2, 3], 2, 2, 513)
    del sd["net.scratch.head1.weight"]
    torch.save({"state_dict": sd}, tmp_path / "bad.ckpt")
    with pytest.raises(UserError, match="lacks 'net.scratch.head1.weight'"):
        ls.load_lseg_net(tmp_path / "bad.ckpt", [0, 1, 2, 3], 2, 2, 513)


def test_predict_logits_and_flip(method):
    image = np.random.default_rng(0).integers(0, 256, (50, 75, 3), dtype=np.uint8)
    pred = method.predict(image, 2, TEXTS)
    assert pred.scores.shape == (3, 50, 75) and np.all(pred.scores[0] == -100.0)
    assert np.abs(pred.scores[1:]).max() <= la.LOGIT_SCALE + 1e-3
    assert pred.extras["truncated_descriptions"] == 0
    # a mirror-symmetric image of exactly one window gives mirror-symmetric logits with flip averaging
    half = np.random.default_rng(1).integers(0, 256, (64, 32, 3), dtype=np.uint8)
    sym = np.concatenate([half, half[:, ::-1]], axis=1)
    saved = method.flip, method.long_side
    method.flip, method.long_side = True, 64
    try:
        out = method.predict(sym, 2, TEXTS).scores
    finally:
        method.flip, method.long_side = saved
    assert np.allclose(out, out[:, :, ::-1], atol=1e-4)


def test_a_tokenizer_larger_than_the_checkpoints_vocabulary_is_refused(tiny, tmp_path):
    # ids past the text tower's embedding table would fail every image with an IndexError
    obj, _ = load_torch_file(tiny["checkpoint"], "lseg")
    sd = obj["state_dict"]
    key = "net.clip_pretrained.token_embedding.weight"
    sd[key] = sd[key][:-2]
    torch.save({"state_dict": sd}, tmp_path / "small.ckpt")
    with pytest.raises(UserError, match="tokens, the checkpoint's text tower"):
        ls.LSeg(**{**tiny, "checkpoint": str(tmp_path / "small.ckpt")})


def test_manifest_and_missing_checkpoint(tiny):
    spec = load_method_specs()["lseg"]
    assert spec.protocols == ["oracle-k"] and spec.params["hooks"] == [5, 11, 17, 23]
    reason = availability(spec, {})
    assert (
        reason and "\n" not in reason and "demo_e200.ckpt" in reason and "--option checkpoint=PATH" in reason
    )
    assert tiny_lseg_config().hooks == (0, 1, 2, 3)
    method = build_method(spec, dict(tiny))
    assert method.predict(np.zeros((33, 47, 3), np.uint8), 2, TEXTS).scores.shape == (3, 33, 47)
