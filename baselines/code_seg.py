"""CoDe (Wu et al., "Image-Text Co-Decomposition for Text-Supervised Semantic Segmentation", CVPR 2024).

Our own model code, matched to the official repo (github:072jiajia/Image-Text-Co-Decomposition)
so its checkpoint loads: a frozen CLIP ViT-B/16 (transformers ``CLIPModel`` filled from the
checkpoint) with the MaskCLIP last block (each token attends only to itself), the masker (a
fine-tuned copy of the last block, also MaskCLIP-style, a 2-block gated ResConv decoder that
upsamples 4x, LayerNorm + projection), a learned text prompt (SOS + 16 context vectors + the
description's tokens) and ``Sim2Mask``: independent soft masks ``sigmoid(w * cos + b)`` per text.
Inference as ``generate_masks`` + the evaluation config: PAMR (10 iterations, dilations
1-24) on the masks, the keypoint branch mixed in (``0.3 * sigmoid(10 (cos_clip - 0.25)) + 0.7 *
mask``, plain CLIP text embeddings, templates averaged), a constant background channel 0.4 as the
dustbin, ImageNet mean/std, short side 448, sliding windows 448/224.

The checkpoint (``checkpoint.pth``, a dict with ``model``) is read without executing pickled code
(:mod:`baselines.safe_ckpt`) and checked key by key and shape by shape against
:func:`official_layout` (derived from reading the official code); training-only parts are listed
in ``TRAINING_ONLY`` and skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines._clip import (
    check_descriptions,
    encode_texts,
    image_tensor,
    last_block,
    sliding_logits,
    with_dustbin,
)
from baselines.code_arch import load_code_net
from textureade.errors import UserError
from textureade.types import Prediction

IMAGENET_MEAN = [0.485, 0.456, 0.406]  # mmseg's 123.675/116.28/103.53 over 255
IMAGENET_STD = [0.229, 0.224, 0.225]


def prompt_text_features(net: Any, tokenizer: Any, texts: list[str]) -> tuple[Any, int]:
    """(K, D) normalised embeddings through the learned prompt: [SOS] + ctx + tokens(text) + [EOS].

    Text tokens are cut to ``context - n_ctx`` (61 for CoDe) including SOS/EOS, as the official
    ``PromptLearner``; returns how many texts were truncated.
    """
    import torch
    import torch.nn.functional as F

    c, tm = net.cfg, net.clip.text_model
    limit = c.context - c.n_ctx
    full = tokenizer(texts, truncation=False)["input_ids"]
    truncated = sum(len(ids) > limit for ids in full)
    ids = tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
    dev = net.ctx.device
    rows, eos = [], []
    for seq in ids:
        body = torch.tensor(seq[1:], device=dev)  # drop SOS: the prefix vector stands for it
        emb = tm.embeddings.token_embedding(body)
        pad = torch.zeros(limit - 1 - len(body), c.text_width, device=dev)
        rows.append(torch.cat([net.prefix[0], net.ctx, emb, pad]))
        eos.append(c.n_ctx + len(seq) - 1)  # position of EOS in the full sequence
    x = tm.embeddings(inputs_embeds=torch.stack(rows))
    mask = torch.full((c.context, c.context), float("-inf"), device=dev).triu(1)[None, None]
    for layer in tm.encoder.layers:
        x = layer(x, mask)
        x = x[0] if isinstance(x, tuple) else x
    x = tm.final_layer_norm(x)
    pooled = x[torch.arange(len(ids), device=dev), torch.tensor(eos, device=dev)]
    return F.normalize(net.clip.text_projection(pooled), dim=-1), truncated


def code_masks(net: Any, window: Any, text: Any, kp_text: Any, opts: dict[str, Any]) -> Any:
    """CoDe's ``generate_masks`` for a batch of windows: (B, 3, h, w) -> (B, K, h, w) soft masks in [0, 1].

    window: ImageNet-normalised pixels. text/kp_text: (K, D) normalised (prompt / plain CLIP).
    opts: pamr_iter, pamr_dilations, kp_w.
    """
    import torch
    import torch.nn.functional as F

    from baselines.pamr import pamr

    c = net.cfg
    _, _, h, w = window.shape
    ph, pw = (-h) % c.patch, (-w) % c.patch
    pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    x = F.pad(window, pad) if any(pad) else window
    gh, gw = x.shape[-2] // c.patch, x.shape[-1] // c.patch
    vm = net.clip.vision_model
    feat = vm.pre_layrnorm(vm.embeddings(x, interpolate_pos_encoding=True))
    for layer in vm.encoder.layers[:-1]:
        feat = layer(feat, None)
        feat = feat[0] if isinstance(feat, tuple) else feat
    clip_emb = last_block(vm.encoder.layers[-1], feat, "maskclip")  # frozen CLIP, MaskCLIP trick
    m = last_block(net.masker_block, feat, "maskclip")[:, 1:]  # the masker's own last block
    m = m.transpose(1, 2).reshape(len(x), c.vision_width, gh, gw)
    for block in net.decoder:
        m = block(m)
    m = net.proj_ln(m.permute(0, 2, 3, 1)) @ net.proj  # (B, 4gh, 4gw, D)
    sim = torch.einsum("bhwd,kd->bkhw", F.normalize(m, dim=-1), text)
    mask = torch.sigmoid(sim * net.sim_w + net.sim_b)
    if opts["pamr_iter"]:
        img = F.interpolate(x, size=mask.shape[-2:], mode="bilinear", align_corners=True)
        mask = pamr(img, mask, opts["pamr_iter"], tuple(opts["pamr_dilations"]))
    if opts["kp_w"]:
        emb = F.normalize(net.clip.visual_projection(vm.post_layernorm(clip_emb[:, 1:])), dim=-1)
        kp = torch.sigmoid((torch.einsum("bnd,kd->bkn", emb, kp_text) - 0.25) * 10.0)
        kp = F.interpolate(kp.reshape(len(x), -1, gh, gw), size=mask.shape[-2:], mode="bilinear")
        mask = opts["kp_w"] * kp + (1.0 - opts["kp_w"]) * mask
    mask = F.interpolate(mask, size=x.shape[-2:], mode="bilinear")
    return mask[:, :, pad[2] : pad[2] + h, pad[0] : pad[0] + w]


class CoDe:
    """CoDe with the official checkpoint: soft masks per description + background 0.4 (dustbin)."""

    name = "code"

    def __init__(
        self,
        checkpoint: str | None = None,
        tokenizer: str = "openai/clip-vit-base-patch16",
        revision: str | None = None,
        device: str = "auto",
        vision_heads: int = 12,
        text_heads: int = 8,
        short_side: int | None = 448,
        crop: int = 448,
        stride: int = 224,
        bg_thresh: float = 0.4,
        pamr_iter: int = 10,
        pamr_dilations: list[int] | None = None,
        kp_w: float = 0.3,
        kp_templates: list[str] | None = None,
        batch_size: int = 2,
    ) -> None:
        from transformers import AutoTokenizer

        from textureade.hf import load_pretrained, pick_device

        self.device = pick_device(device)
        self.tokenizer = load_pretrained(AutoTokenizer, tokenizer, what="code tokenizer", revision=revision)
        eos = self.tokenizer.eos_token_id
        self.net = load_code_net(checkpoint, vision_heads, text_heads, eos).to(self.device)
        if len(self.tokenizer) > self.net.cfg.vocab:
            raise UserError(
                f"code: tokenizer has {len(self.tokenizer)} tokens, the checkpoint {self.net.cfg.vocab}"
            )
        self.opts = {
            "pamr_iter": int(pamr_iter),
            "pamr_dilations": list(pamr_dilations or [1, 2, 4, 8, 12, 24]),
        }
        self.opts["kp_w"] = float(kp_w)
        self.kp_templates = list(kp_templates or ["{}"])
        self.short_side, self.crop, self.stride = short_side, int(crop), int(stride)
        self.bg_thresh, self.batch_size = float(bg_thresh), int(batch_size)

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        import torch

        texts = check_descriptions(self.name, k, descriptions)
        with torch.inference_mode():
            text, truncated = prompt_text_features(self.net, self.tokenizer, texts)
            kp_text, _ = encode_texts(self.net.clip, self.tokenizer, texts, self.kp_templates)
            x = image_tensor(image, self.short_side, IMAGENET_MEAN, IMAGENET_STD, self.device)
            masks = sliding_logits(
                lambda win: code_masks(self.net, win, text, kp_text, self.opts),
                x,
                self.crop,
                self.stride,
                self.batch_size,
            )
        scores = with_dustbin(masks, image.shape[:2], self.bg_thresh)
        extras = {"truncated_descriptions": int(truncated), "background": self.bg_thresh}
        return Prediction(scores=scores, descriptions=texts, extras=extras)
