"""The Describer protocol: turn an image's regions into one description each.

Implementations: ``textureade.describe.offline`` (no weights, the default) and
``textureade.describe.vlm`` (transformers vision-language models).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass
class RegionInfo:
    """What the miner knows of region ``index`` (1..K) of a label map.

    class_names: ADE class names covered by the region (largest first). attributes: ADE
    attributes/materials of its objects (full form only; may be empty). area: pixel count.
    """

    index: int
    class_names: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    area: int = 0


@dataclass
class DescribeResult:
    """Descriptions in region order (descriptions[k - 1] describes region k) and how they were made.

    provenance: JSON-able facts (describer name, model id and revision, prompt hash, retries,
    which regions fell back to the offline describer, cache hits).
    """

    descriptions: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Describer(Protocol):
    """Describes the K regions of one image.

    image: H x W x 3 uint8 RGB; label_map: H x W int32 with 0 = unassigned and 1..K regions;
    regions: one RegionInfo per region, in order 1..K. Must return K distinct descriptions that
    start with "Texture of " and have 5-25 words.
    """

    name: str

    def describe(
        self, image: np.ndarray, label_map: np.ndarray, regions: list[RegionInfo]
    ) -> DescribeResult: ...
