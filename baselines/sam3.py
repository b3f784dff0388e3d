"""SAM 3 alone (manifest ``sam3``) through transformers, over the shared :class:`baselines._sam3.Sam3Grounder`.

``mode`` chooses how text becomes channels; the last three are the Detecture authors' SAM 3
conventions (``Qwen2SAM_Detecture_Benchmark/eval_sam3_vanilla.py`` and
``steelman/eval_sam3_vanilla_inverse.py`` of github.com/aviadcohz/Detecture; re-implemented):

- ``auto`` (default): oracle-k grounds the K GT descriptions (one multiplexed batch row each);
  with ``prompts`` set and K known, those fixed phrases instead (padded by repeating the last);
  otherwise one generic prompt's top proposals (K of them, or those scoring >=
  ``proposal_threshold``, at least one, at most ``max_regions``, after optional mask NMS).
- ``static``: the fixed ``prompts``, one semantic-head channel each, cut or padded (repeating the
  last) to K when K is given (the authors' ``mode: static``; CAID "water surface", the 2026-04
  RWTD/STLD "foreground texture", "background texture"). GT text is never used.
- ``inverse``: ONE prompt (``prompts[0]``, e.g. "texture"), its semantic map m, the channels
  [m, -m]: with the dustbin at 0 every pixel goes to channel 1 where m > 0 and to channel 2
  where m < 0 (the authors' K=2 "inverse trick" on RWTD/STLD). Always two channels: a K other
  than 2 fails the image.
- ``proposal``: ONE prompt (``prompts[0]``, else ``generic_prompt``) through SAM 3's instance
  decoder; proposals scoring > ``proposal_threshold`` (0.0 in the authors' K-peek mode: all of
  them), best first; with K the top K padded to K with the missing logit (-1e4), else at most
  ``max_regions`` (one missing-logit channel when none passes). A proposal's channel is its mask
  logit (the authors use 5 (2 p - 1) of its probability p: the same sign and order at every
  pixel, so the same partition against the dustbin at 0).

The dustbin is the constant logit ``dustbin_logit`` (channel 0). ``extras``: mode, prompts used,
proposal scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines._sam3 import Sam3Grounder, stack_scores, torchvision_reason
from benchmark.method import MethodUnavailable
from textureade.errors import UserError
from textureade.types import Prediction

MODES = ("auto", "static", "inverse", "proposal")


class Sam3Method:
    """SAM 3 alone (manifest ``sam3``); see the module docstring for the modes."""

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
        mode: str = "auto",
    ):
        if prompts is not None and (not isinstance(prompts, list) or not prompts):
            raise UserError(f"sam3: prompts must be a non-empty list of phrases, got {prompts!r}")
        if output not in ("semantic", "instances"):
            raise UserError(f"sam3: output must be 'semantic' or 'instances', got {output!r}")
        if mode not in MODES:
            raise UserError(f"sam3: mode must be one of {', '.join(MODES)}, got {mode!r}")
        if mode in ("static", "inverse") and not prompts:
            raise UserError(f"sam3: mode {mode} needs prompts (e.g. --option 'prompts=[texture]')")
        if mode == "inverse" and len(prompts or []) != 1:
            raise UserError(f"sam3: mode inverse takes ONE prompt (its map m gives [m, -m]), got {prompts!r}")
        reason = torchvision_reason()
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
        self.mode = mode

    @classmethod
    def check_available(cls, params: dict[str, Any]) -> str | None:
        """torchvision present (the weights are checked from the manifest, :mod:`benchmark.weights`)."""
        return torchvision_reason()

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        if self.mode == "inverse" and k is not None and k != 2:
            raise ValueError(f"sam3 mode inverse makes 2 channels [m, -m]; K={k} was asked")
        feats = self.grounder.encode_image(image)
        if self.mode == "inverse":
            m = self.grounder.ground(feats, self.prompts[:1], self.output)  # type: ignore[index]
            extras = {"mode": "inverse", "output": self.output, "prompts": self.prompts}
            return Prediction(scores=stack_scores(np.concatenate([m, -m]), self.dustbin_logit), extras=extras)
        if self.mode == "static" or (self.mode == "auto" and self.prompts and k is not None):
            prompts = self.prompts or []
            texts = (prompts + [prompts[-1]] * k)[:k] if k is not None else list(prompts)
            maps = self.grounder.ground(feats, texts, self.output)
            extras = {"mode": "fixed-prompts", "output": self.output, "prompts": texts}
            return Prediction(scores=stack_scores(maps, self.dustbin_logit), extras=extras)
        if self.mode == "auto" and descriptions:
            maps = self.grounder.ground(feats, list(descriptions), self.output)
            return Prediction(
                scores=stack_scores(maps, self.dustbin_logit),
                descriptions=list(descriptions),
                extras={"mode": "text", "output": self.output},
            )
        strict = self.mode == "proposal"
        prompt = self.prompts[0] if strict and self.prompts else self.generic_prompt
        maps, scores = self.grounder.propose(
            feats,
            prompt,
            k=k,
            max_regions=self.max_regions,
            threshold=self.proposal_threshold,
            nms_iou=self.nms_iou,
            strict=strict,
        )
        extras: dict[str, Any] = {"mode": "proposals", "prompt": prompt, "proposal_scores": scores}
        target = k
        if strict:  # the authors' proposal mode: K channels, or those kept (at least one)
            target = k if k is not None else max(len(maps), 1)
            extras.update(mode="proposal", threshold=self.proposal_threshold, n_padded=target - len(maps))
        return Prediction(scores=stack_scores(maps, self.dustbin_logit, target), extras=extras)
