"""Semantic-SAM (Li et al., 2023) automatic masks, labelled with the descriptions by embedding matching.

The official code (github:UX-Decoder/Semantic-SAM, MIT) needs a detectron2 fork built from GitHub
and pins old torch/transformers; it cannot be installed in this environment (PyPI only, torch 2.x).
So this adapter runs only where the user has set it up separately: it imports the user's clone
(``repo``), builds the model with the official ``build_semantic_sam(model_type, ckpt)`` (which
hard-codes CUDA and config paths relative to the clone), prepares the image as the official
``prepare_image`` does (short side 640, bicubic), and runs ``SemanticSamAutomaticMaskGenerator``
at granularity ``levels`` (official default 1-6). Its masks carry no text; they are labelled by
the shared USE-style matching (:mod:`baselines.mask_matching`): mask-pooled MaskCLIP embeddings
vs the CLIP text embeddings of the descriptions. Without the fork, ``check_available`` says how
to install it and which weights to get.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from baselines._clip import (
    check_descriptions,
    dense_features,
    encode_texts,
    image_tensor,
    load_clip,
)
from baselines.mask_matching import MatchOptions, Proposals, label_proposals
from textureade.errors import UserError
from textureade.types import Prediction

INSTALL_HINT = (
    "Semantic-SAM needs its detectron2 fork, which cannot be installed here (built from GitHub, pins "
    "torch 1.13); on a CUDA machine run `pip install 'git+https://github.com/MaureenZOU/detectron2-xyz.git' "
    "git+https://github.com/cocodataset/panopticapi.git`, `git clone https://github.com/UX-Decoder/Semantic-SAM` "
    "and `pip install -r Semantic-SAM/requirements.txt`, download swinl_only_sam_many2many.pth (or "
    "swint_only_sam_many2many.pth with model_type=T) from its GitHub releases (tag 'checkpoint'), then pass "
    "--option repo=CLONE_DIR --option checkpoint=PATH"
)


def proposals_from_records(records: list[dict[str, Any]], hw: tuple[int, int]) -> Proposals:
    """SAM-style generator output (dicts with ``segmentation`` H' x W' bool, ``predicted_iou``) -> Proposals at ``hw``.

    Masks are resized with nearest neighbour when the generator ran on a resized image.
    """
    import torch
    import torch.nn.functional as F

    if not records:
        return Proposals(np.zeros((0, *hw), bool), np.zeros(0, np.float32))
    masks = torch.from_numpy(np.stack([np.asarray(r["segmentation"], dtype=bool) for r in records]))
    if tuple(masks.shape[1:]) != tuple(hw):
        masks = F.interpolate(masks[None].float(), size=hw, mode="nearest")[0] > 0.5
    quality = np.clip([float(r.get("predicted_iou", 1.0)) for r in records], 0.0, 1.0)
    keep = masks.flatten(1).any(1).numpy()
    return Proposals(masks.numpy()[keep], np.asarray(quality, np.float32)[keep])


def resize_short_side(image: np.ndarray, short: int) -> np.ndarray:
    """uint8 H x W x 3 -> short side ``short`` (bicubic, as the official ``prepare_image``)."""
    from PIL import Image

    h, w = image.shape[:2]
    s = short / min(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(image).resize(size, Image.BICUBIC))


class SemanticSam:
    """Semantic-SAM automatic masks + description matching (runs only with the official code installed)."""

    name = "semantic-sam"

    def __init__(
        self,
        repo: str | None = None,
        checkpoint: str | None = None,
        model_type: str = "L",
        levels: list[int] | None = None,
        short_side: int = 640,
        clip: str = "openai/clip-vit-base-patch16",
        revision: str | None = None,
        clip_short_side: int = 448,
        templates: list[str] | None = None,
        scale: float = 50.0,
        uncovered: str = "dense",
        dustbin: float = 0.0,
    ) -> None:
        params = {"repo": repo, "checkpoint": checkpoint, "clip": clip, "revision": revision}
        problem = self.check_available(params)
        if problem:
            raise UserError(f"semantic-sam: {problem}")
        if model_type not in ("L", "T"):
            raise UserError(
                f"semantic-sam: model_type must be 'L' (SwinL) or 'T' (SwinT), got {model_type!r}"
            )
        clone = str(Path(repo).expanduser().resolve())  # type: ignore[arg-type]
        if clone not in sys.path:
            sys.path.insert(0, clone)
        with contextlib.chdir(clone):  # the official builder reads configs/ relative to the clone
            from semantic_sam import SemanticSamAutomaticMaskGenerator, build_semantic_sam

            model = build_semantic_sam(model_type=model_type, ckpt=str(Path(checkpoint).expanduser()))  # type: ignore[arg-type]
        self.generator = SemanticSamAutomaticMaskGenerator(model, level=list(levels or [1, 2, 3, 4, 5, 6]))
        self.short_side, self.clip_short_side = int(short_side), int(clip_short_side)
        self.device = "cuda"
        self.clip, self.tokenizer, (self.mean, self.std) = load_clip(clip, revision, self.device, None)
        self.templates = list(templates or ["{}"])
        self.match = MatchOptions(scale=scale, uncovered=uncovered, dustbin=dustbin)

    @classmethod
    def check_available(cls, params: dict[str, Any]) -> str | None:
        if importlib.util.find_spec("detectron2") is None:
            return INSTALL_HINT
        repo = params.get("repo")
        if not repo or not (Path(str(repo)).expanduser() / "semantic_sam").is_dir():
            return f"Semantic-SAM clone not found at {repo}; {INSTALL_HINT}"
        import torch

        if not torch.cuda.is_available():
            return "the official Semantic-SAM code hard-codes CUDA and no CUDA GPU is visible here"
        return None

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        import torch

        texts = check_descriptions(self.name, k, descriptions)
        small = resize_short_side(image, self.short_side)
        with torch.inference_mode():
            records = self.generator.generate(torch.from_numpy(small.copy()).permute(2, 0, 1).cuda())
            proposals = proposals_from_records(records, image.shape[:2])
            text, truncated = encode_texts(self.clip, self.tokenizer, texts, self.templates)
            x = image_tensor(image, self.clip_short_side, self.mean, self.std, self.device)
            feats = dense_features(self.clip, x, "maskclip")[0]
            scores, extras = label_proposals(proposals, feats, text, self.match)
        extras["truncated_descriptions"] = int(truncated)
        return Prediction(scores=scores, descriptions=texts, extras=extras)
