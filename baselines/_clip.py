"""CLIP helpers shared by the CLIP-based methods (maskclip / sclip / clearclip, code, lseg,
semantic-sam, use-reimpl): loading a transformers CLIP, the modified last ViT block and dense patch
features of the three training-free variants, text embeddings, and sliding-window dense scoring.

The last-block recipes (our own code over the real ``CLIPEncoderLayer`` modules; from the papers
and their public code):

- ``maskclip`` (Zhou et al., ECCV 2022): the value path. Last block = ``x + out_proj(v_proj(ln1(x)))``
  then its FFN with residual (no query-key attention), as the official mmseg backbone does.
- ``sclip`` (Wang et al., 2024): correlative self-attention
  ``softmax(q q^T s) + softmax(k k^T s)`` (per head, s = head_dim^-0.5) in place of q-k attention;
  residual and FFN kept.
- ``clearclip`` (Lan et al., ECCV 2024): q-q attention only, residual and FFN dropped.

Conventions: images are H x W x 3 uint8 in, (1, 3, h, w) normalised tensors inside; dense features
are (B, D, h / patch, w / patch) L2-normalised; score maps are (K, H, W) with the dustbin prepended
as channel 0 by :func:`with_dustbin`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from textureade.errors import UserError

VARIANTS = ("maskclip", "sclip", "clearclip")


def load_clip(name: str, revision: str | None, device: str, dtype: str | None) -> tuple[Any, Any, Any]:
    """(CLIPModel in eval mode on ``device``, tokenizer, (mean, std) as 3-vectors in 0..1 units)."""
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    from textureade.hf import load_pretrained, torch_dtype

    model = load_pretrained(CLIPModel, name, what="clip model", revision=revision, dtype=torch_dtype(dtype))
    tokenizer = load_pretrained(AutoTokenizer, name, what="clip tokenizer", revision=revision)
    proc = load_pretrained(CLIPImageProcessor, name, what="clip image processor", revision=revision)
    return model.eval().to(device), tokenizer, (list(proc.image_mean), list(proc.image_std))


def last_block(layer: Any, x: Any, variant: str) -> Any:
    """The modified last ViT block. layer: a ``CLIPEncoderLayer``; x: (B, 1 + N, C) -> (B, 1 + N, C)."""
    import torch

    attn = layer.self_attn
    y = layer.layer_norm1(x)
    if variant == "maskclip":
        x = x + attn.out_proj(attn.v_proj(y))
        return x + layer.mlp(layer.layer_norm2(x))
    b, n, c = y.shape
    heads = attn.num_heads
    hd = c // heads

    def split(t: Any) -> Any:
        return t.view(b, n, heads, hd).transpose(1, 2)  # (B, heads, N, hd)

    q, k, v = split(attn.q_proj(y)), split(attn.k_proj(y)), split(attn.v_proj(y))
    scale = hd**-0.5
    weights = torch.softmax(q @ q.transpose(-1, -2) * scale, dim=-1)
    if variant == "sclip":
        weights = weights + torch.softmax(k @ k.transpose(-1, -2) * scale, dim=-1)
    out = attn.out_proj((weights @ v).transpose(1, 2).reshape(b, n, c))
    if variant == "clearclip":
        return out
    x = x + out
    return x + layer.mlp(layer.layer_norm2(x))


def dense_features(model: Any, pixel_values: Any, variant: str) -> Any:
    """Projected patch embeddings, L2-normalised: (B, 3, H, W) -> (B, D, H // patch, W // patch).

    pixel_values: normalised images (CLIP mean/std); any size >= one patch (positions interpolated).
    """
    import torch.nn.functional as F

    if variant not in VARIANTS:
        raise UserError(f"unknown CLIP-dense variant {variant!r}; use one of {', '.join(VARIANTS)}")
    vm = model.vision_model
    patch = model.config.vision_config.patch_size
    b, _, height, width = pixel_values.shape
    x = vm.embeddings(
        pixel_values.to(vm.embeddings.patch_embedding.weight.dtype), interpolate_pos_encoding=True
    )
    x = vm.pre_layrnorm(x)
    for layer in vm.encoder.layers[:-1]:
        x = layer(x, None)
        x = x[0] if isinstance(x, tuple) else x
    x = last_block(vm.encoder.layers[-1], x, variant)
    tokens = model.visual_projection(vm.post_layernorm(x[:, 1:]))
    tokens = F.normalize(tokens.float(), dim=-1)
    return tokens.transpose(1, 2).reshape(b, -1, height // patch, width // patch)


def encode_texts(model: Any, tokenizer: Any, texts: list[str], templates: list[str]) -> tuple[Any, int]:
    """(K, D) L2-normalised text embeddings (template-averaged) and how many texts were truncated.

    A text counts as truncated when any of its templated prompts exceeds the text tower's maximum
    positions (77 for CLIP); the tokenizer then keeps the first tokens and the end token.
    """
    import torch
    import torch.nn.functional as F

    limit = int(model.config.text_config.max_position_embeddings)
    device = model.text_projection.weight.device
    feats, truncated = [], 0
    for text in texts:
        prompts = [t.format(text) for t in templates]
        lengths = [len(ids) for ids in tokenizer(prompts, truncation=False)["input_ids"]]
        truncated += int(max(lengths) > limit)
        enc = tokenizer(prompts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        with torch.inference_mode():
            out = model.get_text_features(
                input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device)
            )
        emb = F.normalize(out.pooler_output.float(), dim=-1).mean(dim=0)
        feats.append(F.normalize(emb, dim=-1))
    return torch.stack(feats), truncated


def image_tensor(
    image: np.ndarray, short_side: int | None, mean: list[float], std: list[float], device: str
) -> Any:
    """H x W x 3 uint8 -> (1, 3, h, w) float32 normalised, resized so the short side is ``short_side``."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div(255.0).to(device)
    if short_side:
        h, w = image.shape[:2]
        s = short_side / min(h, w)
        size = (max(1, round(h * s)), max(1, round(w * s)))
        if size != (h, w):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=s < 1)
    m = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    sd = torch.tensor(std, device=device).view(1, 3, 1, 1)
    return (x - m) / sd


