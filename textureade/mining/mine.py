"""One scene through the miner: type classes, score the image, mine regions by appearance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from textureade.config import MiningConfig
from textureade.mining.class_types import type_classes
from textureade.mining.detecture_recipe import mine_detecture
from textureade.mining.regions import mine_regions
from textureade.mining.segments import label_counts
from textureade.mining.selection import Selection, score_image
from textureade.mining.types import MiningSkip, RegionSet
from textureade.types import Scene


@dataclass
class MinedScene:
    """The outcome for one scene: its selection and either its regions or why it yields no sample
    (``skip``: stage "select" when the texture score is too low, "regions" when mining finds too
    few regions)."""

    scene_id: str
    selection: Selection
    regions: RegionSet | None
    skip: MiningSkip | None
    recipe: str = "default"

    def provenance(self) -> dict[str, Any]:
        """The sample's mining provenance; ``recipe`` named when it is not the default one."""
        out: dict[str, Any] = {} if self.recipe == "default" else {"mining_recipe": self.recipe}
        out["selection"] = self.selection.to_dict()
        if self.regions is not None:
            out["regions"] = self.regions.provenance
        return out


def mine_scene(scene: Scene, cfg: MiningConfig, seed: int = 0) -> MinedScene:
    """Score ``scene`` and, if it passes ``cfg.min_score``, mine its regions (never raises MiningSkip).
    ``cfg.recipe == "detecture"``: the Detecture Miner's recipe instead (mining.detecture_recipe)."""
    if cfg.recipe == "detecture":
        return MinedScene(scene.id, *mine_detecture(scene, cfg), recipe=cfg.recipe)
    counts = label_counts(scene.labels)
    ids = set(np.flatnonzero(counts).tolist())
    for part in scene.parts:
        ids |= set(np.flatnonzero(label_counts(part)).tolist())
    types = type_classes(scene.class_names, sorted(ids), cfg)
    selection = score_image(scene.labels, types, cfg, counts=counts)
    if not selection.keep:
        return MinedScene(scene.id, selection, None, MiningSkip("select", selection.reason or "not kept"))
    try:
        regions = mine_regions(scene, types, cfg, seed=seed, class_counts=counts)
    except MiningSkip as exc:
        return MinedScene(scene.id, selection, None, exc)
    return MinedScene(scene.id, selection, regions, None)
