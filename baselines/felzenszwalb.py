"""felzenszwalb: Felzenszwalb-Huttenlocher graph segmentation merged to K regions by appearance.

1. The image is area-downscaled to the features' working resolution (longest side ``work_size``)
   and over-segmented with ``skimage.segmentation.felzenszwalb`` (``scale``, ``sigma``, and a
   minimum segment size of ``min_share`` of the working pixels).
2. The segments are merged by Ward linkage on their mean colour + texture features
   (:func:`baselines.merging.merge_regions`, non-touching segments pay a penalty) down to K regions,
   or, in autonomous mode (k=None), until the next merge would add more than ``tau`` of the image's
   total sum of squares (at most ``max_regions`` regions).
3. Labels 1..K (largest first) are nearest-upsampled to the image size; every pixel is assigned.

Descriptions passed to ``predict`` are ignored and none are returned. Deterministic.
"""

from __future__ import annotations

import cv2
import numpy as np

from baselines.merging import appearance_space, merge_regions, upsample_labels
from textureade.features import pixel_features, working_size
from textureade.types import Prediction


def downscale(image: np.ndarray, work_size: int) -> np.ndarray:
    """The image at the features' working resolution (INTER_AREA), uint8 RGB."""
    wh, ww = working_size(image.shape[:2], work_size)
    if (wh, ww) == image.shape[:2]:
        return image
    return cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)


class Felzenszwalb:
    """Graph-based over-segmentation + appearance merging; see the module docstring."""

    name = "felzenszwalb"

    def __init__(
        self,
        scale: float = 300.0,
        sigma: float = 0.8,
        min_share: float = 0.002,
        colour_weight: float = 0.6,
        tau: float = 0.04,
        max_regions: int = 6,
        nonadjacent_penalty: float = 2.0,
        work_size: int = 256,
    ) -> None:
        self.scale = float(scale)
        self.sigma = float(sigma)
        self.min_share = float(min_share)
        self.colour_weight = float(colour_weight)
        self.tau = float(tau)
        self.max_regions = int(max_regions)
        self.nonadjacent_penalty = float(nonadjacent_penalty)
        self.work_size = int(work_size)

    def segments(self, small: np.ndarray) -> np.ndarray:
        """h x w int segment ids of the working-resolution image."""
        from skimage.segmentation import felzenszwalb

        min_size = max(4, int(self.min_share * small.shape[0] * small.shape[1]))
        return felzenszwalb(small, scale=self.scale, sigma=self.sigma, min_size=min_size)

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
