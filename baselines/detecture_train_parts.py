"""DETECTURE training: the pure pieces (training example, LM token weights, loss terms, LR schedule).

Facts from the authors' code (github.com/aviadcohz/Detecture ``Qwen2SAM_Detecture/``, read, not
copied): ``data/dataset.py`` (1008x1008 resize, crop augmentation, ``create_labels``),
``models/losses.py`` (CE + Dice over the live channels, weighted LM loss) and
``training/utils.py`` (``WarmupCosineScheduler``). Shapes: image S x S x 3 uint8; target S x S
int64 with 0 = dustbin and 1..K the regions (K <= 6); mask logits (K + 1, h, w) in the slot order
[dustbin, seg_1..seg_K] (pad slots are never computed: with -inf logits they would add nothing to
the softmax, the CE or the live-channel Dice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from baselines.detecture import square_resize
from textureade.readers.mapping import nearest_resize


@dataclass
class Example:
    """One training example: the resized (maybe cropped) image, its target and K descriptions."""

    image: np.ndarray
    target: np.ndarray
    descriptions: list[str]


def training_example(sample: Any, size: int, max_textures: int, crop_prob: float, crop_min: int,
                     crop_max: int, rng: np.random.Generator) -> Example:  # fmt: skip
    """The authors' ``DetectureDataset.__getitem__``: resize to size x size (image bilinear, labels
    nearest), keep the first ``max_textures`` regions (others -> dustbin 0) and with probability
    ``crop_prob`` crop a random square of side U[crop_min, crop_max] (pixels at size 1008, scaled),
    kept only when >= 2 regions survive, renumbered 1..K' in order, resized back to size x size."""
    image = square_resize(sample.image, size)
    target = nearest_resize(sample.label_map, (size, size)).astype(np.int64)
    target[target > max_textures] = 0
    descriptions = list(sample.descriptions[:max_textures])
    if rng.random() < crop_prob:
        scale = size / 1008.0
        lo, hi = max(1, round(crop_min * scale)), max(1, round(crop_max * scale))
        side = min(int(rng.integers(lo, hi + 1)), size)
        y, x = int(rng.integers(0, size - side + 1)), int(rng.integers(0, size - side + 1))
        crop = target[y : y + side, x : x + side]
        alive = [int(v) for v in np.unique(crop) if v > 0]
        if len(alive) >= 2:
            remap = np.zeros(max_textures + 1, dtype=np.int64)
            remap[alive] = np.arange(1, len(alive) + 1)
            image = square_resize(np.ascontiguousarray(image[y : y + side, x : x + side]), size)
            target = nearest_resize(remap[crop], (size, size))
            descriptions = [descriptions[i - 1] for i in alive]
    return Example(image=image, target=target, descriptions=descriptions)


def lm_weights(ids: Any, start: int, seg_id: int, alpha: float) -> Any:
    """(L,) float32 per-token LM weights, the authors' "Shifted-Zero" ``create_labels``.

    d = distance to the nearest ``<|seg|>`` at or after ``start`` (the first assistant token);
    w = 1 - exp(-alpha d); w = 1 at each ``<|seg|>`` (the token to emit), 0 one token after it
    (its hidden state is left to the mask loss); 0 before ``start``. No seg token: all zeros.
    """
    import torch

    length = ids.shape[0]
    pos = torch.arange(length)
    segs = pos[(ids.cpu() == seg_id) & (pos >= start)]
    if segs.numel() == 0:
        return torch.zeros(length)
    d = (pos[:, None] - segs[None, :]).abs().min(dim=1).values.float()
    w = 1.0 - torch.exp(-alpha * d)
    w[segs] = 1.0
    after = segs + 1
    w[after[after < length]] = 0.0
    w[:start] = 0.0
    return w


def lm_loss_sum(logits: Any, ids: Any, weights: Any) -> Any:
    """Sum over t of weights[t + 1] * CE(logits[t], ids[t + 1]) (causal shift); logits (L, V)."""
    import torch.nn.functional as F

    per = F.cross_entropy(logits[:-1].float(), ids[1:], reduction="none")
    return (per * weights[1:].to(per.device)).sum()


def mask_loss_sums(logits: Any, target: Any, smooth: float) -> tuple[Any, Any]:
    """(CE summed over pixels, Dice loss summed over the K + 1 live channels) of one image.

    logits (K + 1, h, w) are upsampled (bilinear) to the target's S x S first, as in the authors'
    ``combined_loss``; Dice per channel 1 - (2 |P.G| + smooth) / (|P| + |G| + smooth), P the softmax.
    """
    import torch
    import torch.nn.functional as F

    size = tuple(target.shape)
    up = F.interpolate(logits[None].float(), size=size, mode="bilinear", align_corners=False)[0]
    ce = F.cross_entropy(up[None], target[None], reduction="sum")
    probs = torch.softmax(up, dim=0).flatten(1)
    onehot = F.one_hot(target.flatten(), num_classes=up.shape[0]).T.float()
    inter, union = (probs * onehot).sum(1), probs.sum(1) + onehot.sum(1)
    dice = (1.0 - (2.0 * inter + smooth) / (union + smooth)).sum()
    return ce, dice


class WarmupCosine:
    """The authors' ``WarmupCosineScheduler``: per group, lr = base * t / W for t <= W, else
    min_lr + (base - min_lr) (1 + cos(pi (t - W) / (T - W))) / 2; t counts ``step()`` calls (one
    per optimizer step, made after it, so the first step runs at the base rate, as theirs does)."""

    def __init__(self, optimizer: Any, warmup_steps: int, total_steps: int, min_lr: float):
        self.optimizer, self.warmup, self.total, self.min_lr = optimizer, warmup_steps, total_steps, min_lr
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.t = 0

    def lr(self, base: float) -> float:
        if self.t <= self.warmup:
            return base * self.t / max(self.warmup, 1)
        progress = (self.t - self.warmup) / max(self.total - self.warmup, 1)
        return self.min_lr + 0.5 * (base - self.min_lr) * (1.0 + math.cos(math.pi * progress))

    def step(self) -> None:
        self.t += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.lr(base)

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t, self.base_lrs = int(state["t"]), [float(x) for x in state["base_lrs"]]
