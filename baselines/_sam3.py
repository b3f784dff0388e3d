"""SAM 3 text grounding through transformers (``Sam3Model`` + ``Sam3Processor``), shared by the
SAM 3-based methods (``sam3``, ``detecture``, ``detecture-zs``, ``naive-coupling``).

:class:`Sam3Grounder` is the engine they share:
- ``encode_image`` runs the vision encoder once per image (``get_vision_features``);
- ``ground`` gives one score map per prompt with *batch multiplexing*: the image features are
  expanded to N rows (``expand``) and each prompt is its own row, so prompts never see each other;
- ``ground_joint`` is the failing alternative kept for ablations: all prompts' text features are
  concatenated into ONE prompt sequence and run through SAM 3's encoder/decoder together, each
  prompt then scoring the shared queries (prompt competition);
- ``propose`` gives instance proposals for one generic prompt (autonomous mode).

Score maps are logits (H x W float32 at the image's resolution, bilinear upsampling): the semantic
head's logit (``output="semantic"``), or for ``output="instances"`` logit(p) where
p = max over kept queries of score_q * sigmoid(mask_q), score_q = sigmoid(pred_logit_q) *
sigmoid(presence). Default: semantic. Texture regions are "stuff": the semantic head answers
"which pixels show this concept" directly, while the instance head splits a surface into
countable objects whose union depends on a score threshold. Both exist and ``output`` picks.

:func:`stack_scores` turns K maps into the benchmark's (K + 1, H, W) scores (constant dustbin first);
:func:`torchvision_reason` is the availability check every SAM 3 method makes (the processor needs
torchvision).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from textureade.errors import UserError
from textureade.hf import load_pretrained, pick_device, torch_dtype

MISSING_LOGIT = -1e4  # channels a method could not fill


def torchvision_reason() -> str | None:
    """None when torchvision (which ``Sam3Processor`` needs) is importable, else a one-line reason."""
    import importlib.util

    if importlib.util.find_spec("torchvision") is None:
        return "Sam3Processor needs torchvision (pip install -c constraints.txt torchvision)"
    return None


@dataclass
class ImageFeatures:
    """SAM 3 vision features of one image (batch 1) and the image's (H, W)."""

    vision: Any  # transformers Sam3VisionEncoderOutput
    size: tuple[int, int]


