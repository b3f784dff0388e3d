"""SAM 3 alone (manifest ``sam3``) through transformers, over the shared :class:`baselines._sam3.Sam3Grounder`.

oracle-k grounds the K GT descriptions (one multiplexed batch row each); oracle-k-blind and
autonomous ground one generic prompt and keep the top proposals (K of them, or those above
``proposal_threshold``, at most ``max_regions``, after optional mask NMS). ``prompts`` (a list of
fixed phrases, e.g. ["foreground texture", "background texture"] as in the Detecture paper's SAM 3
row on RWTD/STLD) replaces the descriptions whenever K is known (padded by repeating the last).
The dustbin is the constant logit ``dustbin_logit`` (channel 0). Defaults follow the Detecture
benchmark's SAM 3 baseline: semantic head for text, "texture regions" proposals above 0.5.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines._sam3 import Sam3Grounder, stack_scores, torchvision_reason
from benchmark.method import MethodUnavailable
from textureade.errors import UserError
from textureade.types import Prediction


class Sam3Method:
    """SAM 3 alone (manifest ``sam3``); see the module docstring for the three protocols."""

    name = "sam3"

    def __init__(
        self,
        sam3: str = "facebook/sam3",
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "float32",
        output: str = "semantic",
        dustbin_logit: float = 0.0,
        generic_prompt: str = "texture regions",
        proposal_threshold: float = 0.5,
        nms_iou: float = 1.0,
        max_regions: int = 6,
        prompts: list[str] | None = None,
    ):
        if prompts is not None and (not isinstance(prompts, list) or not prompts):
            raise UserError(f"sam3: prompts must be a non-empty list of phrases, got {prompts!r}")
        if output not in ("semantic", "instances"):
            raise UserError(f"sam3: output must be 'semantic' or 'instances', got {output!r}")
        reason = torchvision_reason()  # weights: the registry checks them from the manifest
        if reason:
            raise MethodUnavailable(f"sam3: {reason}")
        self.grounder = Sam3Grounder(sam3, revision=revision, device=device, dtype=dtype)
        self.output = output
        self.dustbin_logit = float(dustbin_logit)
        self.generic_prompt = generic_prompt
        self.proposal_threshold = float(proposal_threshold)
        self.nms_iou = float(nms_iou)
        self.max_regions = int(max_regions)
        self.prompts = [str(p) for p in prompts] if prompts else None

    @classmethod
    def check_available(cls, params: dict[str, Any]) -> str | None:
        """torchvision present (the weights are checked from the manifest, :mod:`benchmark.weights`)."""
        return torchvision_reason()

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        feats = self.grounder.encode_image(image)
        if self.prompts and k is not None:  # fixed phrases (the paper's RWTD/STLD/CAID setting)
            texts = (self.prompts + [self.prompts[-1]] * k)[:k]
            maps = self.grounder.ground(feats, texts, self.output)
            extras = {"mode": "fixed-prompts", "output": self.output, "prompts": texts}
            return Prediction(scores=stack_scores(maps, self.dustbin_logit), extras=extras)
        if descriptions:
            maps = self.grounder.ground(feats, list(descriptions), self.output)
            return Prediction(
                scores=stack_scores(maps, self.dustbin_logit),
                descriptions=list(descriptions),
                extras={"mode": "text", "output": self.output},
            )
        maps, scores = self.grounder.propose(
            feats,
            self.generic_prompt,
            k=k,
            max_regions=self.max_regions,
            threshold=self.proposal_threshold,
            nms_iou=self.nms_iou,
        )
        return Prediction(
            scores=stack_scores(maps, self.dustbin_logit, k),
            extras={"mode": "proposals", "prompt": self.generic_prompt, "proposal_scores": scores},
        )
