"""slic: SLIC superpixels merged to K regions by appearance.

1. The image is area-downscaled to the features' working resolution (longest side ``work_size``)
   and cut into about ``n_segments`` SLIC superpixels (``skimage.segmentation.slic`` on colour,
   ``compactness``, Gaussian pre-smoothing ``sigma``).
2. The superpixels are merged by appearance down to K regions (or by the autonomous ``tau`` rule)
   and upsampled, as for ``felzenszwalb``: :class:`baselines.merging.OversegmentAndMerge`.

Descriptions passed to ``predict`` are ignored and none are returned. Deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.merging import OversegmentAndMerge


class Slic(OversegmentAndMerge):
    """SLIC over-segmentation + appearance merging; see the module docstring."""

    name = "slic"

    def __init__(
        self, n_segments: int = 300, compactness: float = 10.0, sigma: float = 1.0, **merge: Any
    ) -> None:
        super().__init__(**merge)
        self.n_segments = int(n_segments)
        self.compactness = float(compactness)
        self.sigma = float(sigma)

    def segments(self, small: np.ndarray) -> np.ndarray:
        """h x w int superpixel ids of the working-resolution image."""
        from skimage.segmentation import slic

        return slic(
            small,
            n_segments=self.n_segments,
            compactness=self.compactness,
            sigma=self.sigma,
            start_label=0,
            channel_axis=-1,
        )
