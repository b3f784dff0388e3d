"""Toy datasets and methods for the harness tests (importable by path in subprocesses too).

Everything is deterministic in the image content, so a resumed run must reproduce the records.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from textureade.types import Prediction, Sample


def toy_stream(n: int = 12, size: int = 24, seed: int = 0) -> Iterator[Sample]:
    """n samples of size x size: a dark left and a bright right region (K=2), noisy."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = rng.integers(0, 100, (size, size, 3), dtype=np.uint8)
        cut = int(rng.integers(size // 4, 3 * size // 4))
        img[:, cut:] += 120
        lm = np.ones((size, size), np.int32)
        lm[:, cut:] = 2
        yield Sample(
            id=f"toy{i:05d}",
            image=img,
            label_map=lm,
            descriptions=["Texture of dark noise, left side", "Texture of bright noise, right side"],
            base_id=f"base{i // 2}",
        )


class Threshold:
    """Two regions by brightness (score maps at half resolution, dustbin at -1).

    delay: seconds slept per image. fail_mod: fail on images whose first pixel value % fail_mod == 0.
    """

    name = "threshold"

    def __init__(self, delay: float = 0.0, fail_mod: int = 0, half: bool = True) -> None:
        self.delay = delay
        self.fail_mod = fail_mod
        self.half = half

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        if self.delay:
            time.sleep(self.delay)
        if self.fail_mod and int(image[0, 0, 0]) % self.fail_mod == 0:
            raise RuntimeError(f"toy failure on pixel value {int(image[0, 0, 0])}\nsecond line")
        gray = image.astype(np.float32).mean(axis=2) / 255.0
        if self.half:
            gray = gray[::2, ::2]
        k = k or 2
        scores = np.full((k + 1, *gray.shape), -np.inf, np.float32)
        scores[0] = -1.0
        scores[1] = 0.5 - gray
        scores[2] = gray - 0.5
        return Prediction(scores=scores, descriptions=["Texture of dark", "Texture of bright"][:k])


class Sleeper:
    """Sleeps ``seconds`` in predict (for timeouts)."""

    name = "sleeper"

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        time.sleep(self.seconds)
        return Prediction(label_map=np.ones(image.shape[:2], np.int32))


class NotAPrediction:
    name = "not-a-prediction"

    def predict(self, image, k, descriptions):  # noqa: ANN001
        return np.zeros(image.shape[:2], np.int32)


class LazyWeights:
    """Predicts like Threshold until sample ``fail_at``, then its (lazily loaded) weights are unusable."""

    name = "lazy-weights"

    def __init__(self, fail_at: int = 2) -> None:
        self.fail_at, self.seen = fail_at, 0
        self.inner = Threshold()

    def predict(self, image, k, descriptions):  # noqa: ANN001
        from benchmark.method import MethodUnavailable

        self.seen += 1
        if self.seen > self.fail_at:
            raise MethodUnavailable("lazy-weights: vlm model: cannot load /x: not a VLM")
        return self.inner.predict(image, k, descriptions)


def halves_stream(n: int = 2) -> Iterator[Sample]:
    """n 10 x 10 samples: GT region 1 = columns 0-4, region 2 = columns 5-9."""
    for i in range(n):
        lm = np.ones((10, 10), np.int32)
        lm[:, 5:] = 2
        yield Sample(
            id=f"half{i}",
            image=np.full((10, 10, 3), i, np.uint8),
            label_map=lm,
            descriptions=["Texture of a", "Texture of b"],
        )


class SecondChannelEmpty:
    """Two score channels: channel 1 covers the left 80% of the columns (on a 10-wide image of two
    halves: one half and 60% of the other), channel 2 nowhere, the dustbin the rest. The authors' scorer: mIoU (0.625 + 0) / 2 = 0.3125; ours: 0.625.

    label_map: return the argmax as a label map instead (the channel count is then unknown)."""

    name = "second-channel-empty"

    def __init__(self, label_map: bool = False) -> None:
        self.label_map = label_map

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        scores = np.full((3, *image.shape[:2]), -10.0, np.float32)
        scores[0] = 0.0
        scores[1][:, : round(0.8 * image.shape[1])] = 5.0
        if self.label_map:
            return Prediction(label_map=np.argmax(scores, axis=0).astype(np.int32))
        return Prediction(scores=scores)


class Recorder:
    """Records what it was given (K, descriptions, its params) in ``extras``; one channel per K."""

    name = "recorder"

    def __init__(self, **params) -> None:  # noqa: ANN003 - any manifest's params
        self.params = params

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        scores = np.zeros(((k or 1) + 1, *image.shape[:2]), np.float32)
        scores[1] = 1.0
        return Prediction(scores=scores, extras={"k": k, "descriptions": descriptions, "params": self.params})
