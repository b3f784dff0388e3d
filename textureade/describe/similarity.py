"""Description-quality measures: pure functions on sentence embeddings and strings.

Shared by the benchmark's record columns (:mod:`benchmark.metrics.descriptions`: ``desc_similarity``,
``desc_valid``, ``desc_distinct``) and `textureade compare-descriptions`. Embeddings are N x D float
arrays (one row per description, any scale: every function normalises rows itself, in float64);
the text model that makes them is :mod:`textureade.text_model`.

- :func:`matched_similarity`: mean over the reference regions of the cosine similarity between a
  region's description and the description of the region matched to it; an unmatched region, or
  one matched to a region without a description, scores 0 (so a method that describes half the
  regions perfectly scores 0.5).
- :func:`valid_share`: share of descriptions passing the TextureADE rules
  (:func:`textureade.describe.validate.descriptions_problems`: "Texture of " prefix, 5-25 words,
  one line, no duplicate within the image).
- :func:`distinctness`: 1 - mean pairwise cosine similarity of one image's descriptions (0: they
  all say the same thing; higher: they tell the regions apart); None below two descriptions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textureade.describe.validate import descriptions_problems


def unit_rows(emb: np.ndarray) -> np.ndarray:
    """N x D -> float64 rows of length 1 (an all-zero row stays zero)."""
    e = np.asarray(emb, dtype=np.float64)
    if e.ndim != 2:
        raise ValueError(f"embeddings must be N x D, got shape {e.shape}")
    norm = np.linalg.norm(e, axis=1, keepdims=True)
    return np.divide(e, norm, out=np.zeros_like(e), where=norm > 0)


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """N x M cosine similarities of the rows of ``a`` (N x D) and ``b`` (M x D), clipped to [-1, 1]."""
    return np.clip(unit_rows(a) @ unit_rows(b).T, -1.0, 1.0)


def matched_similarity(
    ref_emb: np.ndarray, pred_emb: np.ndarray, pairs: Sequence[tuple[int, int]], n_ref: int | None = None
) -> float | None:
    """Mean cosine similarity over reference regions, matched pairs only, unmatched = 0.

    ref_emb: R x D embeddings of the reference descriptions; pred_emb: P x D of the predicted
    ones. pairs: (reference row, predicted row) of the matched regions (0-based rows; a predicted
    row of -1 or >= P means the matched region has no description: 0). n_ref: the number of
    reference regions averaged over (default R). None when n_ref is 0.
    """
    n = len(ref_emb) if n_ref is None else int(n_ref)
    if n <= 0:
        return None
    ref, pred = unit_rows(ref_emb), unit_rows(pred_emb) if len(pred_emb) else np.zeros((0, 1))
    total = 0.0
    for r, p in pairs:
        if 0 <= p < len(pred):
            total += float(np.clip(ref[r] @ pred[p], -1.0, 1.0))
    return total / n


def valid_share(texts: Sequence[str]) -> float | None:
    """Share of ``texts`` (one image's descriptions) passing the TextureADE rules; None when empty."""
    if not texts:
        return None
    problems = descriptions_problems(list(texts))
    return sum(p is None for p in problems) / len(problems)


def distinctness(emb: np.ndarray) -> float | None:
    """1 - mean cosine similarity over the pairs of rows of ``emb`` (one image's descriptions, in
    [0, 2], 0 when all are the same text); None below two rows."""
    n = len(emb)
    if n < 2:
        return None
    sim = cosine_matrix(emb, emb)
    upper = sim[np.triu_indices(n, k=1)]
    return float(1.0 - upper.mean())


__all__ = ["cosine_matrix", "distinctness", "matched_similarity", "unit_rows", "valid_share"]