def window_origins(size: int, crop: int, stride: int) -> list[int]:
    """Start offsets of sliding windows along one axis (mmseg's slide scheme: last window flush with the end)."""
    if size <= crop:
        return [0]
    n = (size - crop + stride - 1) // stride + 1
    return sorted({min(i * stride, size - crop) for i in range(n)})


def sliding_logits(score_fn: Any, x: Any, crop: int, stride: int, batch_size: int = 8) -> Any:
    """Average ``score_fn`` over overlapping windows. x: (1, 3, H, W) -> (C, H, W) float32.

    score_fn: (B, 3, h, w) -> (B, C, h, w) logits at window resolution. Windows are ``crop`` square
    (clipped to the image when it is smaller), every pixel is covered at least once.
    """
    import torch

    _, _, height, width = x.shape
    ch, cw = min(crop, height), min(crop, width)
    boxes = [(y, xx) for y in window_origins(height, ch, stride) for xx in window_origins(width, cw, stride)]
    total, count = None, torch.zeros((height, width), device=x.device)
    for i in range(0, len(boxes), batch_size):
        chunk = boxes[i : i + batch_size]
        crops = torch.cat([x[:, :, y : y + ch, xx : xx + cw] for y, xx in chunk])
        logits = score_fn(crops)
        if total is None:
            total = torch.zeros((logits.shape[1], height, width), device=x.device)
        for (y, xx), lg in zip(chunk, logits):
            total[:, y : y + ch, xx : xx + cw] += lg
            count[y : y + ch, xx : xx + cw] += 1
    return total / count


def with_dustbin(logits: Any, hw: tuple[int, int], dustbin: float) -> np.ndarray:
    """(K, h, w) logits -> (K + 1, H, W) float32 numpy at the image size, dustbin channel first."""
    import torch
    import torch.nn.functional as F

    up = F.interpolate(logits[None].float(), size=hw, mode="bilinear", align_corners=False)[0]
    bin_ = torch.full((1, *hw), float(dustbin), device=up.device)
    return torch.cat([bin_, up]).cpu().numpy().astype(np.float32)


def check_descriptions(name: str, k: int | None, descriptions: list[str] | None) -> list[str]:
    """The descriptions a language method needs (oracle-k); one-line error without them."""
    if not descriptions:
        raise UserError(f"{name} needs the K region descriptions (protocol oracle-k); none were given")
    if k is not None and k != len(descriptions):
        raise UserError(f"{name}: k={k} but {len(descriptions)} descriptions were given")
    return list(descriptions)
