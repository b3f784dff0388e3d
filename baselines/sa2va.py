"""Sa2VA (manifest ``sa2va``): the Detecture benchmark's end-to-end VLM baseline, ByteDance/Sa2VA-4B.

The authors' design (``Qwen2SAM_Detecture_Benchmark/eval_vlm_end2end.py``, backend ``sa2va``, of
github.com/aviadcohz/Detecture), re-implemented here:

1. Sa2VA-4B at the authors' revision ``b5ffed22`` loads through transformers' remote-code path
   (``AutoModel`` / ``AutoTokenizer`` with ``trust_remote_code=True``, ``use_flash_attn=False``,
   slow tokenizer). Remote code is the model repository's own Python, run on this machine, so it is
   off unless the user passes ``--option trust_remote_code=true``; without it the method is
   unavailable with that one line.
2. One call per image: ``model.predict_forward(image=PIL, text=prompt, past_text="",
   mask_prompts=None, tokenizer=tok)`` with the dataset's conversational prompt (``prompts``: a list
   of one; ``<image>`` prepended when missing). The answer's [SEG] tokens give ``prediction_masks`` (one (1, H, W) mask
   each).
3. Masks resized to the image (bilinear) when needed, binarised at 0.5, empty ones dropped, ranked by
   area (largest first; Sa2VA has no per-mask confidence), score = area / largest area. Kept: the top
   K when K is given (padded to K with the missing logit -1e4), else the top ``max_n`` (``--no-k-peek
   --max-n 6``), no padding, at least one (missing-logit) channel.
4. Scores: [dustbin_logit, pos_logit * (2 m - 1) per kept mask m, ...]: +-5 for binary masks.

GT descriptions are never used. ``extras``: the answer text, number of masks, kept area scores,
padding, timings.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from baselines._sam3 import stack_scores
from benchmark.method import MethodUnavailable
from textureade.errors import UserError
from textureade.hf import load_pretrained, pick_device, torch_dtype
from textureade.types import Prediction

DEFAULT_PROMPT = (  # the authors' ADE20k_Detecture prompt
    "<image>Please give a brief description of this image, and respond with interleaved "
    "segmentation masks for every distinct region you mention."
)
REMOTE_CODE_REASON = (
    "{model} runs its own Python code from the model repository (transformers remote code), which "
    "stays off unless you allow it: pass --option trust_remote_code=true"
)


def rank_masks(masks: list[Any], size: tuple[int, int]) -> list[tuple[np.ndarray, float]]:
    """Sa2VA masks -> [(H x W float32 0/1 mask, area / largest area)], largest first, empty ones dropped.

    Each mask: (H', W') or (1, H', W') array; resized to ``size`` bilinearly when it differs, then
    binarised at 0.5. Equal areas keep Sa2VA's order.
    """
    import cv2

    h, w = size
    ranked: list[tuple[np.ndarray, float]] = []
    for m in masks:
        if m is None:
            continue
        arr = np.asarray(m).astype(np.float32)
        if arr.ndim == 3 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim != 2:
            raise ValueError(f"sa2va: a prediction mask of shape {arr.shape}; expected (H, W) or (1, H, W)")
        if arr.shape != (h, w):
            arr = cv2.resize(arr, (w, h), interpolation=cv2.INTER_LINEAR)
        binary = (arr > 0.5).astype(np.float32)
        area = float(binary.sum())
        if area > 0:
            ranked.append((binary, area))
    ranked.sort(key=lambda pair: pair[1], reverse=True)
    return [(m, a / ranked[0][1]) for m, a in ranked]


class Sa2VA:
    """ByteDance Sa2VA through its remote code; see the module docstring."""

    name = "sa2va"

    def __init__(
        self,
        model: str = "ByteDance/Sa2VA-4B",
        revision: str | None = "b5ffed22",
        trust_remote_code: bool = False,
        device: str = "auto",
        dtype: str = "bfloat16",
        prompts: list[str] | None = None,
        max_n: int = 6,
        pos_logit: float = 5.0,
        dustbin_logit: float = 0.0,
    ):
        prompts = [DEFAULT_PROMPT] if prompts is None else prompts
        if not isinstance(prompts, list) or len(prompts) != 1 or not str(prompts[0]).strip():
            raise UserError(
                f"{self.name}: prompts must be a list of ONE conversational prompt, got {prompts!r}"
            )
        prompt = str(prompts[0])
        if int(max_n) < 1:
            raise UserError(f"{self.name}: max_n must be >= 1, got {max_n!r}")
        reason = self.check_available(
            {"model": model, "revision": revision, "trust_remote_code": trust_remote_code}
        )
        if reason:
            raise MethodUnavailable(f"{self.name}: {reason}")
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.device = pick_device(device)
        loaded = load_pretrained(
            AutoModel,
            model,
            what="sa2va model",
            revision=revision,
            trust_remote_code=True,
            dtype=torch_dtype(dtype),
            use_flash_attn=False,
        )
        if not callable(getattr(loaded, "predict_forward", None)):
            raise MethodUnavailable(f"{self.name}: {model} has no predict_forward; pass a Sa2VA checkpoint")
        self.model = loaded.to(self.device).eval()
        self.tokenizer = load_pretrained(
            AutoTokenizer,
            model,
            what="sa2va tokenizer",
            revision=revision,
            trust_remote_code=True,
            use_fast=False,
        )
        self.prompt = prompt if "<image>" in prompt else f"<image>{prompt}"
        self.max_n, self.pos_logit, self.dustbin_logit = int(max_n), float(pos_logit), float(dustbin_logit)
        self.timings = {"sa2va_predict": 0.0}

    @classmethod
    def check_available(cls, params: dict[str, Any]) -> str | None:
        """Remote code allowed (the weights are checked from the manifest, :mod:`benchmark.weights`)."""
        model = params.get("model") or "the sa2va model"
        if params.get("trust_remote_code") is not True:
            return REMOTE_CODE_REASON.format(model=model)
        return None

    def masks(self, image: np.ndarray) -> tuple[str, list[Any]]:
        """(answer text, raw prediction masks) of one predict_forward call."""
        from PIL import Image

        t0 = time.perf_counter()
        with self.torch.inference_mode():
            out = self.model.predict_forward(
                image=Image.fromarray(image),
                text=self.prompt,
                past_text="",
                mask_prompts=None,
                tokenizer=self.tokenizer,
            )
        self.timings["sa2va_predict"] += time.perf_counter() - t0
        return str(out.get("prediction", "")), list(out.get("prediction_masks") or [])

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        before = dict(self.timings)
        answer, raw = self.masks(image)
        ranked = rank_masks(raw, image.shape[:2])
        limit = int(k) if k is not None else self.max_n
        kept = ranked[:limit]
        target = int(k) if k is not None else max(len(kept), 1)
        if kept:
            maps = np.stack([self.pos_logit * (2.0 * m - 1.0) for m, _ in kept]).astype(np.float32)
        else:
            maps = np.zeros((0, *image.shape[:2]), np.float32)
        extras = {
            "answer": answer,
            "n_masks": len(raw),
            "kept_scores": [float(s) for _, s in kept],
            "n_padded": target - len(kept),
            "mode": "top-k" if k is not None else "no-k-peek",
            "timings": {s: self.timings[s] - before[s] for s in self.timings},
        }
        return Prediction(scores=stack_scores(maps, self.dustbin_logit, target), extras=extras)
