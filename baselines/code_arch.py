"""CoDe's architecture and official checkpoint layout (our code; facts from the official repo).

:func:`official_layout` is the key -> shape table of the official ``ImageTextCoDecomposition``
state dict parts inference uses, derived from reading github:072jiajia/Image-Text-Co-Decomposition
(models/tcl/*.py, sclip/model.py); :func:`convert_official` maps it onto :class:`CoDeNet`, built
from transformers' ``CLIPModel`` / ``CLIPEncoderLayer`` plus the masker decoder written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from baselines._clip_blocks import openai_block_layout, openai_block_to_hf
from textureade.errors import UserError


@dataclass(frozen=True)
class CoDeConfig:
    """Sizes of the CoDe model (ViT-B/16 by default: ``VIT_B16``)."""

    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    patch: int = 16
    grid: int = 14  # positions = grid^2 + 1
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    vocab: int = 49408
    context: int = 77
    embed_dim: int = 512
    n_ctx: int = 16
    decoder_layers: int = 2


VIT_B16 = CoDeConfig()

# Parts of the saved training model that inference does not use (the official eval loads them too).
TRAINING_ONLY = (
    "frozen_clip.",
    "text_decoder.",
    "text_mask_w",
    "text_mask_b",
    "bg_text",
    "learnable_image_bg",
    "pamr.",
    "tcli_loss.",
    "tclf_loss.",
    "hcl_loss.",
)


def _text_tower(prefix: str, c: CoDeConfig) -> dict[str, tuple[int, ...]]:
    out = {prefix + "positional_embedding": (c.context, c.text_width)}
    for i in range(c.text_layers):
        out.update(openai_block_layout(f"{prefix}transformer.resblocks.{i}.", c.text_width))
    out[prefix + "ln_final.weight"] = (c.text_width,)
    out[prefix + "ln_final.bias"] = (c.text_width,)
    out[prefix + "text_projection"] = (c.text_width, c.embed_dim)
    return out


def official_layout(c: CoDeConfig = VIT_B16) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the official ``ImageTextCoDecomposition`` state dict parts inference uses.

    From models/tcl/{noun_decomposition,encoders,masker,decoders,modules,prompter}.py: the image
    encoder's ``ln_post``/``proj`` are moved into ``clip_proj`` (LN + matrix), the masker backbone
    is ``resblocks[11:]`` with Identity LN and no projection, the text prompter holds its CLIP text
    tower twice (``prompt_learner.clip_model`` and the shared modules of ``text_encoder``).
    """
    w, vis = c.vision_width, "clip_image_encoder.clip_visual."
    out = {
        vis + "conv1.weight": (w, 3, c.patch, c.patch),
        vis + "class_embedding": (w,),
        vis + "positional_embedding": (c.grid * c.grid + 1, w),
        vis + "ln_pre.weight": (w,),
        vis + "ln_pre.bias": (w,),
    }
    for i in range(c.vision_layers):
        out.update(openai_block_layout(f"{vis}transformer.resblocks.{i}.", w))
    out.update(
        {
            "clip_image_encoder.clip_proj.ln.weight": (w,),
            "clip_image_encoder.clip_proj.ln.bias": (w,),
            "clip_image_encoder.clip_proj.proj": (w, c.embed_dim),
        }
    )
    out.update(openai_block_layout("masker.image_encoder.backbone.transformer.resblocks.0.", w))
    dec = "masker.image_encoder.decoder."
    for i in range(c.decoder_layers):
        p = f"{dec}decoder.net.{i}.conv."
        out.update({p + "norm.weight": (w,), p + "norm.bias": (w,), p + "conv.weight": (w, w, 3, 3)})
        out.update({p + "conv.bias": (w,), p + "gate.gate": ()})
    out.update({dec + "image_proj.ln.weight": (w,), dec + "image_proj.ln.bias": (w,)})
    out[dec + "image_proj.proj"] = (w, c.embed_dim)
    out.update({"masker.sim2mask.w": (), "masker.sim2mask.b": ()})
    pl = "clip_text_encoder.prompt_learner."
    out.update({pl + "token_prefix": (1, 1, c.text_width), pl + "ctx": (c.n_ctx, c.text_width)})
    out[pl + "clip_model.token_embedding.weight"] = (c.vocab, c.text_width)
    out.update(_text_tower(pl + "clip_model.", c))
    out.update(_text_tower("clip_text_encoder.text_encoder.", c))
    return out


