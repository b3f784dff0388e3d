"""OpenAI-CLIP transformer blocks in official checkpoints (shared by the code and lseg architectures).

OpenAI's ``ResidualAttentionBlock`` (``nn.MultiheadAttention`` with a fused ``in_proj``, then a
``c_fc``/``c_proj`` MLP) is the block of every CLIP tower in the CoDe and LSeg checkpoints. Here:
its key -> shape table (:func:`openai_block_layout`, for the strict layout checks) and its
conversion onto a transformers ``CLIPEncoderLayer`` (:func:`openai_block_to_hf`). Pure key
bookkeeping: no torch import (tensors only need ``.chunk``).
"""

from __future__ import annotations

from typing import Any


def openai_block_layout(prefix: str, w: int) -> dict[str, tuple[int, ...]]:
    """An OpenAI-CLIP ResidualAttentionBlock's keys (nn.MultiheadAttention + c_fc/c_proj MLP)."""
    shapes = {
        "attn.in_proj_weight": (3 * w, w),
        "attn.in_proj_bias": (3 * w,),
        "attn.out_proj.weight": (w, w),
        "attn.out_proj.bias": (w,),
        "ln_1.weight": (w,),
        "ln_1.bias": (w,),
        "mlp.c_fc.weight": (4 * w, w),
        "mlp.c_fc.bias": (4 * w,),
        "mlp.c_proj.weight": (w, 4 * w),
        "mlp.c_proj.bias": (w,),
        "ln_2.weight": (w,),
        "ln_2.bias": (w,),
    }
    return {prefix + k: v for k, v in shapes.items()}


def openai_block_to_hf(src: dict[str, Any], prefix: str, dst: str, out: dict[str, Any]) -> None:
    """OpenAI block keys under ``prefix`` -> transformers CLIPEncoderLayer keys under ``dst``."""
    q, k, v = src[prefix + "attn.in_proj_weight"].chunk(3, dim=0)
    qb, kb, vb = src[prefix + "attn.in_proj_bias"].chunk(3, dim=0)
    for name, wt, b in (("q", q, qb), ("k", k, kb), ("v", v, vb)):
        out[f"{dst}self_attn.{name}_proj.weight"], out[f"{dst}self_attn.{name}_proj.bias"] = wt, b
    pairs = {
        "attn.out_proj": "self_attn.out_proj",
        "ln_1": "layer_norm1",
        "ln_2": "layer_norm2",
        "mlp.c_fc": "mlp.fc1",
        "mlp.c_proj": "mlp.fc2",
    }
    for a, b in pairs.items():
        for t in ("weight", "bias"):
            out[f"{dst}{b}.{t}"] = src[f"{prefix}{a}.{t}"]
