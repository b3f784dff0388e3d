"""Description metrics of one image: the record columns ``desc_similarity``, ``desc_valid``, ``desc_distinct``
(:data:`benchmark.records.DESC_METRIC_KEYS`).

Computed when the method returned descriptions (`bench run`) or a prediction's ``<id>.json`` holds
them (`bench score`), and a text model is here (:mod:`textureade.text_model`); else null.

- ``desc_similarity``: over the image's G ground-truth regions, the mean cosine similarity of the
  sentence embeddings of a GT region's description and of the description of the predicted region
  the scorer's Hungarian matching paired it with (``PartitionStats.assignment``, our convention:
  the predicted regions present); an unmatched GT region, or one matched to a region the method
  gave no description, scores 0. 1.0 when the method returns the GT descriptions for the GT
  regions. Null when the GT has no region or no text (all its descriptions empty).
- ``desc_valid``: the share of the method's descriptions passing the TextureADE rules
  (:mod:`textureade.describe.validate`; needs no text model).
- ``desc_distinct``: 1 - mean pairwise cosine similarity of the method's descriptions of the image
  (null below two descriptions).

The measures themselves are :mod:`textureade.describe.similarity` (shared with `textureade
compare-descriptions`); this module maps region ids to descriptions and gives the record's dict.
An image without descriptions (failed, or the method returned none for it) has null here; in a
run whose column holds values (the method described) leaderboards count it as 0 for
``desc_similarity`` and ``desc_valid`` (:data:`benchmark.leaderboard.DESC_FAILURE_SCORES`); a method
that never describes keeps them null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from textureade.describe.similarity import distinctness, matched_similarity, valid_share

Encode = Callable[[list[str]], np.ndarray]


def score_descriptions(
    gt_descriptions: Sequence[str],
    pred_descriptions: Sequence[str] | None,
    assignment: Sequence[tuple[int, int]],
    n_gt: int,
    encode: Encode | None,
) -> dict[str, float]:
    """The desc_* scores of one image that can be computed (a key left out is null).

    gt_descriptions[k - 1] describes GT region k; pred_descriptions[j - 1] predicted region j.
    assignment: the Hungarian pairs (GT id, predicted id), original label values. n_gt: G, the GT
    regions in the evaluation domain (the denominator). encode: texts -> N x D embeddings (None:
    no text model; only ``desc_valid`` then).
    """
    preds = [str(d) for d in (pred_descriptions or [])]
    if not preds:
        return {}
    out: dict[str, float] = {}
    valid = valid_share(preds)
    if valid is not None:
        out["desc_valid"] = valid
    if encode is None:
        return out
    gts = [str(d) for d in gt_descriptions]
    emb = encode(gts + preds)
    gt_emb, pred_emb = emb[: len(gts)], emb[len(gts) :]
    distinct = distinctness(pred_emb)
    if distinct is not None:
        out["desc_distinct"] = distinct
    if any(d.strip() for d in gts):
        pairs = [(g - 1, p - 1 if 1 <= p <= len(preds) else -1) for g, p in assignment if 1 <= g <= len(gts)]
        similarity = matched_similarity(gt_emb, pred_emb, pairs, n_gt)
        if similarity is not None:
            out["desc_similarity"] = similarity
    return out


__all__ = ["score_descriptions"]