def infer_config(sd: dict[str, Any], vision_heads: int, text_heads: int) -> CoDeConfig:
    """Sizes read off the checkpoint's tensors (heads are not recoverable from shapes: given)."""
    vis = "clip_image_encoder.clip_visual."
    try:
        conv = sd[vis + "conv1.weight"]
        n_pos = sd[vis + "positional_embedding"].shape[0] - 1
        tok = sd["clip_text_encoder.prompt_learner.clip_model.token_embedding.weight"]
        pos = sd["clip_text_encoder.text_encoder.positional_embedding"]
        proj = sd["clip_image_encoder.clip_proj.proj"]
        ctx = sd["clip_text_encoder.prompt_learner.ctx"]
    except KeyError as exc:
        raise UserError(
            f"code: checkpoint lacks {exc.args[0]!r}; is it the official CoDe checkpoint.pth?"
        ) from None

    def count(prefix: str) -> int:
        return len({k[len(prefix) :].split(".")[0] for k in sd if k.startswith(prefix)})

    return CoDeConfig(
        vision_width=conv.shape[0],
        vision_layers=count(vis + "transformer.resblocks."),
        vision_heads=vision_heads,
        patch=conv.shape[-1],
        grid=round(n_pos**0.5),
        text_width=tok.shape[1],
        text_layers=count("clip_text_encoder.text_encoder.transformer.resblocks."),
        text_heads=text_heads,
        vocab=tok.shape[0],
        context=pos.shape[0],
        embed_dim=proj.shape[1],
        n_ctx=ctx.shape[0],
        decoder_layers=count("masker.image_encoder.decoder.decoder.net."),
    )


def convert_official(sd: dict[str, Any], c: CoDeConfig) -> dict[str, Any]:
    """Official CoDe state dict -> our :class:`CoDeNet` keys (the duplicate text tower is dropped)."""
    vis, out = "clip_image_encoder.clip_visual.", {}
    emb = "clip.vision_model.embeddings."
    out[emb + "patch_embedding.weight"] = sd[vis + "conv1.weight"]
    out[emb + "class_embedding"] = sd[vis + "class_embedding"]
    out[emb + "position_embedding.weight"] = sd[vis + "positional_embedding"]
    for t in ("weight", "bias"):
        out[f"clip.vision_model.pre_layrnorm.{t}"] = sd[f"{vis}ln_pre.{t}"]
        out[f"clip.vision_model.post_layernorm.{t}"] = sd[f"clip_image_encoder.clip_proj.ln.{t}"]
        out[f"clip.text_model.final_layer_norm.{t}"] = sd[f"clip_text_encoder.text_encoder.ln_final.{t}"]
        out[f"proj_ln.{t}"] = sd[f"masker.image_encoder.decoder.image_proj.ln.{t}"]
    for i in range(c.vision_layers):
        openai_block_to_hf(
            sd, f"{vis}transformer.resblocks.{i}.", f"clip.vision_model.encoder.layers.{i}.", out
        )
    out["clip.visual_projection.weight"] = sd["clip_image_encoder.clip_proj.proj"].t()
    te = "clip_text_encoder.text_encoder."
    for i in range(c.text_layers):
        openai_block_to_hf(sd, f"{te}transformer.resblocks.{i}.", f"clip.text_model.encoder.layers.{i}.", out)
    out["clip.text_model.embeddings.position_embedding.weight"] = sd[te + "positional_embedding"]
    tok = "clip_text_encoder.prompt_learner.clip_model.token_embedding.weight"
    out["clip.text_model.embeddings.token_embedding.weight"] = sd[tok]
    out["clip.text_projection.weight"] = sd[te + "text_projection"].t()
    openai_block_to_hf(sd, "masker.image_encoder.backbone.transformer.resblocks.0.", "masker_block.", out)
    for i in range(c.decoder_layers):
        p = f"masker.image_encoder.decoder.decoder.net.{i}.conv."
        for a, b in (("norm.weight", "norm.weight"), ("norm.bias", "norm.bias"), ("gate.gate", "gate")):
            out[f"decoder.{i}.{b}"] = sd[p + a]
        out[f"decoder.{i}.conv.weight"], out[f"decoder.{i}.conv.bias"] = (
            sd[p + "conv.weight"],
            sd[p + "conv.bias"],
        )
    out["proj"] = sd["masker.image_encoder.decoder.image_proj.proj"]
    out["sim_w"], out["sim_b"] = sd["masker.sim2mask.w"], sd["masker.sim2mask.b"]
    out["ctx"] = sd["clip_text_encoder.prompt_learner.ctx"]
    out["prefix"] = sd["clip_text_encoder.prompt_learner.token_prefix"]
    return out


def hf_clip_config(c: CoDeConfig, eos_token_id: int, bos_token_id: int | None = None) -> Any:
    """transformers CLIPConfig of the CoDe CLIP (QuickGELU, LN eps 1e-5, as OpenAI's CLIP)."""
    from transformers import CLIPConfig

    text = dict(
        vocab_size=c.vocab,
        hidden_size=c.text_width,
        intermediate_size=4 * c.text_width,
        num_hidden_layers=c.text_layers,
        num_attention_heads=c.text_heads,
        max_position_embeddings=c.context,
        hidden_act="quick_gelu",
        eos_token_id=eos_token_id,
        bos_token_id=bos_token_id if bos_token_id is not None else eos_token_id - 1,
        pad_token_id=eos_token_id,
    )
    vision = dict(
        hidden_size=c.vision_width,
        intermediate_size=4 * c.vision_width,
        num_hidden_layers=c.vision_layers,
        num_attention_heads=c.vision_heads,
        image_size=c.grid * c.patch,
        patch_size=c.patch,
        hidden_act="quick_gelu",
    )
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=c.embed_dim)


