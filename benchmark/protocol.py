"""Evaluation protocols, suites and the prediction -> partition rule.

Protocols (what a method is told for each image):
- ``oracle-k``: K and the K ground-truth descriptions (in region order);
- ``oracle-k-blind``: K only;
- ``autonomous``: nothing; the method decides how many regions.

K is the dataset's fixed K when its manifest (or the suite, or ``--k``) sets one (RWTD/STLD: 2,
CAID: 1), else the number of ground-truth regions of the sample. Descriptions are given only when
they number exactly K.

A suite (``manifests/suites/<name>.yaml``) fixes the protocol and K per dataset so that a table
is comparable across methods::

    name: detecture
    datasets:
      rwtd: {protocol: oracle-k, k: 2}
      ade20k-detecture: {protocol: autonomous}

Predictions become a partition in one place (:func:`prediction_to_partition`): score maps
((K'+1) x h x w, dustbin first) go through ``textureade.types.scores_to_partition``. A prediction
at another resolution than the ground truth is resized, never failed: score maps bilinearly
(before the argmax, so boundaries stay smooth), label maps nearest; the record keeps the
prediction's own size and ``resized = True`` so such runs are visible in the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.method import PROTOCOLS
from textureade.errors import UserError
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


def _resize_nearest(labels: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = labels.shape
    rows = np.minimum((np.arange(hw[0]) + 0.5) * h / hw[0], h - 1).astype(np.intp)
    cols = np.minimum((np.arange(hw[1]) + 0.5) * w / hw[1], w - 1).astype(np.intp)
    return labels[rows[:, None], cols[None, :]]


def _resize_scores(scores: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    import cv2

    out = np.empty((scores.shape[0], hw[0], hw[1]), dtype=np.float32)
    for c in range(scores.shape[0]):  # per channel: cv2 caps the channel count of one call
        out[c] = cv2.resize(scores[c], (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
    return out


@dataclass
class PartitionInfo:
    """How a prediction became the scored partition: its own size and whether it was resized."""

    pred_height: int
    pred_width: int
    resized: bool
    n_desc: int  # descriptions the method returned (0 when none)


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
            part = _resize_nearest(part, hw)
    info = PartitionInfo(
        pred_height=int(ph), pred_width=int(pw), resized=bool(resized), n_desc=len(pred.descriptions or [])
    )
    return part.astype(np.int32, copy=False), info


# -- suites ------------------------------------------------------------------------------------


@dataclass
class Suite:
    """A named table: per dataset the protocol (and optional K) every method runs under."""

    name: str
    datasets: dict[str, dict[str, Any]]
    description: str = ""
    methods: list[str] = field(default_factory=list)
    manifest: str = ""

    def __post_init__(self) -> None:
        for ds, entry in self.datasets.items():
            if not isinstance(entry, dict) or "protocol" not in entry:
                raise UserError(f"{self.manifest}: dataset {ds!r} needs {{protocol: ...}}")
            check_protocol(entry["protocol"])
            unknown = set(entry) - {"protocol", "k"}
            if unknown:
                raise UserError(f"{self.manifest}: dataset {ds!r} has unknown keys {sorted(unknown)}")

    def setting(self, dataset: str) -> tuple[str, int | None]:
        """(protocol, k) for ``dataset``; UserError when the suite does not cover it."""
        if dataset not in self.datasets:
            raise UserError(
                f"suite {self.name!r} does not cover dataset {dataset!r}; it covers {', '.join(self.datasets)}"
            )
        entry = self.datasets[dataset]
        return entry["protocol"], entry.get("k")


def load_suites(folder: Path | None = None) -> dict[str, Suite]:
    """Every suite manifest by name."""
    from benchmark.registry import _read_yaml, manifests_dir

    out: dict[str, Suite] = {}
    for path in sorted(((folder or manifests_dir()) / "suites").glob("*.yaml")):
        data = _read_yaml(path)
        unknown = set(data) - {"name", "datasets", "description", "methods"}
        if unknown:
            raise UserError(f"manifest {path}: unknown keys {sorted(unknown)}")
        suite = Suite(**data, manifest=str(path))
        out[suite.name] = suite
    return out


def get_suite(name: str) -> Suite:
    suites = load_suites()
    if name not in suites:
        raise UserError(f"unknown suite {name!r}; known: {', '.join(suites) or 'none'}")
    return suites[name]
