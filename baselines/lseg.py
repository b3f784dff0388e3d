"""LSeg (Li et al., "Language-driven Semantic Segmentation", ICLR 2022) with the official checkpoint.

Per-pixel logits = (1 / 0.07) * normalised pixel embedding . normalised CLIP text embedding of each
description (architecture in :mod:`baselines.lseg_arch`). Inference as the repo's single-scale
evaluation: mean = std = 0.5, long side resized to ``long_side`` (520), padded with black to at
least ``crop`` (480), sliding windows with stride ``stride`` (320 = 2/3 crop), optional horizontal
flip averaging, bilinear upsampling to the image size. The dustbin is a constant below every
reachable logit. The only public weights are ``demo_e200.ckpt`` (the authors' demo model, not the
paper's ADE20K model), a Lightning checkpoint read with :mod:`baselines.safe_ckpt` and checked
strictly against :func:`baselines.lseg_arch.official_layout`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from baselines import lseg_arch as la
from baselines._clip import check_descriptions, image_tensor, sliding_logits, with_dustbin
from textureade.errors import UserError
from textureade.types import Prediction


def infer_config(sd: dict[str, Any], hooks: list[int], vit_heads: int, text_heads: int) -> la.LSegConfig:
    """Sizes read off the checkpoint (heads and hook indices are given, not recoverable from shapes)."""
    m, t = "net.pretrained.model.", "net.clip_pretrained."
    try:
        proj = sd[m + "patch_embed.proj.weight"]
        levels = tuple(sd[f"net.pretrained.act_postprocess{i}.3.weight"].shape[0] for i in range(1, 5))
        tok = sd[t + "token_embedding.weight"]
        cfg = la.LSegConfig(
            vit_width=proj.shape[0],
            vit_depth=len({k.split(".")[4] for k in sd if k.startswith(m + "blocks.")}),
            vit_heads=vit_heads,
            patch=proj.shape[-1],
            grid=round((sd[m + "pos_embed"].shape[1] - 1) ** 0.5),
            hooks=tuple(hooks),
            level_channels=levels,
            features=sd["net.scratch.layer1_rn.weight"].shape[0],
            out_c=sd["net.scratch.head1.weight"].shape[0],
            text_width=tok.shape[1],
            text_layers=len({k.split(".")[4] for k in sd if k.startswith(t + "transformer.resblocks.")}),
            text_heads=text_heads,
            vocab=tok.shape[0],
            context=sd[t + "positional_embedding"].shape[0],
        )
    except KeyError as exc:
        raise UserError(
            f"lseg: checkpoint lacks {exc.args[0]!r}; is it an LSeg (clip_vitl16_384) checkpoint?"
        ) from None
    if len(cfg.hooks) != 4 or max(cfg.hooks) >= cfg.vit_depth:
        raise UserError(
            f"lseg: hooks {list(hooks)} do not fit a {cfg.vit_depth}-block ViT; give 4 block indices"
        )
    return cfg


def load_lseg_net(
    path: str | Path, hooks: list[int], vit_heads: int, text_heads: int, eos_token_id: int
) -> Any:
    """Read the Lightning checkpoint safely, check its layout strictly, return a loaded LSegNet (eval)."""
    from baselines.safe_ckpt import check_layout, load_state_dict

    sd = load_state_dict(path, "lseg", keys=("state_dict",))
    cfg = infer_config(sd, hooks, vit_heads, text_heads)
    check_layout(sd, la.official_layout(cfg), "lseg", ignore=la.UNUSED)
    net = la.build_lseg_net(cfg, eos_token_id)
    net.load_state_dict(la.convert_official(sd, cfg), strict=True)
    return net.eval()


def pad_to(x: Any, crop: int, multiple: int, value: float) -> tuple[Any, tuple[int, int]]:
    """Pad (1, 3, h, w) on the bottom/right to at least ``crop`` and a multiple of ``multiple``."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    ph = max(crop, -(-h // multiple) * multiple)
    pw = max(crop, -(-w // multiple) * multiple)
    return F.pad(x, (0, pw - w, 0, ph - h), value=value), (h, w)


class LSeg:
    """LSeg dense text-pixel logits over the K descriptions (see the module docstring)."""

    name = "lseg"

    def __init__(
        self,
        checkpoint: str | None = None,
        tokenizer: str = "openai/clip-vit-base-patch32",
        revision: str | None = None,
        device: str = "auto",
        hooks: list[int] | None = None,
        vit_heads: int = 16,
        text_heads: int = 8,
        long_side: int | None = 520,
        crop: int = 480,
        stride: int = 320,
        flip: bool = True,
        dustbin: float = -100.0,
        batch_size: int = 2,
    ) -> None:
        from transformers import AutoTokenizer

        from textureade.hf import load_pretrained, pick_device

        if crop % 32 or stride < 1 or stride > crop:
            raise UserError(
                f"lseg: crop must be a multiple of 32 and 0 < stride <= crop, got {crop}/{stride}"
            )
        self.device = pick_device(device)
        self.tokenizer = load_pretrained(AutoTokenizer, tokenizer, what="lseg tokenizer", revision=revision)
        hooks = list(hooks or [5, 11, 17, 23])
        net = load_lseg_net(checkpoint, hooks, vit_heads, text_heads, self.tokenizer.eos_token_id)
        if len(self.tokenizer) > net.cfg.vocab:  # ids past the embedding table: every image would fail
            raise UserError(
                f"lseg: tokenizer {tokenizer} has {len(self.tokenizer)} tokens, the checkpoint's text tower "
                f"{net.cfg.vocab}; pass the tokenizer of CLIP ViT-B/32 (--option tokenizer=...)"
            )
        self.net = net.to(self.device)
        self.long_side, self.crop, self.stride, self.flip = long_side, int(crop), int(stride), bool(flip)
        self.dustbin, self.batch_size = float(dustbin), int(batch_size)

    def text_features(self, texts: list[str]) -> tuple[Any, int]:
        """(K, 512) normalised CLIP text embeddings; descriptions over 77 tokens truncated and counted."""
        import torch.nn.functional as F

        limit = self.net.cfg.context
        truncated = sum(len(ids) > limit for ids in self.tokenizer(texts, truncation=False)["input_ids"])
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        out = self.net.text(
            input_ids=enc["input_ids"].to(self.device), attention_mask=enc["attention_mask"].to(self.device)
        )
        return F.normalize(out.text_embeds.float(), dim=-1), truncated

    def score_fn(self, text: Any) -> Any:
        def logits(x: Any) -> Any:
            return self.net.logits(x, text)

        def fn(crops: Any) -> Any:
            out = logits(crops)
            if self.flip:
                out = 0.5 * (out + logits(crops.flip(-1)).flip(-1))
            return out

        return fn

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        import torch
        import torch.nn.functional as F

        texts = check_descriptions(self.name, k, descriptions)
        h, w = image.shape[:2]
        short = round(self.long_side * min(h, w) / max(h, w)) if self.long_side else None
        with torch.inference_mode():
            text, truncated = self.text_features(texts)
            x = image_tensor(image, short, [0.5] * 3, [0.5] * 3, self.device)
            x, (rh, rw) = pad_to(x, self.crop, 32, value=-1.0)  # -1 = a black pixel after normalisation
            logits = sliding_logits(self.score_fn(text), x, self.crop, self.stride, self.batch_size)
            logits = F.interpolate(
                logits[None, :, :rh, :rw], size=(h, w), mode="bilinear", align_corners=False
            )[0]
        scores = with_dustbin(logits, (h, w), self.dustbin)
        return Prediction(
            scores=scores, descriptions=texts, extras={"truncated_descriptions": int(truncated)}
        )
