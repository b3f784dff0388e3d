"""DETECTURE's trained parts and the published checkpoint layout (imported lazily: needs torch).

Architecture (Cohen Zada et al. 2026, public code ``Qwen2SAM_Detecture/models``, read not copied):
- Qwen3-VL with LoRA (r=8, alpha=16, q_proj/v_proj of the language model) and a ``<|seg|>`` token
  whose embedding and lm_head rows were trained;
- :class:`Bridge`: Linear(D_llm -> D_text) + LayerNorm + GELU + Dropout(0.4); D_text is SAM 3's text
  encoder width (1024), so SAM 3's own frozen resizer (transformers ``Sam3Model.text_projection``,
  Linear(1024 -> 256)) finishes the projection;
- a learned dustbin embedding (1, 1, D_llm) that takes query slot 0;
- :class:`MaskHead`: MLP on queries (256 -> 256 -> 256, GELU) and a 1x1 conv on SAM 3's pixel
  embeddings; logits = einsum("bqc,bchw->bqhw") -> (B, 7, h, w), slots [dustbin, seg_1..seg_K, pad].

Checkpoint layout, derived from the authors' ``training/utils.py::save_checkpoint`` and model code:
``torch.save({"epoch", "optimizer", "model_trainable": {name: tensor for every parameter with
requires_grad}, "dustbin_embed", "val_iou", "phase"})`` where the names are the top module's
``named_parameters()``: the VLM sits under ``qwen`` wrapped by peft (``qwen.base_model.model.`` +
the transformers name), LoRA tensors are ``...{q,v}_proj.lora_{A,B}.default.weight``, and in the
final (stage 2) checkpoint the full ``embed_tokens.weight`` and ``lm_head.weight`` tensors are
trainable too (a gradient mask limits updates to the ``<|seg|>`` row). See :func:`published_keys`.
Confirmed from the code: the module names, the two-stage curriculum, the dict keys above; and, from
transformers' SAM 3 conversion maps, that Meta's ``backbone.language_backbone.resizer`` is
``Sam3Model.text_projection`` and ``segmentation_head.cross_attend_prompt`` / ``cross_attn_norm``
are ``mask_decoder.prompt_cross_attn`` / ``prompt_cross_attn_norm``. Not
confirmed (no checkpoint file was available here): that the released file is a stage-2 checkpoint
(the 7.5 GB size fits two bf16 vocab x 4096 tensors plus their AdamW moments), the tensor dtypes,
and the transformers version's module names (we assume ``model.language_model.layers.N`` and
``lm_head``, as in transformers 4.57-5.x). A flat safetensors file with the same keys also loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from baselines.safe_ckpt import load_state_dict
from textureade.errors import UserError

SEG_TOKEN = "<|seg|>"
MAX_TEXTURES = 6
PEFT_PREFIX = "qwen.base_model.model."
LAYER_KEY = "model.language_model.layers.{i}.self_attn.{proj}"
EMBED_KEY = PEFT_PREFIX + "model.language_model.embed_tokens.weight"
LM_HEAD_KEY = PEFT_PREFIX + "lm_head.weight"
LORA_TARGETS = ("q_proj", "v_proj")


class Bridge(nn.Module):
    """(B, N, D_llm) -> (B, N, D_text): Linear + LayerNorm + GELU + Dropout. Keys ``proj.{0,1}.*``."""

    def __init__(self, d_llm: int, d_text: int, dropout: float = 0.4):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Linear(d_llm, d_text), nn.LayerNorm(d_text), nn.GELU(), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class MaskHead(nn.Module):
    """queries (B, N, D) and pixel embeddings (B, D, h, w) -> mask logits (B, N, h, w)."""

    def __init__(self, dim: int = 256, mask_dim: int = 256):
        super().__init__()
        self.query_mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, mask_dim))
        self.pixel_head = nn.Conv2d(dim, mask_dim, kernel_size=1)

    def forward(self, queries: torch.Tensor, pixel_embed: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bqc,bchw->bqhw", self.query_mlp(queries), self.pixel_head(pixel_embed))


class DetectureHeads(nn.Module):
    """Bridge + mask head + learned dustbin; ``state_dict`` keys equal the published ones."""

    def __init__(self, d_llm: int, d_text: int, d_sam: int, dropout: float = 0.4):
        super().__init__()
        self.bridge = Bridge(d_llm, d_text, dropout)
        self.dustbin_embed = nn.Parameter(torch.zeros(1, 1, d_llm))
        self.mask_head = MaskHead(d_sam, d_sam)


def multiplexed_logits(sam: Any, heads: DetectureHeads, vision: Any, states: torch.Tensor) -> torch.Tensor:
    """(K + 1, h, w) mask logits for [dustbin, seg_1..seg_K]; each query alone in its own SAM 3 row.

    sam: transformers ``Sam3Model`` (frozen); vision: its batch-1 ``get_vision_features`` output;
    states: (K, D_llm) ``<|seg|>`` hidden states. Queries -> Bridge -> SAM 3's frozen resizer
    (``text_projection``) -> fusion encoder with the query as prompt -> prompt cross-attention ->
    pixel decoder -> mask head. Differentiable in the heads and ``states`` (no grad mode is set
    here: inference wraps it in ``inference_mode``, training does not).
    """
    llm = torch.cat([heads.dustbin_embed[0], states.to(heads.dustbin_embed.dtype)], dim=0)
    query = sam.text_projection(heads.bridge(llm).to(sam.dtype))[:, None, :]  # (N, 1, D)
    n = query.shape[0]
    fpn = tuple(t.expand(n, *t.shape[1:]) for t in vision.fpn_hidden_states[:-1])
    pos = tuple(t.expand(n, *t.shape[1:]) for t in vision.fpn_position_encoding[:-1])
    enc = sam.detr_encoder(vision_features=[fpn[-1]], text_features=query, vision_pos_embeds=[pos[-1]])
    dec = sam.mask_decoder
    hidden = enc.last_hidden_state
    attn = dec.prompt_cross_attn(query=dec.prompt_cross_attn_norm(hidden), key=query, value=query)[0]
    pixel = dec._embed_pixels(backbone_features=list(fpn), encoder_hidden_states=hidden + attn)
    return heads.mask_head(query, pixel.float())[:, 0]


def published_keys(n_layers: int) -> set[str]:
    """Every key of a stage-2 ``model_trainable`` dict for a VLM with ``n_layers`` text layers."""
    keys = {EMBED_KEY, LM_HEAD_KEY, "dustbin_embed"}
    keys |= {f"bridge.proj.{i}.{p}" for i in (0, 1) for p in ("weight", "bias")}
    keys |= {f"mask_head.query_mlp.{i}.{p}" for i in (0, 2) for p in ("weight", "bias")}
    keys |= {"mask_head.pixel_head.weight", "mask_head.pixel_head.bias"}
    for i in range(n_layers):
        for proj in LORA_TARGETS:
            base = PEFT_PREFIX + LAYER_KEY.format(i=i, proj=proj)
            keys |= {f"{base}.lora_A.default.weight", f"{base}.lora_B.default.weight"}
    return keys


def read_checkpoint(path: str | Path, n_layers: int) -> dict[str, torch.Tensor]:
    """The published trainable tensors, keys checked strictly against :func:`published_keys`.

    ``path``: the authors' torch checkpoint (its ``model_trainable`` dict) or a flat ``.safetensors``
    file with the same keys, read by :func:`baselines.safe_ckpt.load_state_dict`.
    """
    flat = load_state_dict(path, "detecture", keys=("model_trainable",))
    expected = published_keys(n_layers)
    missing, unexpected = sorted(expected - set(flat)), sorted(set(flat) - expected)
    if missing or unexpected:

        def few(keys: list[str]) -> str:
            more = f" (+{len(keys) - 3} more)" if len(keys) > 3 else ""
            return ", ".join(keys[:3]) + more

        parts = [
            f"missing {len(missing)}: {few(missing)}" if missing else "",
            f"unexpected {len(unexpected)}: {few(unexpected)}" if unexpected else "",
        ]
        raise UserError(
            f"detecture checkpoint {path} does not match the published layout for a {n_layers}-layer VLM: "
            + "; ".join(x for x in parts if x)
        )
    return flat


def block_diagonal_mask(ids: torch.Tensor, seg_id: int, start: int, dtype: torch.dtype) -> torch.Tensor:
    """(1, 1, L, L) additive mask: causal, and each TEXTURE block blind to the earlier blocks.

    ids: (L,) token ids; start: index of the first assistant token. Block k runs from just after
    seg_{k-1} (or ``start``) to seg_k inclusive. Every block sees the shared prefix and itself.
    """
    length = ids.shape[0]
    allowed = torch.tril(torch.ones(length, length, dtype=torch.bool, device=ids.device))
    segs = [int(p) for p in (ids == seg_id).nonzero().flatten() if int(p) >= start]
    bounds, begin = [], start
    for p in segs:
        bounds.append((begin, p))
        begin = p + 1
    for k in range(1, len(bounds)):
        r0, r1 = bounds[k]
        allowed[r0 : r1 + 1, bounds[0][0] : bounds[k - 1][1] + 1] = False
    mask = torch.zeros(length, length, dtype=dtype, device=ids.device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[None, None]


def random_published_state(n_layers: int, d_llm: int, q_out: int, v_out: int, vocab: int, d_text: int,
                           d_sam: int, r: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:  # fmt: skip
    """A random ``model_trainable`` dict in the published layout (tests and the smoke hook)."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * 0.1

    heads = DetectureHeads(d_llm, d_text, d_sam)
    state = {k: rand(*v.shape) for k, v in heads.state_dict().items()}
    state[EMBED_KEY], state[LM_HEAD_KEY] = rand(vocab, d_llm), rand(vocab, d_llm)
    for i in range(n_layers):
        for proj, out in (("q_proj", q_out), ("v_proj", v_out)):
            base = PEFT_PREFIX + LAYER_KEY.format(i=i, proj=proj)
            state[f"{base}.lora_A.default.weight"] = rand(r, d_llm)
            state[f"{base}.lora_B.default.weight"] = rand(out, r)
    return state
