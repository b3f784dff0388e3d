"""Grounded-SAM3 (manifest ``grounded-sam3``): the Detecture benchmark's box-to-mask baseline.

The authors' design (``Qwen2SAM_Detecture_Benchmark/eval_grounded_sam3.py`` and
``steelman/eval_gsam3_top1_inverse.py`` of github.com/aviadcohz/Detecture), re-implemented over
transformers:

1. Grounding DINO (``AutoModelForZeroShotObjectDetection``, ``IDEA-Research/grounding-dino-tiny``)
   reads ONE dot-separated phrase string, ``" . ".join(prompts) + " ."`` (e.g. "foreground texture .
   background texture ."), at the image's native resolution, and returns boxes above
   ``box_threshold`` (labels above ``text_threshold``), sorted by descending score.
2. Each kept box, as a normalised (cx, cy, w, h) of the native image, is SAM 3's only prompt: the
   geometry encoder's features go through the fusion encoder and the segmentation head's prompt
   cross-attention to the semantic head (no text tokens at all; the instance decoder's output is not
   used). One SAM 3 batch row per box over vision features computed once per image.
3. How many boxes, per the K the method is given (``k`` of ``predict``):
   - k == 2 and ``inverse_k2`` (the final protocol on RWTD/STLD): the top-1 box's map m gives the
     two channels [m, -m]; no detection -> both channels are the missing logit.
   - k given otherwise (the K-peek regime; CAID's K=1 in the final protocol, every dataset in the
     2026-04 protocol): the top min(n_det, k) boxes, padded to k with the missing logit (-1e4).
   - k None (``--no-k-peek --max-n 6``, ADE20k_Detecture in the final protocol): the top
     min(n_det, max_n) boxes, no padding; no detection -> one missing-logit channel.
4. Scores: [dustbin_logit, map_1..map_K'] at the image's resolution (bilinear), dustbin first.

GT descriptions are never used (the authors never give GT text to this baseline).
``extras``: mode, dino_text, n_detected, kept_scores, kept_boxes_xyxy, n_padded, timings.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from baselines._sam3 import Sam3Grounder, stack_scores, torchvision_reason
from benchmark.method import MethodUnavailable
from textureade.errors import UserError
from textureade.hf import load_pretrained
from textureade.types import Prediction


def dino_text(prompts: list[str]) -> str:
    """Grounding DINO's phrase string: ``["a", "b"]`` -> ``"a . b ."``."""
    return " . ".join(p.strip().rstrip(".").strip() for p in prompts) + " ."


