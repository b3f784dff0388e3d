"""Training-free dense CLIP: MaskCLIP, SCLIP and ClearCLIP (manifests ``maskclip``, ``sclip``,
``clearclip``) through transformers ``CLIPModel``.

All three run CLIP's vision tower unchanged up to the last block and change only that block (the
``variant``; recipes in :mod:`baselines._clip`, shared with the other CLIP-based methods).

Then every patch token goes through ``post_layernorm`` + ``visual_projection``, is L2-normalised and
scored against the L2-normalised text embeddings of the K descriptions: logits = ``logit_scale`` *
cosine. Inference follows the repos: resize so the short side is ``short_side``, sliding windows
(``crop``/``stride``; overlapping logits averaged), bilinear upsampling to the image size. The
dustbin is a constant channel (``dustbin``), below every reachable logit by default, so each pixel
goes to one of the K descriptions.

Text: each description is used as given (``templates`` = ["{}"]); with several templates (each with
one ``{}``) the normalised embeddings are averaged, as the CLIP-dense repos do for class names.
CLIP's text tower takes 77 tokens: longer descriptions are truncated on purpose and counted in
``Prediction.extras["truncated_descriptions"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines._clip import (
    VARIANTS,
    check_descriptions,
    dense_features,
    encode_texts,
    image_tensor,
    load_clip,
    sliding_logits,
    with_dustbin,
)
from textureade.errors import UserError
from textureade.types import Prediction


class ClipDense:
    """MaskCLIP / SCLIP / ClearCLIP dense text-pixel scoring (see the module docstring).

    Params: model (hub id or folder of a transformers CLIP), variant, revision, device, dtype,
    short_side, crop, stride, logit_scale, dustbin, templates (list of "{}" strings), batch_size.
    """

    name = "clip-dense"

    def __init__(
        self,
        model: str = "openai/clip-vit-base-patch16",
        variant: str = "sclip",
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "float32",
        short_side: int | None = 336,
        crop: int = 224,
        stride: int = 112,
        logit_scale: float = 40.0,
        dustbin: float = -100.0,
        templates: list[str] | None = None,
        batch_size: int = 8,
    ) -> None:
        from textureade.hf import pick_device

        if variant not in VARIANTS:
            raise UserError(f"unknown CLIP-dense variant {variant!r}; use one of {', '.join(VARIANTS)}")
        self.templates = list(templates or ["{}"])
        bad = [t for t in self.templates if t.count("{}") != 1]
        if bad:
            raise UserError(f"each template needs exactly one '{{}}'; bad: {bad[0]!r}")
        if crop < 1 or stride < 1 or stride > crop:
            raise UserError(f"need 0 < stride <= crop, got crop={crop} stride={stride}")
        self.variant, self.crop, self.stride = variant, int(crop), int(stride)
        self.short_side = int(short_side) if short_side else None
        self.logit_scale, self.dustbin, self.batch_size = float(logit_scale), float(dustbin), int(batch_size)
        self.device = pick_device(device)
        self.model, self.tokenizer, (self.mean, self.std) = load_clip(model, revision, self.device, dtype)

    def score_fn(self, text: Any) -> Any:
        """(B, 3, h, w) -> (B, K, h, w) logits = logit_scale * cosine(patch, text), upsampled to the window."""
        import torch
        import torch.nn.functional as F

        def fn(crops: Any) -> Any:
            with torch.inference_mode():
                feats = dense_features(self.model, crops, self.variant)
            logits = self.logit_scale * torch.einsum("bdhw,kd->bkhw", feats, text)
            return F.interpolate(logits, size=crops.shape[-2:], mode="bilinear", align_corners=False)

        return fn

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        texts = check_descriptions(self.name, k, descriptions)
        if image.ndim != 3 or image.shape[2] != 3:
            raise UserError(f"{self.name}: expects an H x W x 3 image, got {image.shape}")
        text, truncated = encode_texts(self.model, self.tokenizer, texts, self.templates)
        x = image_tensor(image, self.short_side, self.mean, self.std, self.device)
        logits = sliding_logits(self.score_fn(text), x, self.crop, self.stride, self.batch_size)
        scores = with_dustbin(logits, image.shape[:2], self.dustbin)
        extras = {
            "variant": self.variant,
            "truncated_descriptions": truncated,
            "templates": len(self.templates),
        }
        return Prediction(scores=scores, descriptions=texts, extras=extras)
