"""The records the mining stages hand each other (no logic beyond building log entries).

- ``MiningSkip``: the one way to say "this image yields no sample, because ...": a ``stage``
  ("select": the texture score is too low; "regions": too few or too small regions) and a one-line
  ``reason``. Raised inside the miner, held by ``MinedScene.skip``, written to ``rejects.jsonl``.
- ``RegionSet``: the mined regions of one image (full-size label map, one RegionInfo per region,
  provenance).
- ``SplitTest``: the outcome of the split test of one group (``split.try_split``).
- ``AcceptedSplit``: what the full-size map needs to know of an accepted split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from textureade.describe.base import RegionInfo


class MiningSkip(Exception):
    """The image yields no sample. ``stage``: "select" or "regions"; ``reason``: one line."""

    def __init__(self, stage: str, reason: str):
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


@dataclass
class RegionSet:
    """label_map: H x W int32 (0 = unassigned, 1..K, region 1 the largest); one RegionInfo per
    region; provenance: segments, merges, splits, rejected split tests, drops, regions, coverage."""

    label_map: np.ndarray
    regions: list[RegionInfo]
    provenance: dict[str, Any] = field(default_factory=dict)


def r4(x: float) -> float:
    """A provenance number as a Python float rounded to 4 decimals (the mining logs' precision)."""
    return round(float(x), 4)


@dataclass
class SplitTest:
    """The split test of working-size group ``group``.

    valley: ``split.valley_ratio`` of the 2-means axis. When there is no valley (> ``split_valley``)
    the test stops there: ``half_w``, ``J``, ``fractions`` and ``coherence`` stay None. Otherwise
    half_w: boolean working-size map of the half that would leave the group; J: separability of the
    two halves' interiors; fractions: (rest, half) shares of the working image; coherence: (rest,
    half) shares in solid pieces. interior: the group's interior pixels (working-size boolean map),
    where statistics are taken. accepted: every criterion met.
    """

    group: int
    valley: float
    interior: np.ndarray
    accepted: bool = False
    half_w: np.ndarray | None = None
    J: float | None = None
    fractions: tuple[float, float] | None = None
    coherence: tuple[float, float] | None = None

    def log(self, names: list[str], new: int | None = None) -> dict[str, Any]:
        """The provenance entry (``new``: the id of the group the half became, when accepted)."""
        if self.J is None:
            return {"group": self.group, "valley": r4(self.valley), "why": "no valley", "names": names}
        entry: dict[str, Any] = {
            "group": self.group,
            "J": r4(self.J),
            "fractions": [r4(f) for f in self.fractions or ()],
            "coherence": [r4(c) for c in self.coherence or ()],
            "valley": r4(self.valley),
        }
        if new is not None:
            entry["new"] = new
        entry["names"] = names
        return entry


@dataclass
class AcceptedSplit:
    """Group ``new`` left group ``group``: at the working size, ``half_w`` of ``group_mask_w``."""

    group: int
    new: int
    half_w: np.ndarray
    group_mask_w: np.ndarray
