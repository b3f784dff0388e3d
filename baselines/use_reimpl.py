"""A re-implementation of USE's inference design (Wang et al., "USE: Universal Segment Embeddings for
Open-Vocabulary Image Segmentation", CVPR 2024). USE has no public code or weights, so this is
*not* USE: it follows the paper's pipeline with training-free parts.

1. Class-agnostic proposals: transformers ``SamModel`` prompted with a regular grid of points
   (SAM's automatic mask generation: 3 masks per point, keep predicted IoU >= ``pred_iou_thresh``
   and stability >= ``stability_thresh`` — both computed on the low-resolution logits — box NMS
   at ``nms_iou``, at most ``max_masks``, masks upsampled with the processor).
2. One embedding per mask: MaskCLIP-style dense CLIP patch embeddings, mask-average pooled; with
   DINOv2 weights, DINOv2 patch features are pooled too and fused (see :mod:`baselines.mask_matching`;
   USE learns this fusion, we do not).
3. Matching to the K descriptions by cosine similarity -> per-mask soft assignment -> score maps.
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
)
from baselines.mask_matching import MatchOptions, Proposals, label_proposals
from textureade.errors import UserError
from textureade.types import Prediction


def point_grid(h: int, w: int, n: int) -> np.ndarray:
    """(n * n, 2) float32 (x, y) pixel coordinates of an n x n grid of cell centres."""
    ys = (np.arange(n) + 0.5) / n * h
    xs = (np.arange(n) + 0.5) / n * w
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)


def stability(logits: Any, offset: float, threshold: float = 0.0) -> Any:
    """SAM's stability score: IoU of the masks at ``threshold + offset`` and ``threshold - offset``."""
    hi = (logits > threshold + offset).flatten(1).sum(1).float()
    lo = (logits > threshold - offset).flatten(1).sum(1).float()
    return hi / lo.clamp(min=1.0)


def mask_boxes(masks: Any) -> Any:
    """(N, h, w) bool -> (N, 4) float xyxy boxes (masks must be non-empty)."""
    import torch

    rows, cols = masks.any(dim=2), masks.any(dim=1)
    ar_h = torch.arange(masks.shape[1], device=masks.device)
    ar_w = torch.arange(masks.shape[2], device=masks.device)
    y0 = torch.where(rows, ar_h, masks.shape[1]).min(1).values
    y1 = torch.where(rows, ar_h, -1).max(1).values
    x0 = torch.where(cols, ar_w, masks.shape[2]).min(1).values
    x1 = torch.where(cols, ar_w, -1).max(1).values
    return torch.stack([x0, y0, x1 + 1, y1 + 1], dim=1).float()


def sam_proposals(model: Any, processor: Any, image: np.ndarray, o: dict[str, Any]) -> Proposals:
    """SAM automatic masks for one image (see the module docstring for the steps and ``o``'s keys)."""
    import torch
    from torchvision.ops import nms

    h, w = image.shape[:2]
    dev = next(model.parameters()).device
    inputs = processor(images=image, return_tensors="pt")
    rh, rw = (int(v) for v in inputs["reshaped_input_sizes"][0])
    with torch.inference_mode():
        emb = model.get_image_embeddings(inputs["pixel_values"].to(dev))
        points = torch.from_numpy(
            point_grid(h, w, o["points_per_side"]) * np.array([rw / w, rh / h], np.float32)
        )
        logits, scores = [], []
        for i in range(0, len(points), o["points_batch"]):
            pts = points[i : i + o["points_batch"]].to(dev)[None, :, None, :]
            out = model(image_embeddings=emb, input_points=pts, multimask_output=True)
            low = out.pred_masks[0].flatten(0, 1)  # (3B, h', w') logits
            iou = out.iou_scores[0].flatten()
            keep = (iou >= o["pred_iou_thresh"]) & (
                stability(low, o["stability_offset"]) >= o["stability_thresh"]
            )
            keep &= (low > 0).flatten(1).any(1)
            logits.append(low[keep])
            scores.append(iou[keep])
        low, iou = torch.cat(logits), torch.cat(scores)
        if len(low):
            kept = nms(mask_boxes(low > 0), iou.float(), o["nms_iou"])[: o["max_masks"]]
            low, iou = low[kept], iou[kept]
            up = processor.post_process_masks(
                low[None, :, None].cpu(),
                inputs["original_sizes"],
                inputs["reshaped_input_sizes"],
                binarize=True,
            )[0][:, 0]
        else:
            up = torch.zeros((0, h, w), dtype=torch.bool)
    area = up.flatten(1).sum(1).float() / float(h * w)
    good = area >= o["min_area"]
    return Proposals(masks=up[good].numpy(), quality=iou.cpu()[good].clamp(0, 1).numpy())


