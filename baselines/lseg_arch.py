"""LSeg's architecture and official checkpoint layout (our code; facts from github:isl-org/lang-seg).

Image side (modules/models/lseg_vit.py, lseg_blocks.py, lseg_net.py): timm's ViT-L/16 at 384
(``vit_large_patch16_384``: 1024 wide, 24 blocks, 16 heads), the outputs of blocks 5/11/17/23 go
through a "project" readout (``Linear(2C, C) + GELU`` of [token, CLS]) and DPT reassembly (1x1 conv
to 256/512/1024/1024 channels, then 4x / 2x transposed conv, identity, 3x3 stride-2 conv), 3x3
``layerN_rn`` convs to 256, four fusion blocks (two BN residual conv units, 2x bilinear
upsampling with align_corners, 1x1 out conv), ``head1`` 1x1 conv to 512 and a final 2x bilinear
upsampling. Text side: OpenAI CLIP ViT-B/32's text tower. Logits = (1 / 0.07) * cosine.

The Lightning checkpoint stores the network under ``state_dict`` with the prefix ``net.``; our
module mirrors the image-side names so only the prefix changes; the text tower is converted to
transformers' ``CLIPTextModelWithProjection``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from baselines._clip_blocks import openai_block_layout, openai_block_to_hf

LOGIT_SCALE = 1.0 / 0.07  # exp(log(1 / 0.07)); a plain tensor in LSeg, not in the state dict


@dataclass(frozen=True)
class LSegConfig:
    """Sizes of LSeg (``clip_vitl16_384`` by default: ``VIT_L16``)."""

    vit_width: int = 1024
    vit_depth: int = 24
    vit_heads: int = 16
    patch: int = 16
    grid: int = 24  # pos_embed = grid^2 + 1 (384 / 16)
    hooks: tuple[int, ...] = (5, 11, 17, 23)
    level_channels: tuple[int, ...] = (256, 512, 1024, 1024)
    features: int = 256
    out_c: int = 512
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    vocab: int = 49408
    context: int = 77


VIT_L16 = LSegConfig()

# In the Lightning checkpoint but unused at inference (CLIP's image tower, timm's classifier, metrics).
UNUSED = (
    "net.clip_pretrained.visual.",
    "net.clip_pretrained.logit_scale",
    "net.pretrained.model.head.",
    "net.pretrained.model.pre_logits.",
    "net.pretrained.model.fc_norm.",
    "train_accuracy.",
    "val_accuracy.",
    "criterion.",
)


def _vit_block(p: str, w: int) -> dict[str, tuple[int, ...]]:
    out = {p + n: (w,) for n in ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias")}
    out.update({p + "attn.qkv.weight": (3 * w, w), p + "attn.qkv.bias": (3 * w,)})
    out.update({p + "attn.proj.weight": (w, w), p + "attn.proj.bias": (w,)})
    out.update({p + "mlp.fc1.weight": (4 * w, w), p + "mlp.fc1.bias": (4 * w,)})
    out.update({p + "mlp.fc2.weight": (w, 4 * w), p + "mlp.fc2.bias": (w,)})
    return out


def _bn(p: str, c: int) -> dict[str, tuple[int, ...]]:
    out = {p + n: (c,) for n in ("weight", "bias", "running_mean", "running_var")}
    out[p + "num_batches_tracked"] = ()
    return out


def image_layout(c: LSegConfig = VIT_L16) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the image side, without the ``net.`` prefix (our module's names too)."""
    w, f, m = c.vit_width, c.features, "pretrained.model."
    out = {m + "cls_token": (1, 1, w), m + "pos_embed": (1, c.grid * c.grid + 1, w)}
    out.update({m + "patch_embed.proj.weight": (w, 3, c.patch, c.patch), m + "patch_embed.proj.bias": (w,)})
    for i in range(c.vit_depth):
        out.update(_vit_block(f"{m}blocks.{i}.", w))
    out.update({m + "norm.weight": (w,), m + "norm.bias": (w,)})
    ups = {0: 4, 1: 2}
    for i, ch in enumerate(c.level_channels):
        p = f"pretrained.act_postprocess{i + 1}."
        out.update({p + "0.project.0.weight": (w, 2 * w), p + "0.project.0.bias": (w,)})
        out.update({p + "3.weight": (ch, w, 1, 1), p + "3.bias": (ch,)})
        if i in ups:
            out.update({p + "4.weight": (ch, ch, ups[i], ups[i]), p + "4.bias": (ch,)})
        elif i == 3:
            out.update({p + "4.weight": (ch, ch, 3, 3), p + "4.bias": (ch,)})
        out[f"scratch.layer{i + 1}_rn.weight"] = (f, ch, 3, 3)
    for i in range(1, 5):
        p = f"scratch.refinenet{i}."
        out.update({p + "out_conv.weight": (f, f, 1, 1), p + "out_conv.bias": (f,)})
        for u in (1, 2):
            q = f"{p}resConfUnit{u}."
            out.update({q + "conv1.weight": (f, f, 3, 3), q + "conv2.weight": (f, f, 3, 3)})
            out.update({**_bn(q + "bn1.", f), **_bn(q + "bn2.", f)})
    out.update({"scratch.head1.weight": (c.out_c, f, 1, 1), "scratch.head1.bias": (c.out_c,)})
    return out