class Sam3Grounder:
    """Loads SAM 3 once and grounds text prompts in images. Timings accumulate in ``timings``.

    sam3: hub id or local folder; revision: pinned hub revision; device: auto|cpu|cuda[:N];
    dtype: float32|bfloat16|float16.
    """

    def __init__(self, sam3: str, revision: str | None = None, device: str = "auto", dtype: str = "float32"):
        import torch
        from transformers import Sam3Model, Sam3Processor

        self.device = pick_device(device)
        self.dtype = torch_dtype(dtype)
        self.processor = load_pretrained(Sam3Processor, sam3, what="sam3 processor", revision=revision)
        model = load_pretrained(Sam3Model, sam3, what="sam3 model", revision=revision, dtype=self.dtype)
        self.model = model.to(self.device).eval()
        self.torch = torch
        self.timings = {"sam3_vision": 0.0, "sam3_text_decode": 0.0}

    # ---- vision ---------------------------------------------------------------------------
    def encode_image(self, image: np.ndarray) -> ImageFeatures:
        """Run the vision encoder once on an H x W x 3 uint8 image."""
        t0 = time.perf_counter()
        inputs = self.processor(images=image, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, self.dtype)
        with self.torch.inference_mode():
            vision = self.model.get_vision_features(pixel_values=pixels)
        self.timings["sam3_vision"] += time.perf_counter() - t0
        return ImageFeatures(vision=vision, size=(int(image.shape[0]), int(image.shape[1])))

    def expand(self, feats: ImageFeatures, n: int) -> Any:
        """The batch-1 vision output viewed as n identical rows (no copy, no second encoder run)."""
        v = feats.vision
        return type(v)(
            last_hidden_state=v.last_hidden_state.expand(n, *v.last_hidden_state.shape[1:]),
            fpn_hidden_states=tuple(t.expand(n, *t.shape[1:]) for t in v.fpn_hidden_states),
            fpn_position_encoding=tuple(t.expand(n, *t.shape[1:]) for t in v.fpn_position_encoding),
        )

    def _tokens(self, prompts: list[str]) -> tuple[Any, Any]:
        """Token ids and mask padded to SAM 3's text length (32); longer prompts are truncated."""
        length = self.model.config.text_config.max_position_embeddings
        text = self.processor.tokenizer(
            list(prompts), padding="max_length", max_length=length, truncation=True, return_tensors="pt"
        )
        return text["input_ids"].to(self.device), text["attention_mask"].to(self.device)

    def upsample(self, maps: Any, size: tuple[int, int]) -> np.ndarray:
        """(N, h, w) tensor -> (N, H, W) float32 numpy, bilinear."""
        import torch.nn.functional as F

        up = F.interpolate(maps[:, None].float(), size=size, mode="bilinear", align_corners=False)
        return up[:, 0].cpu().numpy().astype(np.float32)

    # ---- multiplexed grounding -----------------------------------------------------------
    def ground(self, feats: ImageFeatures, prompts: list[str], output: str = "semantic") -> np.ndarray:
        """One (H, W) logit map per prompt; each prompt runs alone in its own batch row."""
        if not prompts:
            return np.zeros((0, *feats.size), np.float32)
        t0 = time.perf_counter()
        ids, mask = self._tokens(prompts)
        with self.torch.inference_mode():
            out = self.model(
                vision_embeds=self.expand(feats, len(prompts)), input_ids=ids, attention_mask=mask
            )
            maps = self._maps(out, output)
        result = self.upsample(maps, feats.size)
        self.timings["sam3_text_decode"] += time.perf_counter() - t0
        return result

    def ground_embeddings(self, feats: ImageFeatures, embeds: Any, output: str = "semantic") -> np.ndarray:
        """Like :meth:`ground` for prompts given as (N, L, D_sam) embeddings (no text encoder)."""
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        t0 = time.perf_counter()
        embeds = embeds.to(self.device, self.dtype)
        n = embeds.shape[0]
        text = BaseModelOutputWithPooling(pooler_output=embeds)
        with self.torch.inference_mode():
            out = self.model(vision_embeds=self.expand(feats, n), text_embeds=text)
            maps = self._maps(out, output)
        result = self.upsample(maps, feats.size)
        self.timings["sam3_text_decode"] += time.perf_counter() - t0
        return result

    def _maps(self, out: Any, output: str) -> Any:
        """(N, h, w) logits from a Sam3 output: semantic head, or instance masks merged by score."""
        torch = self.torch
        if output == "semantic":
            return out.semantic_seg[:, 0]
        if output == "instances":
            score = torch.sigmoid(out.pred_logits) * torch.sigmoid(out.presence_logits)  # (N, Q)
            prob = (score[:, :, None, None] * torch.sigmoid(out.pred_masks)).amax(dim=1)
            return torch.logit(prob.clamp(1e-6, 1 - 1e-6))
        raise UserError(f"sam3: output must be 'semantic' or 'instances', got {output!r}")

    # ---- joint grounding (prompt competition; ablation only) -----------------------------
    def ground_joint(self, feats: ImageFeatures, prompts: list[str]) -> np.ndarray:
        """All prompts in ONE SAM 3 pass: their text features are concatenated into one prompt.

        The fusion encoder, decoder queries and mask decoder see every prompt at once; prompt k's
        map is logit(max_q sigmoid(score_qk) * sigmoid(presence) * sigmoid(mask_q)), score_qk the
        dot-product score of query q against prompt k's own features.
        """
        torch = self.torch
        if not prompts:
            return np.zeros((0, *feats.size), np.float32)
        t0 = time.perf_counter()
        m = self.model
        ids, mask = self._tokens(prompts)
        with torch.inference_mode():
            text = m.get_text_features(input_ids=ids, attention_mask=mask).pooler_output  # (K, L, D)
            k, length, dim = text.shape
            joint = text.reshape(1, k * length, dim)
            joint_mask = mask.bool().reshape(1, k * length)
            v = feats.vision
            fpn, pos = v.fpn_hidden_states[:-1], v.fpn_position_encoding[:-1]
            enc = m.detr_encoder(
                vision_features=[fpn[-1]],
                text_features=joint,
                vision_pos_embeds=[pos[-1]],
                text_mask=joint_mask,
            )
            dec = m.detr_decoder(
                vision_features=enc.last_hidden_state,
                text_features=enc.text_features,
                vision_pos_encoding=enc.pos_embeds_flattened,
                text_mask=joint_mask,
                spatial_shapes=enc.spatial_shapes,
            )
            hidden = dec.intermediate_hidden_states
            presence = torch.sigmoid(dec.presence_logits[-1])  # (1, 1)
            masks = m.mask_decoder(
                decoder_queries=hidden[-1],
                backbone_features=list(fpn),
                encoder_hidden_states=enc.last_hidden_state,
                prompt_features=joint,
                prompt_mask=joint_mask,
            ).pred_masks[0]  # (Q, h, w)
            enc_text = enc.text_features.reshape(k, length, dim)
            maps = []
            for i in range(k):
                logits = m.dot_product_scoring(
                    decoder_hidden_states=hidden,
                    text_features=enc_text[i : i + 1],
                    text_mask=mask[i : i + 1].bool(),
                ).squeeze(-1)[-1, 0]  # (Q,)
                score = torch.sigmoid(logits) * presence[0]
                prob = (score[:, None, None] * torch.sigmoid(masks)).amax(dim=0)
                maps.append(torch.logit(prob.clamp(1e-6, 1 - 1e-6)))
            result = self.upsample(torch.stack(maps), feats.size)
        self.timings["sam3_text_decode"] += time.perf_counter() - t0
        return result

    # ---- proposals -----------------------------------------------------------------------
    def propose(
        self,
        feats: ImageFeatures,
        prompt: str,
        *,
        k: int | None,
        max_regions: int = 6,
        threshold: float = 0.3,
        nms_iou: float = 0.7,
        strict: bool = False,
    ) -> tuple[np.ndarray, list[float]]:
        """Instance proposals of one prompt: (M, H, W) mask logits and their query scores.

        As in the Detecture benchmark's SAM 3 proposal mode, a proposal's map is its own mask logit
        (the score ranks and filters proposals but does not scale the map).

        k given: the top-k after NMS whatever their score; else those with score >= threshold
        (at least the best one), at most max_regions. NMS drops a proposal whose binary mask
        (sigmoid > 0.5) has IoU > nms_iou with a kept, better-scored one.
        strict (the authors' ``sam3_proposal_top_k``: the processor's confidence filter, then the
        top k): only proposals with score > threshold, k given or not, and none kept when none
        passes. With threshold 0.0 every proposal passes (a score is a product of two sigmoids).
        """
        torch = self.torch
        t0 = time.perf_counter()
        ids, mask = self._tokens([prompt])
        with torch.inference_mode():
            out = self.model(vision_embeds=self.expand(feats, 1), input_ids=ids, attention_mask=mask)
            score = (torch.sigmoid(out.pred_logits) * torch.sigmoid(out.presence_logits))[0]
            masks = out.pred_masks[0]
            order = torch.argsort(score, descending=True).tolist()
            binary = (masks > 0).flatten(1).float()
            keep: list[int] = []
            limit = k if k is not None else max_regions
            for q in order:
                if len(keep) >= limit:
                    break
                if strict and not float(score[q]) > threshold:
                    break
                if not strict and k is None and keep and float(score[q]) < threshold:
                    break
                if keep:
                    inter = binary[keep] @ binary[q]
                    union = binary[keep].sum(1) + binary[q].sum() - inter
                    if bool((inter / union.clamp(min=1) > nms_iou).any()):
                        continue
                keep.append(q)
            if keep:
                result = self.upsample(masks[keep], feats.size)
            else:  # strict: nothing passed the threshold
                result = np.zeros((0, *feats.size), np.float32)
        self.timings["sam3_text_decode"] += time.perf_counter() - t0
        return result, [float(score[q]) for q in keep]


def stack_scores(maps: np.ndarray, dustbin_logit: float, k: int | None = None) -> np.ndarray:
    """(K', H, W) maps -> (K + 1, H, W) scores: constant dustbin first, missing channels MISSING_LOGIT."""
    n, h, w = maps.shape
    k = n if k is None else k
    out = np.full((k + 1, h, w), MISSING_LOGIT, np.float32)
    out[0] = dustbin_logit
    out[1 : 1 + min(n, k)] = maps[:k]
    return out
