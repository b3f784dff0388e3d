"""Evaluation protocols and the prediction -> partition rule.

Protocols (what a method is told for each image):
- ``oracle-k``: K and the K ground-truth descriptions (in region order);
- ``oracle-k-blind``: K only;
- ``autonomous``: nothing; the method decides how many regions.

K is the dataset's fixed K when its manifest (or the suite, or ``--k``) sets one (RWTD/STLD: 2,
CAID: 1), else the number of ground-truth regions of the sample. Descriptions are given only when
they number exactly K.

A suite fixes the protocol, the K source and a method family's options (fixed prompts, modes) per
dataset for a whole table (``oracle-k`` is an oracle: the detecture suites never use it): see
:mod:`benchmark.suites`. ``run.json`` ``given`` records what the method got
(:class:`benchmark.runinfo.Given`).

Predictions become a partition in one place (:func:`prediction_to_partition`): score maps
((K'+1) x h x w, dustbin first) go through ``textureade.types.scores_to_partition``. A prediction
at another resolution than the ground truth is resized, never failed: score maps bilinearly
(before the argmax, so boundaries stay smooth), label maps nearest; the record keeps the
prediction's own size and ``resized = True`` so such runs are visible in the results.

Score maps also say how many channels the method produced: K = channels - 1 (the dustbin
excluded), kept as :attr:`PartitionInfo.n_channels`. The runner scores such a prediction with
``score_partition(..., n_pred=K)`` (the Detecture authors' convention: matching over all K
channels, an empty one included; see :mod:`benchmark.metrics.detecture`). A label map says
nothing about its channels (``n_channels`` None): it is scored over the regions present.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.method import PROTOCOLS
from textureade.errors import UserError
from textureade.readers.mapping import nearest_resize
from textureade.types import Prediction, Sample, scores_to_partition


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    return protocol


def method_inputs(protocol: str, sample: Sample, k: int | None) -> tuple[int | None, list[str] | None]:
    """What the method is told for ``sample``: (K or None, GT descriptions or None).

    k: the dataset's fixed K, or None for the sample's own number of regions.
    """
    check_protocol(protocol)
    if protocol == "autonomous":
        return None, None
    kk = int(k) if k is not None else max(sample.k, 1)
    if protocol == "oracle-k-blind":
        return kk, None
    descriptions = list(sample.descriptions) if len(sample.descriptions) == kk else None
    return kk, descriptions


def _resize_scores(scores: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    import cv2

    out = np.empty((scores.shape[0], hw[0], hw[1]), dtype=np.float32)
    for c in range(scores.shape[0]):  # per channel: cv2 caps the channel count of one call
        out[c] = cv2.resize(scores[c], (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
    return out


@dataclass
class PartitionInfo:
    """How a prediction became the scored partition: its own size and whether it was resized.

    n_channels: K, the texture channels of a score-map prediction ((K + 1) x h x w; present in
    the partition or not); None for a label map (unknown).
    """

    pred_height: int
    pred_width: int
    resized: bool
    n_desc: int | None = None  # descriptions returned (0 when none; None when not known)
    n_channels: int | None = None


def prediction_to_partition(pred: Prediction, hw: tuple[int, int]) -> tuple[np.ndarray, PartitionInfo]:
    """The H x W int32 partition (0 = unassigned) scored against a ground truth of size ``hw``.

    Score maps: NaN -> -inf, bilinear resize when the size differs, then the argmax with the dustbin
    first. Label maps: nearest resize when the size differs.
    """
    ph, pw = pred.shape
    resized = (ph, pw) != tuple(hw)
    if pred.scores is not None:
        scores = pred.scores
        if resized:
            # -inf/NaN would turn into NaN under interpolation: clamp to a huge finite value first
            clean = np.nan_to_num(scores, nan=-1e30, posinf=1e30, neginf=-1e30)
            scores = _resize_scores(clean, hw)
        part = scores_to_partition(scores)
    else:
        part = pred.label_map
        assert part is not None
        if resized:
            part = nearest_resize(part, hw)
    info = PartitionInfo(
        pred_height=int(ph),
        pred_width=int(pw),
        resized=bool(resized),
        n_desc=len(pred.descriptions or []),
        n_channels=None if pred.scores is None else int(pred.scores.shape[0]) - 1,
    )
    return part.astype(np.int32, copy=False), info
