"""one-region: every pixel is one region (the floor every method must beat).

Whatever K is asked for, the prediction is a single region covering the whole image (label 1);
descriptions are ignored and none are returned. Under matched mIoU this scores the IoU of the
largest ground-truth region with the whole image; its ARI is 0 whenever the ground truth has more
than one region.
"""

from __future__ import annotations

import numpy as np

from textureade.types import Prediction


class OneRegion:
    """The trivial partition: label 1 everywhere."""

    name = "one-region"

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None = None) -> Prediction:
        """H x W int32 label map of ones for an H x W x 3 image (k and descriptions are ignored)."""
        return Prediction(label_map=np.ones(image.shape[:2], np.int32), extras={"k": 1})