def text_layout(c: LSegConfig = VIT_L16) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the OpenAI CLIP text tower under ``clip_pretrained.`` (no ``net.`` prefix)."""
    t, p = c.text_width, "clip_pretrained."
    out = {p + "token_embedding.weight": (c.vocab, t), p + "positional_embedding": (c.context, t)}
    for i in range(c.text_layers):
        out.update(openai_block_layout(f"{p}transformer.resblocks.{i}.", t))
    out.update({p + "ln_final.weight": (t,), p + "ln_final.bias": (t,), p + "text_projection": (t, c.out_c)})
    return out


def official_layout(c: LSegConfig = VIT_L16) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the parts of the official Lightning ``state_dict`` inference uses."""
    return {"net." + k: v for k, v in {**image_layout(c), **text_layout(c)}.items()}


def convert_official(sd: dict[str, Any], c: LSegConfig) -> dict[str, Any]:
    """Official ``state_dict`` -> our LSegNet keys (image side: prefix dropped; text: to transformers)."""
    out = {k: sd["net." + k] for k in image_layout(c)}
    p, t = "net.clip_pretrained.", "text."
    out[t + "text_model.embeddings.token_embedding.weight"] = sd[p + "token_embedding.weight"]
    out[t + "text_model.embeddings.position_embedding.weight"] = sd[p + "positional_embedding"]
    for i in range(c.text_layers):
        openai_block_to_hf(sd, f"{p}transformer.resblocks.{i}.", f"{t}text_model.encoder.layers.{i}.", out)
    for n in ("weight", "bias"):
        out[f"{t}text_model.final_layer_norm.{n}"] = sd[f"{p}ln_final.{n}"]
    out[t + "text_projection.weight"] = sd[p + "text_projection"].t()
    return out


def text_config(c: LSegConfig, eos_token_id: int) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=c.vocab,
        hidden_size=c.text_width,
        intermediate_size=4 * c.text_width,
        num_hidden_layers=c.text_layers,
        num_attention_heads=c.text_heads,
        max_position_embeddings=c.context,
        hidden_act="quick_gelu",
        projection_dim=c.out_c,
        eos_token_id=eos_token_id,
        bos_token_id=eos_token_id - 1,
        pad_token_id=eos_token_id,
    )