@lru_cache(maxsize=1)
def _net_class() -> type:
    import torch
    from torch import nn
    from transformers import CLIPModel
    from transformers.models.clip.modeling_clip import CLIPEncoderLayer

    class ResConv(nn.Module):
        """x <- up2(x); x + tanh(gate) * conv3x3(gelu(LN(x))) (TCL/CoDe GDecoder block, pre-activation)."""

        def __init__(self, ch: int) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(ch)
            self.conv = nn.Conv2d(ch, ch, 3, padding=1)
            self.gate = nn.Parameter(torch.zeros(()))

        def forward(self, x: Any) -> Any:
            x = nn.functional.interpolate(x, scale_factor=2)
            y = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            return x + torch.tanh(self.gate) * self.conv(nn.functional.gelu(y))

    class CoDeNet(nn.Module):
        """CLIP + masker block + decoder + projection + Sim2Mask + prompt context (see module doc)."""

        def __init__(self, c: CoDeConfig, eos_token_id: int) -> None:
            super().__init__()
            self.cfg = c
            hf = hf_clip_config(c, eos_token_id)  # CLIP tokenizers: SOS = EOS - 1
            self.clip = CLIPModel(hf)
            self.masker_block = CLIPEncoderLayer(hf.vision_config)
            self.decoder = nn.ModuleList(ResConv(c.vision_width) for _ in range(c.decoder_layers))
            self.proj_ln = nn.LayerNorm(c.vision_width)
            self.proj = nn.Parameter(torch.zeros(c.vision_width, c.embed_dim))
            self.sim_w = nn.Parameter(torch.zeros(()))
            self.sim_b = nn.Parameter(torch.zeros(()))
            self.ctx = nn.Parameter(torch.zeros(c.n_ctx, c.text_width))
            self.register_buffer("prefix", torch.zeros(1, 1, c.text_width))

    return CoDeNet


def build_net(c: CoDeConfig, eos_token_id: int) -> Any:
    """An uninitialised :class:`CoDeNet` (use under ``torch.device('meta')`` for shape checks)."""
    return _net_class()(c, eos_token_id)


def complete_from_frozen_clip(sd: dict[str, Any]) -> dict[str, Any]:
    """Fill absent frozen-CLIP copies from ``frozen_clip.*`` (never overwriting a present key).

    The image encoder, its ``clip_proj`` (= CLIP's ``ln_post``/``proj``) and both text-tower copies
    are frozen copies of the same pretrained CLIP that ``frozen_clip`` holds, so a checkpoint saved
    without them (TCL's loader whitelists their absence) still has everything inference needs.
    """
    if "frozen_clip.visual.conv1.weight" not in sd:
        return sd
    out, vis = dict(sd), "frozen_clip.visual."
    for key, value in sd.items():
        if key.startswith(vis):
            rest = key[len(vis) :]
            if rest.startswith("ln_post."):
                out.setdefault("clip_image_encoder.clip_proj.ln." + rest[len("ln_post.") :], value)
            elif rest == "proj":
                out.setdefault("clip_image_encoder.clip_proj.proj", value)
            else:
                out.setdefault("clip_image_encoder.clip_visual." + rest, value)
        elif key.startswith("frozen_clip.") and key != "frozen_clip.logit_scale":
            rest = key[len("frozen_clip.") :]
            out.setdefault("clip_text_encoder.prompt_learner.clip_model." + rest, value)
            if not rest.startswith("token_embedding."):
                out.setdefault("clip_text_encoder.text_encoder." + rest, value)
    return out


def load_code_net(path: str | Path, vision_heads: int, text_heads: int, eos_token_id: int) -> Any:
    """Read the official checkpoint safely, check its layout strictly, return a loaded CoDeNet (eval)."""
    from baselines.safe_ckpt import check_layout, load_state_dict

    sd = complete_from_frozen_clip(load_state_dict(path, "code", keys=("model", "state_dict")))
    cfg = infer_config(sd, vision_heads, text_heads)
    check_layout(sd, official_layout(cfg), "code", ignore=TRAINING_ONLY)
    net = build_net(cfg, eos_token_id)
    result = net.load_state_dict(convert_official(sd, cfg), strict=False)
    if result.unexpected_keys or set(result.missing_keys) != {"clip.logit_scale"}:
        raise UserError(
            f"code: conversion mismatch {sorted(result.missing_keys)[:2]} {result.unexpected_keys[:2]}"
        )
    return net.eval()
