"""Labelling class-agnostic masks with the K descriptions by embedding matching (USE-style).

Shared by the USE re-implementation and the Semantic-SAM adapter. Given mask proposals (from SAM,
Semantic-SAM, ...), each mask gets one embedding: the mask-average of MaskCLIP-style dense CLIP
patch embeddings (which live in CLIP's text space). When DINOv2 features are given, masks are
also pooled in DINOv2 space and each CLIP mask embedding is mixed with those of the masks that
look alike there: ``e_i <- normalise((1 - beta) e_i + beta * sum_j softmax_j(cos(d_i, d_j) / tau) e_j)``
(our training-free stand-in for USE's learned fusion head). Masks are matched to the text
embeddings: ``p(k | mask) = softmax_k(scale * cos)``. Score maps: each pixel takes the average of
``p(k | mask)`` over the masks covering it, weighted by mask quality. Pixels no mask covers take the
dense per-pixel CLIP probabilities (``uncovered="dense"``) or stay with the dustbin
(``uncovered="dustbin"``). Output: (K + 1) x H x W, dustbin constant first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from textureade.errors import UserError


@dataclass
class Proposals:
    """Class-agnostic masks: ``masks`` (M, H, W) bool at image size, ``quality`` (M,) float in [0, 1]."""

    masks: np.ndarray
    quality: np.ndarray

    def __post_init__(self) -> None:
        self.masks = np.asarray(self.masks, dtype=bool)
        self.quality = np.asarray(self.quality, dtype=np.float32).reshape(-1)
        if self.masks.ndim != 3 or len(self.quality) != len(self.masks):
            raise ValueError(f"proposals: masks {self.masks.shape} and quality {self.quality.shape} disagree")


def pooled_embeddings(features: Any, masks: Any) -> Any:
    """Mask-average pooling. features: (D, h, w) tensor; masks: (M, H, W) bool tensor -> (M, D) normalised.

    Masks are area-resized to the feature grid; a mask too small to cover any grid cell takes the
    feature under its centroid.
    """
    import torch
    import torch.nn.functional as F

    d, h, w = features.shape
    m = masks.float()
    weights = F.interpolate(m[None], size=(h, w), mode="area")[0].reshape(len(m), -1)  # (M, h*w)
    empty = weights.sum(dim=1) <= 1e-8
    if empty.any():
        hh, ww = masks.shape[-2:]
        ys = torch.arange(hh, device=m.device, dtype=torch.float32)
        xs = torch.arange(ww, device=m.device, dtype=torch.float32)
        for i in torch.nonzero(empty).flatten().tolist():
            area = m[i].sum().clamp(min=1.0)
            cy = (m[i].sum(dim=1) * ys).sum() / area * h / hh
            cx = (m[i].sum(dim=0) * xs).sum() / area * w / ww
            weights[i, int(cy.clamp(0, h - 1)) * w + int(cx.clamp(0, w - 1))] = 1.0
    pooled = weights @ features.reshape(d, -1).T
    return F.normalize(pooled / weights.sum(dim=1, keepdim=True), dim=-1)


def propagate(clip_emb: Any, dino_emb: Any, beta: float, tau: float) -> Any:
    """Mix each mask's CLIP embedding with those of masks similar in DINOv2 space (see module doc)."""
    import torch
    import torch.nn.functional as F

    affinity = torch.softmax(dino_emb @ dino_emb.T / tau, dim=1)
    return F.normalize((1.0 - beta) * clip_emb + beta * affinity @ clip_emb, dim=-1)


def assign(mask_emb: Any, text_emb: Any, scale: float) -> Any:
    """(M, D) x (K, D), both normalised -> (M, K) soft assignment softmax_k(scale * cos)."""
    import torch

    return torch.softmax(scale * mask_emb @ text_emb.T, dim=1)


def vote_maps(masks: Any, quality: Any, probs: Any) -> tuple[Any, Any]:
    """Quality-weighted average of per-mask probabilities per pixel.

    masks (M, H, W) bool, quality (M,), probs (M, K) -> ((K, H, W) maps, (H, W) bool covered).
    """
    import torch

    m = masks.float() * quality.clamp(min=1e-6)[:, None, None]
    den = m.sum(dim=0)
    num = torch.einsum("mhw,mk->khw", m, probs)
    covered = den > 0
    return num / den.clamp(min=1e-12), covered


def dense_probabilities(features: Any, text_emb: Any, scale: float, hw: tuple[int, int]) -> Any:
    """Per-pixel softmax_k(scale * cos) from (D, h, w) normalised features, upsampled to ``hw`` -> (K, H, W)."""
    import torch
    import torch.nn.functional as F

    logits = scale * torch.einsum("dhw,kd->khw", features, text_emb)
    up = F.interpolate(logits[None], size=hw, mode="bilinear", align_corners=False)[0]
    return torch.softmax(up, dim=0)


@dataclass
class MatchOptions:
    """How masks are labelled: softmax scale, DINOv2 mixing, what uncovered pixels get, the dustbin."""

    scale: float = 50.0
    dino_beta: float = 0.5
    dino_tau: float = 0.1
    uncovered: str = "dense"
    dustbin: float = 0.0

    def __post_init__(self) -> None:
        if self.uncovered not in ("dense", "dustbin"):
            raise UserError(f"uncovered must be 'dense' or 'dustbin', got {self.uncovered!r}")
        if not 0.0 <= self.dino_beta <= 1.0 or self.dino_tau <= 0:
            raise UserError(
                f"need 0 <= dino_beta <= 1 and dino_tau > 0, got {self.dino_beta}, {self.dino_tau}"
            )


def label_proposals(
    proposals: Proposals,
    clip_features: Any,
    text_emb: Any,
    opts: MatchOptions,
    dino_features: Any | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """(K + 1, H, W) float32 scores (dustbin first) and diagnostics for one image.

    clip_features: (D, h, w) normalised CLIP-space features; text_emb: (K, D) normalised;
    dino_features: optional (Dd, h', w') features for the DINOv2 mixing.
    """
    import torch

    dev = clip_features.device
    hw = proposals.masks.shape[1:]
    k = len(text_emb)
    dense = (
        dense_probabilities(clip_features, text_emb, opts.scale, hw) if opts.uncovered == "dense" else None
    )
    if len(proposals.masks):
        masks = torch.from_numpy(proposals.masks).to(dev)
        emb = pooled_embeddings(clip_features, masks)
        if dino_features is not None:
            emb = propagate(emb, pooled_embeddings(dino_features, masks), opts.dino_beta, opts.dino_tau)
        probs = assign(emb, text_emb, opts.scale)
        maps, covered = vote_maps(masks, torch.from_numpy(proposals.quality).to(dev), probs)
    else:
        maps, covered = torch.zeros((k, *hw), device=dev), torch.zeros(hw, dtype=torch.bool, device=dev)
    if dense is not None:
        maps = torch.where(covered[None], maps, dense)
    scores = torch.cat([torch.full((1, *hw), float(opts.dustbin), device=dev), maps.float()])
    extras = {"n_masks": int(len(proposals.masks)), "coverage": float(covered.float().mean())}
    return scores.cpu().numpy().astype(np.float32), extras
