"""`textureade compare-descriptions A B`: one build's descriptions scored against another's.

Two TextureADE folders built from the same images (e.g. the offline describer's build and a VLM
describer's, or a build against a hand-written set) share sample ids. For every id in both, each
region of A is paired with a region of B: region k with region k when the two label maps are equal
(the usual case: same miner, another describer), else by a Hungarian matching maximising total IoU
over the regions present (the benchmark's matching rule). Per sample, with A as the reference:

- ``similarity``: :func:`textureade.describe.similarity.matched_similarity`, the mean over A's
  regions of the cosine similarity between the two descriptions of a matched pair (unmatched = 0):
  the benchmark's ``desc_similarity`` with A as ground truth and B as prediction;
- ``valid_a`` / ``valid_b``: share of each side's descriptions passing the TextureADE rules;
- ``distinct_a`` / ``distinct_b``: 1 - mean pairwise cosine similarity within the image.

Dataset values are means over the common samples (a null sample value left out). Memory: B is
read once keeping only descriptions and a label-map hash per sample; label maps are kept only for
the (rare) samples whose regions differ, matched in a second pass over B.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textureade.describe.similarity import distinctness, matched_similarity, valid_share
from textureade.errors import UserError
from textureade.iou_matching import iou_matching


@dataclass
class SampleComparison:
    """One common sample: its id, A's region count, whether the label maps were equal, the scores."""

    id: str
    n_regions: int
    same_regions: bool
    similarity: float | None
    valid_a: float | None
    valid_b: float | None
    distinct_a: float | None
    distinct_b: float | None


@dataclass
class DescriptionComparison:
    """The comparison of builds ``a`` and ``b``: means over the common samples and the samples."""

    a: str
    b: str
    text_model: dict[str, Any]
    n_common: int
    only_a: int
    only_b: int
    means: dict[str, float | None] = field(default_factory=dict)
    samples: list[SampleComparison] = field(default_factory=list)

    def to_json(self, per_sample: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "samples"}
        if per_sample:
            out["samples"] = [asdict(s) for s in self.samples]
        return out


def _present(label_map: np.ndarray, k: int) -> list[int]:
    """Region ids 1..k that have a pixel."""
    counts = np.bincount(label_map.ravel(), minlength=k + 1)
    return [i for i in range(1, k + 1) if counts[i] > 0]


def _map_hash(label_map: np.ndarray) -> str:
    return hashlib.sha256(
        f"{label_map.shape}".encode() + np.ascontiguousarray(label_map).tobytes()
    ).hexdigest()