@lru_cache(maxsize=1)
def _classes() -> Any:
    import torch
    from timm.models.vision_transformer import VisionTransformer
    from torch import nn
    from transformers import CLIPTextModelWithProjection

    class ProjectReadout(nn.Module):
        """[token, CLS] -> Linear(2C, C) + GELU, for every patch token."""

        def __init__(self, w: int) -> None:
            super().__init__()
            self.project = nn.Sequential(nn.Linear(2 * w, w), nn.GELU())

        def forward(self, x: Any) -> Any:
            cls = x[:, :1].expand_as(x[:, 1:])
            return self.project(torch.cat([x[:, 1:], cls], dim=-1))

    class ResidualConvUnit(nn.Module):
        """x + BN(conv(relu(BN(conv(relu(x))))))."""

        def __init__(self, f: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(f, f, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(f)
            self.conv2 = nn.Conv2d(f, f, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(f)

        def forward(self, x: Any) -> Any:
            out = self.bn1(self.conv1(torch.relu(x)))
            return x + self.bn2(self.conv2(torch.relu(out)))

    class FusionBlock(nn.Module):
        """(x [+ unit1(skip)]) -> unit2 -> 2x bilinear (align_corners) -> 1x1 conv."""

        def __init__(self, f: int) -> None:
            super().__init__()
            self.out_conv = nn.Conv2d(f, f, 1)
            self.resConfUnit1 = ResidualConvUnit(f)
            self.resConfUnit2 = ResidualConvUnit(f)

        def forward(self, x: Any, skip: Any = None) -> Any:
            if skip is not None:
                x = x + self.resConfUnit1(skip)
            x = nn.functional.interpolate(
                self.resConfUnit2(x), scale_factor=2, mode="bilinear", align_corners=True
            )
            return self.out_conv(x)

    class LSegNet(nn.Module):
        """LSeg image encoder + DPT decoder + CLIP text tower (names mirror the official module)."""

        def __init__(self, c: LSegConfig, eos_token_id: int) -> None:
            super().__init__()
            self.cfg, w, f = c, c.vit_width, c.features
            self.pretrained = nn.Module()
            self.pretrained.model = VisionTransformer(
                img_size=c.grid * c.patch,
                patch_size=c.patch,
                embed_dim=w,
                depth=c.vit_depth,
                num_heads=c.vit_heads,
                num_classes=0,
            )
            for i, ch in enumerate(c.level_channels):
                tail: list[nn.Module] = [ProjectReadout(w), nn.Identity(), nn.Identity(), nn.Conv2d(w, ch, 1)]
                if i < 2:
                    k = 4 if i == 0 else 2
                    tail.append(nn.ConvTranspose2d(ch, ch, k, stride=k))
                elif i == 3:
                    tail.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                setattr(self.pretrained, f"act_postprocess{i + 1}", nn.Sequential(*tail))
            self.scratch = nn.Module()
            for i, ch in enumerate(c.level_channels):
                setattr(self.scratch, f"layer{i + 1}_rn", nn.Conv2d(ch, f, 3, padding=1, bias=False))
            for i in range(1, 5):
                setattr(self.scratch, f"refinenet{i}", FusionBlock(f))
            self.scratch.head1 = nn.Conv2d(f, c.out_c, 1)
            self.text = CLIPTextModelWithProjection(text_config(c, eos_token_id))

        def vit_levels(self, x: Any) -> list[Any]:
            """(B, 3, H, W) -> outputs (B, 1 + N, C) of the hooked ViT blocks; positions resized bilinearly."""
            c, vit = self.cfg, self.pretrained.model
            b, _, h, w = x.shape
            pos = vit.pos_embed
            grid = pos[:, 1:].reshape(1, c.grid, c.grid, -1).permute(0, 3, 1, 2)
            grid = nn.functional.interpolate(grid, size=(h // c.patch, w // c.patch), mode="bilinear")
            pos = torch.cat([pos[:, :1], grid.flatten(2).transpose(1, 2)], dim=1)
            t = vit.patch_embed.proj(x).flatten(2).transpose(1, 2)
            t = torch.cat([vit.cls_token.expand(b, -1, -1), t], dim=1) + pos
            levels = []
            for i, blk in enumerate(vit.blocks[: max(c.hooks) + 1]):
                t = blk(t)
                if i in c.hooks:
                    levels.append(t)
            return levels

        def pixel_embeddings(self, x: Any) -> Any:
            """(B, 3, H, W), H and W multiples of 32 -> (B, out_c, H, W) pixel embeddings (not normalised).

            ``head_embeddings`` upsampled 2x; LSeg's logits are computed at half resolution and then
            upsampled (its ``output_conv``), see :func:`logits`.
            """
            emb = self.head_embeddings(x)
            return nn.functional.interpolate(emb, scale_factor=2, mode="bilinear", align_corners=True)

        def logits(self, x: Any, text: Any, scale: float = LOGIT_SCALE) -> Any:
            """(B, 3, H, W) and (K, out_c) normalised text -> (B, K, H, W) logits, in LSeg's order:
            ``head1`` output normalised per pixel at H/2 x W/2, ``scale`` * cosine, then the 2x
            bilinear (align_corners) ``output_conv`` on the logits (not on the embeddings)."""
            emb = nn.functional.normalize(self.head_embeddings(x).float(), dim=1)
            out = scale * torch.einsum("bchw,kc->bkhw", emb, text.float())
            return nn.functional.interpolate(out, scale_factor=2, mode="bilinear", align_corners=True)

        def head_embeddings(self, x: Any) -> Any:
            """(B, 3, H, W), H and W multiples of 32 -> (B, out_c, H/2, W/2) ``head1`` output (not normalised)."""
            b, gh, gw = x.shape[0], x.shape[-2] // self.cfg.patch, x.shape[-1] // self.cfg.patch
            feats = []
            for i, lv in enumerate(self.vit_levels(x)):
                post = getattr(self.pretrained, f"act_postprocess{i + 1}")
                y = post[0](lv).transpose(1, 2).reshape(b, -1, gh, gw)
                feats.append(getattr(self.scratch, f"layer{i + 1}_rn")(post[3:](y)))
            s = self.scratch
            path = s.refinenet4(feats[3])
            path = s.refinenet3(path, feats[2])
            path = s.refinenet2(path, feats[1])
            path = s.refinenet1(path, feats[0])
            return s.head1(path)

    return LSegNet


def build_lseg_net(c: LSegConfig, eos_token_id: int) -> Any:
    """An uninitialised LSegNet (build under ``torch.device('meta')`` for shape checks)."""
    return _classes()(c, eos_token_id)