def dino_features(model: Any, mean: list[float], std: list[float], image: np.ndarray, short_side: int) -> Any:
    """(Dd, h', w') DINOv2 patch features (prefix tokens dropped) of the image resized to ``short_side``."""
    import torch

    patch = model.config.patch_size
    x = image_tensor(image, short_side, mean, std, str(next(model.parameters()).device))
    hh, ww = (x.shape[-2] // patch) * patch, (x.shape[-1] // patch) * patch
    x = x[:, :, :hh, :ww]
    with torch.inference_mode():
        tokens = model(pixel_values=x).last_hidden_state[0]
    n_prefix = 1 + int(getattr(model.config, "num_register_tokens", 0) or 0)
    return tokens[n_prefix:].T.reshape(-1, hh // patch, ww // patch).float()


class UseReimpl:
    """USE-style mask labelling: SAM proposals + pooled CLIP (and DINOv2) embeddings + text matching."""

    name = "use-reimpl"

    def __init__(
        self,
        sam: str = "facebook/sam-vit-huge",
        clip: str = "openai/clip-vit-base-patch16",
        dinov2: str | None = None,
        revision: str | None = None,
        device: str = "auto",
        points_per_side: int = 32,
        points_batch: int = 64,
        pred_iou_thresh: float = 0.88,
        stability_thresh: float = 0.95,
        stability_offset: float = 1.0,
        nms_iou: float = 0.7,
        max_masks: int = 200,
        min_area: float = 0.0005,
        clip_variant: str = "maskclip",
        clip_short_side: int = 448,
        dino_short_side: int = 448,
        templates: list[str] | None = None,
        scale: float = 50.0,
        dino_beta: float = 0.5,
        dino_tau: float = 0.1,
        uncovered: str = "dense",
        dustbin: float = 0.0,
    ) -> None:
        from transformers import AutoImageProcessor, Dinov2Model, SamModel, SamProcessor

        from textureade.hf import load_pretrained, pick_device

        if clip_variant not in VARIANTS:
            raise UserError(f"use-reimpl: clip_variant must be one of {', '.join(VARIANTS)}")
        self.match = MatchOptions(scale, dino_beta, dino_tau, uncovered, dustbin)
        self.device = pick_device(device)
        self.sam = load_pretrained(SamModel, sam, what="sam model", revision=revision).eval().to(self.device)
        self.sam_processor = load_pretrained(SamProcessor, sam, what="sam processor", revision=revision)
        self.clip, self.tokenizer, (self.mean, self.std) = load_clip(clip, revision, self.device, None)
        self.dino = None
        if dinov2:
            self.dino = load_pretrained(Dinov2Model, dinov2, what="dinov2 model").eval().to(self.device)
            proc = load_pretrained(AutoImageProcessor, dinov2, what="dinov2 image processor")
            self.dino_norm = (list(proc.image_mean), list(proc.image_std))
        self.o = {
            "points_per_side": int(points_per_side),
            "points_batch": int(points_batch),
            "pred_iou_thresh": float(pred_iou_thresh),
            "stability_thresh": float(stability_thresh),
            "stability_offset": float(stability_offset),
            "nms_iou": float(nms_iou),
            "max_masks": int(max_masks),
            "min_area": float(min_area),
        }
        self.clip_variant, self.clip_short_side, self.dino_short_side = (
            clip_variant,
            clip_short_side,
            dino_short_side,
        )
        self.templates = list(templates or ["{}"])

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        import torch

        texts = check_descriptions(self.name, k, descriptions)
        proposals = sam_proposals(self.sam, self.sam_processor, image, self.o)
        with torch.inference_mode():
            text, truncated = encode_texts(self.clip, self.tokenizer, texts, self.templates)
            x = image_tensor(image, self.clip_short_side, self.mean, self.std, self.device)
            feats = dense_features(self.clip, x, self.clip_variant)[0]
            dino = None
            if self.dino is not None:
                dino = dino_features(self.dino, *self.dino_norm, image, self.dino_short_side)
            scores, extras = label_proposals(proposals, feats, text, self.match, dino)
        extras.update({"truncated_descriptions": int(truncated), "dinov2": self.dino is not None})
        return Prediction(scores=scores, descriptions=texts, extras=extras)