def match_regions(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> list[tuple[int, int]]:
    """(A id, B id) pairs of a Hungarian matching maximising total IoU over the regions present
    (0 = unassigned in both; :func:`textureade.iou_matching.iou_matching`); pairs without overlap
    are left out."""
    ra, rb = _present(a, ka), _present(b, kb)
    if not ra or not rb:
        return []
    table = np.bincount(a.ravel().astype(np.int64) * (kb + 1) + b.ravel(), minlength=(ka + 1) * (kb + 1))
    table = table.reshape(ka + 1, kb + 1)[np.ix_(ra, rb)]
    size_a = np.bincount(a.ravel(), minlength=ka + 1)[ra]
    size_b = np.bincount(b.ravel(), minlength=kb + 1)[rb]
    iou, rows, cols = iou_matching(table, size_a, size_b)
    return [(ra[r], rb[c]) for r, c in zip(rows, cols) if iou[r, c] > 0]


def _score(
    sid: str,
    descs_a: list[str],
    descs_b: list[str],
    pairs: list[tuple[int, int]],
    n_ref: int,
    same: bool,
    encode: Any,
) -> SampleComparison:
    emb = encode(descs_a + descs_b)
    ea, eb = emb[: len(descs_a)], emb[len(descs_a) :]
    rows = [(i - 1, j - 1) for i, j in pairs]
    return SampleComparison(
        id=sid, n_regions=n_ref, same_regions=same, similarity=matched_similarity(ea, eb, rows, n_ref),
        valid_a=valid_share(descs_a), valid_b=valid_share(descs_b), distinct_a=distinctness(ea),
        distinct_b=distinctness(eb),
    )  # fmt: skip


def compare_descriptions(
    a: str | Path, b: str | Path, *, text_model: str | None = None, split: str | None = None
) -> DescriptionComparison:
    """Score build ``b``'s descriptions against build ``a``'s (see the module docstring).

    text_model: :func:`textureade.text_model.find_text_model`'s choice; an absent model is a
    one-line UserError here (this command is nothing without it). Both folders are checked first
    (:func:`textureade.store.check_readable`), before the model is looked up and loaded.
    """
    from textureade.store import check_readable, read_textureade
    from textureade.text_model import find_text_model, load_text_encoder

    for folder in (a, b):  # a bad input is one line before the model loads (and shows its progress)
        check_readable(folder, split)
    ref = find_text_model(text_model)
    if ref is None:
        raise UserError(
            "compare-descriptions needs a text model; pass --text-model HUB_ID_OR_FOLDER, not none"
        )
    encode = load_text_encoder(ref).encode
    side_b: dict[str, tuple[list[str], str]] = {}
    for s in read_textureade(b, split=split):
        side_b[s.id] = (list(s.descriptions), _map_hash(s.label_map))
    samples: list[SampleComparison] = []
    pending: dict[str, tuple[list[str], np.ndarray]] = {}  # A's samples whose regions differ from B's
    seen_a: set[str] = set()
    for s in read_textureade(a, split=split):
        seen_a.add(s.id)
        if s.id not in side_b:
            continue
        descs_b, hash_b = side_b[s.id]
        if hash_b == _map_hash(s.label_map):
            present = _present(s.label_map, s.k)
            pairs = [(i, i) for i in present if i <= len(descs_b)]
            samples.append(_score(s.id, list(s.descriptions), descs_b, pairs, len(present), True, encode))
        else:
            pending[s.id] = (list(s.descriptions), s.label_map)
    if pending:
        for s in read_textureade(b, split=split):
            if s.id in pending:
                descs_a, map_a = pending[s.id]
                pairs = match_regions(map_a, s.label_map, len(descs_a), s.k)
                n_ref = len(_present(map_a, len(descs_a)))
                samples.append(_score(s.id, descs_a, list(s.descriptions), pairs, n_ref, False, encode))
    common = len(samples)
    if not common:
        raise UserError(f"{a} and {b} share no sample id; compare two builds of the same images")
    samples.sort(key=lambda c: c.id)
    means: dict[str, float | None] = {}
    for key in ("similarity", "valid_a", "valid_b", "distinct_a", "distinct_b"):
        vals = [getattr(c, key) for c in samples if getattr(c, key) is not None]
        means[key] = float(np.mean(vals)) if vals else None
    return DescriptionComparison(
        a=str(a), b=str(b), text_model=ref.info(), n_common=common, only_a=len(seen_a) - common,
        only_b=len(side_b) - common, means=means, samples=samples,
    )  # fmt: skip


def comparison_text(c: DescriptionComparison) -> str:
    """A few lines for the terminal."""

    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    m = c.means
    model = c.text_model.get("model") or c.text_model.get("path")
    return "\n".join([
        f"{c.n_common} common samples ({c.only_a} only in A, {c.only_b} only in B); text model {model}",
        f"  similarity (B vs A, matched regions, unmatched 0): {f(m['similarity'])}",
        f"  valid share:   A {f(m['valid_a'])}   B {f(m['valid_b'])}",
        f"  distinctness:  A {f(m['distinct_a'])}   B {f(m['distinct_b'])}",
    ])  # fmt: skip


__all__ = [
    "DescriptionComparison",
    "SampleComparison",
    "compare_descriptions",
    "comparison_text",
    "match_regions",
]
