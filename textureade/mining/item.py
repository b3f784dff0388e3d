"""One input item through select -> mine -> describe -> shard row, as a build worker runs it.

A per-image problem never raises: the result is an ItemResult holding either a finished sample
encoded as its shard row (``textureade.store.schema.sample_to_row``), a mined
scene awaiting description (``MinedItem``) or a reject (stage + one-line reason;
``ItemResult.rejected`` is the one way to build it). Splits: ADE validation -> ``test``; ADE training
-> ``validation`` for a deterministic share of base ids (``val_fraction``, by a sha256 of the base
id), else ``train``; a source without splits counts as training.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textureade.config import MiningConfig
from textureade.describe.base import RegionInfo
from textureade.describe.validate import descriptions_problems
from textureade.errors import first_line
from textureade.mining.mine import mine_scene
from textureade.store.schema import sample_to_row
from textureade.types import Sample, Scene


@dataclass
class MinedItem:
    """A mined scene awaiting its descriptions: what ``finish_sample`` turns into a sample's shard row
    (``ItemResult.row``).

    image: H x W x 3 uint8; label_map: H x W int32 (0 = unassigned, 1..K); regions: one RegionInfo
    per region; provenance: the sample's provenance so far (the describer's is added); split:
    train / validation / test; source: e.g. ``ADE20K/ADEChallengeData2016``; image_bytes: the
    source's encoded image when stored unchanged (``Scene.image_bytes``).
    """

    image: np.ndarray
    label_map: np.ndarray
    regions: list[RegionInfo]
    provenance: dict[str, Any]
    base_id: str
    ade_split: str | None
    split: str
    source: str
    image_bytes: bytes | None = field(default=None, repr=False)


@dataclass
class ItemResult:
    """Outcome for one item. Exactly one of ``row``, ``pending`` or ``reject`` is set.

    row: the finished sample as its shard row (``sample_to_row``: the stored image bytes, the label
    map as PNG, the provenance as JSON), encoded where the sample was made: that is what crosses from
    a worker to the writer (~100 kB instead of the 2-3 MB of decoded arrays), and the encoding runs
    in the workers, in parallel, not in the writing process.
    pending: a mined scene awaiting description in the main process (VLM describer).
    reject: {"id", "ade_split", "stage", "reason", ...} (stage: read, select, regions, describe, error),
    one line of ``rejects.jsonl``.
    """

    id: str
    row: dict[str, Any] | None = None
    pending: MinedItem | None = None
    reject: dict[str, Any] | None = None

    @classmethod
    def rejected(
        cls, item_id: str, ade_split: str | None, stage: str, reason: str, **extra: Any
    ) -> ItemResult:
        """The item yields no sample: ``stage`` and a one-line ``reason`` (plus e.g. its ``score``)."""
        return cls(
            item_id, reject={"id": item_id, "ade_split": ade_split, "stage": stage, "reason": reason, **extra}
        )


def assign_split(base_id: str, ade_split: str | None, val_fraction: float) -> str:
    """train / validation / test for a base image (see the module docstring)."""
    if ade_split == "validation":
        return "test"
    h = int(hashlib.sha256(f"textureade-val:{base_id}".encode()).hexdigest()[:12], 16) / float(1 << 48)
    return "validation" if h < val_fraction else "train"


def finish_sample(
    scene_id: str,
    ade_split: str | None,
    pending: MinedItem,
    describer: Any,
    described: Any = None,
) -> ItemResult:
    """Describe a mined scene and build its Sample, returned encoded as its shard row (or a
    describe-stage reject).

    described: a DescribeResult already computed for this scene (e.g. by one ``describe_batch``
    call over a whole chunk); when None, ``describer.describe`` is called here.
    """
    regions = pending.regions
    try:
        if described is not None:
            result = described
        else:
            result = describer.describe(pending.image, pending.label_map, regions)
    except Exception as exc:  # a describer failure is a per-image problem
        return ItemResult.rejected(scene_id, ade_split, "describe", first_line(exc, with_type=True))
    texts = list(result.descriptions)
    if len(texts) != len(regions):
        return ItemResult.rejected(
            scene_id, ade_split, "describe", f"{len(texts)} descriptions for {len(regions)} regions"
        )
    bad = [f"region {i + 1}: {p}" for i, p in enumerate(descriptions_problems(texts)) if p]
    if bad:
        return ItemResult.rejected(scene_id, ade_split, "describe", "; ".join(bad))
    prov = dict(pending.provenance)
    prov["describer"] = result.provenance
    sample = Sample(
        id=scene_id,
        image=pending.image,
        label_map=pending.label_map,
        descriptions=texts,
        base_id=pending.base_id,
        split=pending.split,
        source=pending.source,
        region_names=[r.class_names[0] if r.class_names else "" for r in regions],
        provenance=prov,
        image_bytes=pending.image_bytes,
    )
    return ItemResult(scene_id, row=sample_to_row(sample))


def mine_item(
    scene: Scene, ade_split: str | None, cfg: MiningConfig, seed: int, val_fraction: float
) -> ItemResult:
    """Select and mine one scene; returns a pending result (to describe) or a reject."""
    mined = mine_scene(scene, cfg, seed=seed)
    if mined.skip is not None:
        return ItemResult.rejected(
            scene.id, ade_split, mined.skip.stage, mined.skip.reason, score=mined.selection.score
        )
    rs = mined.regions
    assert rs is not None
    region_ids = [r["class_ids"][0] if r["class_ids"] else -1 for r in rs.provenance["regions"]]
    prov = {
        "ade_id": scene.id,
        "ade_split": ade_split,
        "ade_form": scene.source,
        "scene": scene.scene,
        "seed": seed,
        "region_class_ids": region_ids,
        **mined.provenance(),
    }
    pending = MinedItem(
        image=scene.image,
        label_map=rs.label_map,
        regions=rs.regions,
        provenance=prov,
        base_id=scene.id,
        ade_split=ade_split,
        split=assign_split(scene.id, ade_split, val_fraction),
        source=f"ADE20K/{scene.source}" if scene.source else "ADE20K",
        image_bytes=scene.image_bytes,
    )
    return ItemResult(scene.id, pending=pending)
