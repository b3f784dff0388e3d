"""slic: SLIC superpixels merged to K regions by appearance.

1. The image is area-downscaled to the features' working resolution (longest side ``work_size``)
   and cut into about ``n_segments`` SLIC superpixels (``skimage.segmentation.slic`` on colour,
   ``compactness``, Gaussian pre-smoothing ``sigma``).
2. The superpixels are merged by Ward linkage on their mean colour + texture features with the
   shared :func:`baselines.merging.merge_regions` (as ``felzenszwalb`` does): to K regions, or in
   autonomous mode (k=None) until the next merge would add more than ``tau`` of the image's total
   sum of squares (at most ``max_regions`` regions).
3. Labels 1..K (largest first) are nearest-upsampled to the image size; every pixel is assigned.

Descriptions passed to ``predict`` are ignored and none are returned. Deterministic.
"""

from __future__ import annotations

import numpy as np

from baselines.felzenszwalb import downscale
from baselines.merging import appearance_space, merge_regions, upsample_labels
from textureade.features import pixel_features
from textureade.types import Prediction


class Slic:
    """SLIC over-segmentation + appearance merging; see the module docstring."""

    name = "slic"

    def __init__(
        self,
        n_segments: int = 300,
        compactness: float = 10.0,
        sigma: float = 1.0,
        colour_weight: float = 0.6,
        tau: float = 0.04,
        max_regions: int = 6,
        nonadjacent_penalty: float = 2.0,
        work_size: int = 256,
    ) -> None:
        self.n_segments = int(n_segments)
        self.compactness = float(compactness)
        self.sigma = float(sigma)
        self.colour_weight = float(colour_weight)
        self.tau = float(tau)
        self.max_regions = int(max_regions)
        self.nonadjacent_penalty = float(nonadjacent_penalty)
        self.work_size = int(work_size)

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

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None = None) -> Prediction:
        """Label map (H x W int32, 1..K, every pixel assigned) for an H x W x 3 uint8 image."""
        small = downscale(image, self.work_size)
        space = appearance_space(pixel_features(small, work_size=None), self.colour_weight)
        labels, info = merge_regions(
            self.segments(small),
            space,
            k,
            tau=self.tau,
            max_regions=self.max_regions,
            nonadjacent_penalty=self.nonadjacent_penalty,
        )
        info["k"] = int(labels.max())
        return Prediction(label_map=upsample_labels(labels, image.shape[:2]), extras=info)