def xyxy_to_cxcywh_norm(box: tuple[float, float, float, float], height: int, width: int) -> list[float]:
    """A pixel (x1, y1, x2, y2) box -> [cx, cy, w, h] as fractions of the image width/height (no clipping)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return [(x1 + x2) / 2.0 / width, (y1 + y2) / 2.0 / height, (x2 - x1) / width, (y2 - y1) / height]


class GroundedSam3:
    """Grounding DINO boxes -> SAM 3 geometry prompts -> semantic head; see the module docstring."""

    name = "grounded-sam3"

    def __init__(
        self,
        dino: str = "IDEA-Research/grounding-dino-tiny",
        sam3: str = "facebook/sam3",
        dino_revision: str | None = None,
        sam3_revision: str | None = None,
        device: str = "auto",
        dtype: str = "float32",
        prompts: list[str] | None = None,
        box_threshold: float = 0.2,
        text_threshold: float = 0.2,
        inverse_k2: bool = True,
        max_n: int = 6,
        dustbin_logit: float = 0.0,
    ):
        prompts = ["texture regions"] if prompts is None else prompts
        if not isinstance(prompts, list) or not prompts or not all(str(p).strip() for p in prompts):
            raise UserError(f"{self.name}: prompts must be a non-empty list of phrases, got {prompts!r}")
        if int(max_n) < 1:
            raise UserError(f"{self.name}: max_n must be >= 1, got {max_n!r}")
        reason = torchvision_reason()  # weights: the registry checks them from the manifest
        if reason:
            raise MethodUnavailable(f"{self.name}: {reason}")
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        self.grounder = Sam3Grounder(sam3, revision=sam3_revision, device=device, dtype=dtype)
        self.torch = self.grounder.torch
        self.dino_processor = load_pretrained(
            AutoProcessor, dino, what="grounding dino processor", revision=dino_revision
        )
        model = load_pretrained(
            AutoModelForZeroShotObjectDetection, dino, what="grounding dino model", revision=dino_revision
        )
        self.dino = model.to(self.grounder.device).eval()
        self.text = dino_text([str(p) for p in prompts])
        self.box_threshold, self.text_threshold = float(box_threshold), float(text_threshold)
        self.inverse_k2, self.max_n = bool(inverse_k2), int(max_n)
        self.dustbin_logit = float(dustbin_logit)
        self.timings = {"dino_detect": 0.0}

    @classmethod
    def check_available(cls, params: dict[str, Any]) -> str | None:
        """torchvision present (the weights are checked from the manifest, :mod:`benchmark.weights`)."""
        return torchvision_reason()

    # ---- steps -------------------------------------------------------------------------
    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grounding DINO on the native image: ((N, 4) xyxy pixel boxes, (N,) scores), best first."""
        from PIL import Image

        t0 = time.perf_counter()
        h, w = image.shape[:2]
        inputs = self.dino_processor(images=Image.fromarray(image), text=[self.text], return_tensors="pt")
        inputs = inputs.to(self.grounder.device)
        with self.torch.inference_mode():
            outputs = self.dino(**inputs)
        result = self.dino_processor.post_process_grounded_object_detection(
            outputs,
            inputs["input_ids"],
            threshold=self.box_threshold,
            text_threshold=self.text_threshold,
            target_sizes=[(h, w)],
        )[0]
        boxes = result["boxes"].detach().float().cpu().numpy().reshape(-1, 4)
        scores = result["scores"].detach().float().cpu().numpy().reshape(-1)
        order = np.argsort(-scores, kind="stable")
        self.timings["dino_detect"] += time.perf_counter() - t0
        return boxes[order], scores[order]

    def box_maps(self, feats: Any, boxes: np.ndarray) -> np.ndarray:
        """(N, H, W) semantic-head logits, one SAM 3 row per box (the box its only prompt)."""
        torch = self.torch
        h, w = feats.size
        if len(boxes) == 0:
            return np.zeros((0, h, w), np.float32)
        t0 = time.perf_counter()
        g = self.grounder
        n = len(boxes)
        norm = torch.tensor([[xyxy_to_cxcywh_norm(b, h, w)] for b in boxes], dtype=g.dtype, device=g.device)
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        hidden = g.model.config.detr_encoder_config.hidden_size
        no_text = BaseModelOutputWithPooling(
            pooler_output=torch.zeros(n, 0, hidden, dtype=g.dtype, device=g.device)
        )
        with torch.inference_mode():
            out = g.model(
                vision_embeds=g.expand(feats, n),
                text_embeds=no_text,
                input_boxes=norm,
                input_boxes_labels=torch.ones(n, 1, dtype=torch.long, device=g.device),
            )
            result = g.upsample(out.semantic_seg[:, 0], feats.size)
        g.timings["sam3_text_decode"] += time.perf_counter() - t0
        return result

    def _clock(self) -> dict[str, float]:
        return {**self.grounder.timings, **self.timings}

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        before = self._clock()
        boxes, scores = self.detect(image)
        n_det = len(boxes)
        if k == 2 and self.inverse_k2:
            mode, keep, target = "top1-inverse", min(n_det, 1), 2
        elif k is not None:
            mode, keep, target = "top-k", min(n_det, int(k)), int(k)
        else:
            mode, keep = "no-k-peek", min(n_det, self.max_n)
            target = max(keep, 1)
        feats = self.grounder.encode_image(image) if keep else None
        maps = self.box_maps(feats, boxes[:keep]) if keep else np.zeros((0, *image.shape[:2]), np.float32)
        if mode == "top1-inverse" and keep:
            maps = np.concatenate([maps, -maps], axis=0)
        after = self._clock()
        extras = {
            "mode": mode,
            "dino_text": self.text,
            "n_detected": n_det,
            "kept_scores": [float(s) for s in scores[:keep]],
            "kept_boxes_xyxy": [[float(v) for v in b] for b in boxes[:keep]],
            "n_padded": target - len(maps),
            "timings": {s: after[s] - before[s] for s in after},
        }
        return Prediction(scores=stack_scores(maps, self.dustbin_logit, target), extras=extras)
