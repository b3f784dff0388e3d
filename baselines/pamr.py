"""PAMR: pixel-adaptive mask refinement (Araslanov & Roth, "Single-Stage Semantic Segmentation from
Image Labels", CVPR 2020), written from the paper's definition.

For pixel i and each neighbour j in its 8-neighbourhoods at several dilations, the affinity is
``k(i, j) = -|I_i - I_j| / (lambda * sigma_i)``, averaged over image channels, where ``sigma_i`` is
the standard deviation of the image over the sampled neighbourhood of i (the 3 x 3 patterns at all
dilations, centre included once per dilation, as in the reference implementation) and lambda = 0.1.
The affinities are normalised with a softmax over the neighbours; the mask is then refined
``num_iter`` times by ``m_i <- sum_j alpha_ij m_j``. Borders replicate the edge pixels.
"""

from __future__ import annotations

from typing import Any


def neighbours(x: Any, dilations: tuple[int, ...], include_centre: bool) -> Any:
    """(B, C, H, W) -> (B, C, P, H, W): the 3 x 3 pattern of each dilation, row-major, edge-replicated.

    P = 8 * len(dilations), or 9 * len(dilations) with the centre.
    """
    import torch
    import torch.nn.functional as F

    _, _, h, w = x.shape
    pad = max(dilations)
    xp = F.pad(x, [pad] * 4, mode="replicate")
    out = []
    for d in dilations:
        for dy in (-d, 0, d):
            for dx in (-d, 0, d):
                if dy == 0 and dx == 0 and not include_centre:
                    continue
                out.append(xp[:, :, pad + dy : pad + dy + h, pad + dx : pad + dx + w])
    return torch.stack(out, dim=2)


def pamr_affinity(image: Any, dilations: tuple[int, ...], lam: float = 0.1) -> Any:
    """(B, 3, H, W) image -> (B, 1, P, H, W) softmax-normalised affinities to the P = 8 * D neighbours."""
    import torch

    sigma = neighbours(image, dilations, include_centre=True).std(dim=2, keepdim=True)
    diff = (neighbours(image, dilations, include_centre=False) - image[:, :, None]).abs()
    logits = (-diff / (1e-8 + lam * sigma)).mean(dim=1, keepdim=True)
    return torch.softmax(logits, dim=2)


def pamr(
    image: Any,
    mask: Any,
    num_iter: int = 10,
    dilations: tuple[int, ...] = (1, 2, 4, 8, 12, 24),
    lam: float = 0.1,
) -> Any:
    """Refine soft masks with image affinities.

    image: (B, 3, H, W) float (any normalisation); mask: (B, C, h, w) float, resized to H x W
    (bilinear, align_corners=True) first. Returns (B, C, H, W).
    """
    import torch.nn.functional as F

    mask = F.interpolate(mask, size=image.shape[-2:], mode="bilinear", align_corners=True)
    alpha = pamr_affinity(image, tuple(dilations), lam)
    for _ in range(num_iter):
        mask = (neighbours(mask, tuple(dilations), include_centre=False) * alpha).sum(dim=2)
    return mask
