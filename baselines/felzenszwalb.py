"""felzenszwalb: Felzenszwalb-Huttenlocher graph segmentation merged to K regions by appearance.

1. The image is area-downscaled to the features' working resolution (longest side ``work_size``)
   and over-segmented with ``skimage.segmentation.felzenszwalb`` (``scale``, ``sigma``, and a
   minimum segment size of ``min_share`` of the working pixels).
2. The segments are merged by appearance down to K regions (or by the autonomous ``tau`` rule) and
   upsampled: :class:`baselines.merging.OversegmentAndMerge`.

Descriptions passed to ``predict`` are ignored and none are returned. Deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.merging import OversegmentAndMerge


class Felzenszwalb(OversegmentAndMerge):
    """Graph-based over-segmentation + appearance merging; see the module docstring."""

    name = "felzenszwalb"

    def __init__(
        self, scale: float = 300.0, sigma: float = 0.8, min_share: float = 0.002, **merge: Any
    ) -> None:
        super().__init__(**merge)
        self.scale = float(scale)
        self.sigma = float(sigma)
        self.min_share = float(min_share)

    def segments(self, small: np.ndarray) -> np.ndarray:
        """h x w int segment ids of the working-resolution image."""
        from skimage.segmentation import felzenszwalb

        min_size = max(4, int(self.min_share * small.shape[0] * small.shape[1]))
        return felzenszwalb(small, scale=self.scale, sigma=self.sigma, min_size=min_size)
