"""Hungarian matching of two partitions' regions by IoU: the one definition of the rule.

Used by the benchmark's partition metrics (:mod:`benchmark.metrics.partition`: GT regions x
predicted regions) and by `textureade compare-descriptions` (:mod:`textureade.describe.compare`:
A's regions x B's regions). It lives in ``textureade`` so that both can import it (imports go
one way, textureade <- benchmark).
"""

from __future__ import annotations

import numpy as np


def iou_matching(
    inter: np.ndarray, size_a: np.ndarray, size_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The IoU matrix of regions A x B and a one-to-one matching maximising the total IoU.

    inter: A x B overlap counts (pixels in region i of A and region j of B); size_a (A,) and
    size_b (B,): the region sizes in pixels (each at least its row / column sum of ``inter``).
    Any numeric dtype; everything is computed in float64.

    Returns ``(iou, rows, cols)``: ``iou`` is A x B float64, ``inter / (size_a[i] + size_b[j] -
    inter)`` (0.0 where that union is 0); ``rows`` and ``cols`` are int arrays of length
    min(A, B) giving the matched pairs ``(rows[k], cols[k])``, ``rows`` ascending. Every region
    of the smaller side is matched, pairs with IoU 0 included (a caller that reads such a pair
    as "no match" drops it). The matching is ``scipy.optimize.linear_sum_assignment(iou,
    maximize=True)``; ties (several matchings with the same total IoU) are broken by that solver
    deterministically (the same matrix always gives the same pairs), not by a rule such as
    "lowest id first".
    """
    from scipy.optimize import linear_sum_assignment

    inter = np.asarray(inter, dtype=np.float64)
    size_a = np.asarray(size_a, dtype=np.float64)
    size_b = np.asarray(size_b, dtype=np.float64)
    union = size_a[:, None] + size_b[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    rows, cols = linear_sum_assignment(iou, maximize=True)
    return iou, rows, cols
