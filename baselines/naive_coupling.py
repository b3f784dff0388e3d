"""The naive VLM -> SAM 3 coupling DETECTURE fixes, kept for ablation (manifest ``naive-coupling``).

- one causal generation for all regions: region k's description is written after, and conditioned
  on, regions 1..k-1's text (language leakage);
- all K prompts grounded jointly in ONE SAM 3 pass (their text features concatenated into one
  prompt; :meth:`baselines._sam3.Sam3Grounder.ground_joint`), so prompts compete inside the model;
- masks painted in order: region k takes every pixel where sigmoid(map_k) > ``mask_threshold``,
  later regions overwriting earlier ones; pixels no mask claims stay unassigned (0).

Returns a label map (not scores): painting is the design under test. Everything else (models,
prompts, parameters) is the pipeline ``detecture-zs`` runs, :class:`baselines._vlm_sam3.VlmSam3Pipeline`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines._vlm_sam3 import VlmSam3Pipeline
from textureade.types import Prediction


def paint_in_order(maps: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(K, H, W) logits -> H x W int32 labels: region k paints sigmoid > threshold, in order 1..K."""
    logit = float(np.log(threshold / (1 - threshold)))
    labels = np.zeros(maps.shape[1:], np.int32)
    for k, m in enumerate(maps, start=1):
        labels[m > logit] = k
    return labels


class NaiveCoupling(VlmSam3Pipeline):
    """The VLM -> SAM 3 pipeline with isolation and multiplexing off and painted masks instead of an argmax."""

    name = "naive-coupling"

    def __init__(self, mask_threshold: float = 0.5, **params: Any):
        params.update(isolate=False, multiplex=False, native_text=True)
        super().__init__(**params)
        self.mask_threshold = float(mask_threshold)

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        pred = super().predict(image, k, descriptions)
        maps = pred.scores[1:]
        return Prediction(
            label_map=paint_in_order(maps, self.mask_threshold),
            descriptions=pred.descriptions,
            extras={**pred.extras, "painted": True},
        )
