"""One input item through read -> select -> mine -> describe -> Sample, as a worker runs it.

``process_item`` never raises for a per-image problem: it returns an ItemResult holding either a
Sample or a reject (stage + one-line reason). Splits: ADE validation -> ``test``; ADE training ->
``validation`` for a deterministic share of base ids (``val_fraction``, by a sha256 of the base id),
else ``train``; a source without splits counts as training.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from textureade.config import MiningConfig
from textureade.describe.base import RegionInfo
from textureade.describe.validate import descriptions_problems
from textureade.mining.mine import mine_scene
from textureade.types import Sample, Scene


@dataclass
class ItemResult:
    """Outcome for one item. Exactly one of ``sample``, ``pending`` or ``reject`` is set.

    pending: a mined scene awaiting description in the main process (VLM describer).
    reject: {"id", "ade_split", "stage", "reason", ...} (stage: read, select, regions, describe, error).
    """

    id: str
    sample: Sample | None = None
    pending: dict[str, Any] | None = None
    reject: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def assign_split(base_id: str, ade_split: str | None, val_fraction: float) -> str:
    """train / validation / test for a base image (see the module docstring)."""
    if ade_split == "validation":
        return "test"
    h = int(hashlib.sha256(f"textureade-val:{base_id}".encode()).hexdigest()[:12], 16) / float(1 << 48)
    return "validation" if h < val_fraction else "train"


def _reject(item_id: str, ade_split: str | None, stage: str, reason: str, **extra: Any) -> ItemResult:
    return ItemResult(
        item_id, reject={"id": item_id, "ade_split": ade_split, "stage": stage, "reason": reason, **extra}
    )


def finish_sample(
    scene_id: str,
    ade_split: str | None,
    pending: dict[str, Any],
    describer: Any,
    described: Any = None,
) -> ItemResult:
    """Describe a mined scene and build its Sample (or a describe-stage reject).

    described: a DescribeResult already computed for this scene (e.g. by one ``describe_batch``
    call over a whole chunk); when None, ``describer.describe`` is called here.
    """
    regions: list[RegionInfo] = pending["regions"]
    try:
        if described is not None:
            result = described
        else:
            result = describer.describe(pending["image"], pending["label_map"], regions)
    except Exception as exc:  # a describer failure is a per-image problem
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _reject(scene_id, ade_split, "describe", f"{type(exc).__name__}: {msg}")
    texts = list(result.descriptions)
    if len(texts) != len(regions):
        return _reject(
            scene_id, ade_split, "describe", f"{len(texts)} descriptions for {len(regions)} regions"
        )
    bad = [f"region {i + 1}: {p}" for i, p in enumerate(descriptions_problems(texts)) if p]
    if bad:
        return _reject(scene_id, ade_split, "describe", "; ".join(bad))
    prov = dict(pending["provenance"])
    prov["describer"] = result.provenance
    sample = Sample(
        id=scene_id,
        image=pending["image"],
        label_map=pending["label_map"],
        descriptions=texts,
        base_id=pending["base_id"],
        split=pending["split"],
        source=pending["source"],
        region_names=[r.class_names[0] if r.class_names else "" for r in regions],
        provenance=prov,
    )
    return ItemResult(scene_id, sample=sample)


def mine_item(
    scene: Scene, ade_split: str | None, cfg: MiningConfig, seed: int, val_fraction: float
) -> ItemResult:
    """Select and mine one scene; returns a pending result (to describe) or a reject."""
    mined = mine_scene(scene, cfg, seed=seed)
    if mined.skip is not None:
        stage = "select" if not mined.selection.keep else "regions"
        return _reject(scene.id, ade_split, stage, mined.skip, score=mined.selection.score)
    rs = mined.regions
    assert rs is not None
    region_ids = [r["class_ids"][0] if r["class_ids"] else -1 for r in rs.provenance["regions"]]
    base_id = scene.id
    prov = {
        "ade_id": scene.id,
        "ade_split": ade_split,
        "ade_form": scene.source,
        "scene": scene.scene,
        "seed": seed,
        "region_class_ids": region_ids,
        **mined.provenance(),
    }
    pending = {
        "image": scene.image,
        "label_map": rs.label_map,
        "regions": rs.regions,
        "provenance": prov,
        "base_id": base_id,
        "split": assign_split(base_id, ade_split, val_fraction),
        "source": f"ADE20K/{scene.source}" if scene.source else "ADE20K",
    }
    return ItemResult(scene.id, pending=pending, extra={"score": mined.selection.score})
