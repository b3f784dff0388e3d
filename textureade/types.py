"""Core records shared by the dataset builder and the benchmark.

Conventions (every module follows them):
- images are H x W x 3 ``uint8`` RGB arrays;
- label maps are H x W integer arrays (stored as ``int32`` after validation);
- in a partition (``Sample.label_map``, ``Prediction.label_map``) 0 means unassigned/ignored and
  1..K are the regions, region k described by ``descriptions[k - 1]``;
- score maps are (K + 1) x H x W ``float32`` with the dustbin first (channel 0).

Every class validates on construction and raises :class:`ValidationError` with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ValidationError(ValueError):
    """A record was built from data that breaks its contract (one-line message)."""


def _check_image(image: Any, what: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise ValidationError(f"{what}: image must be an H x W x 3 array, got shape {shape}")
    if image.dtype != np.uint8:
        raise ValidationError(f"{what}: image must be uint8 RGB, got {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValidationError(f"{what}: image is empty ({image.shape})")
    return image


def _check_labels(labels: Any, hw: tuple[int, int], what: str, name: str) -> np.ndarray:
    if not isinstance(labels, np.ndarray) or labels.ndim != 2:
        raise ValidationError(f"{what}: {name} must be an H x W array, got {getattr(labels, 'shape', None)}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValidationError(f"{what}: {name} must hold integers, got {labels.dtype}")
    if labels.shape != hw:
        raise ValidationError(
            f"{what}: {name} is {labels.shape[1]}x{labels.shape[0]} but the image is {hw[1]}x{hw[0]}"
        )
    if labels.size and labels.min() < 0:
        raise ValidationError(f"{what}: {name} has negative ids")
    return labels.astype(np.int32, copy=False)


@dataclass
class SceneObject:
    """One annotated object of an ADE20K image.

    ``class_id`` is in the id space of the scene's ``labels`` (SceneParse150 ids for
    ADEChallengeData2016, full-ADE ``name_ndx`` for the full form). ``instance_id`` indexes
    ``Scene.instances`` (0 = none). ``part_level`` is 0 for whole objects, N for ``_parts_N``.
    ``occluded`` is None when the annotation does not say.
    """

    name: str
    class_id: int
    instance_id: int = 0
    attributes: list[str] = field(default_factory=list)
    part_level: int = 0
    occluded: bool | None = None


@dataclass
class Scene:
    """An ADE20K image with its dense annotation, as a reader yields it.

    image: H x W x 3 uint8 RGB. labels: H x W int32, 0 = unlabeled. instances: H x W int32
    (0 = none) or None. parts: one H x W int32 class map per part level (parts[0] is level 1).
    class_names: id -> name for the ids that ``labels``/``parts`` use. scene: scene category or None.
    source: which ADE20K form it came from (e.g. ``ADEChallengeData2016``). image_bytes: the
    encoded file (JPEG or PNG) ``image`` was decoded from, when it decodes to exactly ``image`` as
    it is (see ``readers.images.read_photo``); None when the reader had to convert the pixels.
    """

    id: str
    image: np.ndarray
    labels: np.ndarray
    split: str | None = None
    instances: np.ndarray | None = None
    parts: list[np.ndarray] = field(default_factory=list)
    objects: list[SceneObject] = field(default_factory=list)
    class_names: dict[int, str] = field(default_factory=dict)
    scene: str | None = None
    source: str = ""
    image_bytes: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        what = f"scene {self.id}"
        self.image = _check_image(self.image, what)
        hw = self.image.shape[:2]
        self.labels = _check_labels(self.labels, hw, what, "labels")
        if self.instances is not None:
            self.instances = _check_labels(self.instances, hw, what, "instances")
        self.parts = [_check_labels(p, hw, what, f"part map {i + 1}") for i, p in enumerate(self.parts)]


@dataclass
class Sample:
    """One image of a sub-semantic segmentation dataset: what TextureADE stores and the harness reads.

    label_map: H x W int32 partition, 0 = unassigned/ignored, 1..K regions where
    K = len(descriptions); a region id may be absent from the map (e.g. after resizing) but never
    exceed K. base_id groups samples derived from the same source image (leak-free splits).
    region_names: per-region class names (may be empty). provenance: free-form JSON-able dict.
    image_bytes: the source's encoded image file when it decodes to exactly ``image`` (stores keep
    it byte for byte, e.g. ADE20K's JPEG); None: stores encode ``image`` losslessly (PNG).
    """

    id: str
    image: np.ndarray
    label_map: np.ndarray
    descriptions: list[str]
    base_id: str = ""
    split: str | None = None
    source: str = ""
    region_names: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    image_bytes: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        what = f"sample {self.id}"
        if not self.id:
            raise ValidationError("sample: id must be a non-empty string")
        self.image = _check_image(self.image, what)
        self.label_map = _check_labels(self.label_map, self.image.shape[:2], what, "label_map")
        self.descriptions = [str(d) for d in self.descriptions]
        k = len(self.descriptions)
        top = int(self.label_map.max()) if self.label_map.size else 0
        if top > k:
            raise ValidationError(f"{what}: label_map has region id {top} but only {k} descriptions")
        if self.region_names and len(self.region_names) != k:
            raise ValidationError(f"{what}: {len(self.region_names)} region names for {k} regions")
        if not self.base_id:
            self.base_id = self.id

    @property
    def k(self) -> int:
        """Number of regions (= number of descriptions)."""
        return len(self.descriptions)


def scores_to_partition(scores: np.ndarray) -> np.ndarray:
    """Turn (K + 1) x H x W score maps (dustbin first) into an H x W int32 partition.

    Channel 0 (dustbin) becomes label 0 (unassigned), channel k becomes region k. Each pixel takes
    the best texture channel (the lowest channel among equals) unless the dustbin scores strictly
    higher: a texture wins an exact tie with the dustbin. This is the Detecture authors' rule
    (their ``resolve_conflicts_softmax_argmax`` puts the dustbin last and takes the first maximum),
    so score maps partition as in their harness; their argmax runs on softmax probabilities, whose
    rounding can also tie logits that differ by less than float32 precision (not reproduced).
    NaN scores count as -inf. This is the only place where scores become a partition: methods
    never paint masks.
    """
    if scores.ndim != 3 or scores.shape[0] < 1:
        raise ValidationError(f"scores must be (K + 1) x H x W, got {scores.shape}")
    clean = np.where(np.isnan(scores), -np.inf, scores)
    if clean.shape[0] == 1:
        return np.zeros(clean.shape[1:], np.int32)
    textures = clean[1:]
    best = np.argmax(textures, axis=0) + 1
    beaten = clean[0] > np.max(textures, axis=0)
    return np.where(beaten, 0, best).astype(np.int32)


@dataclass
class Prediction:
    """A method's output for one image: score maps or a label map, plus optional descriptions.

    Exactly one of ``scores`` ((K + 1) x H x W float, dustbin first) or ``label_map`` (H x W
    integers, 0 = unassigned) is set. ``descriptions[k - 1]`` describes region k when given.
    ``extras`` carries method-specific diagnostics (JSON-able).
    """

    scores: np.ndarray | None = None
    label_map: np.ndarray | None = None
    descriptions: list[str] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.scores is None) == (self.label_map is None):
            raise ValidationError("prediction: give exactly one of scores or label_map")
        if self.scores is not None:
            self.scores = np.asarray(self.scores, dtype=np.float32)
            if self.scores.ndim != 3:
                raise ValidationError(f"prediction: scores must be (K + 1) x H x W, got {self.scores.shape}")
        else:
            lm = np.asarray(self.label_map)
            if lm.ndim != 2 or not np.issubdtype(lm.dtype, np.integer):
                raise ValidationError(
                    f"prediction: label_map must be an H x W integer array, got {lm.shape} {lm.dtype}"
                )
            if lm.size and lm.min() < 0:
                raise ValidationError("prediction: label_map has negative ids")
            self.label_map = lm.astype(np.int32, copy=False)

    @property
    def shape(self) -> tuple[int, int]:
        arr = self.scores[0] if self.scores is not None else self.label_map
        return tuple(arr.shape)  # type: ignore[return-value]

    def partition(self) -> np.ndarray:
        """The H x W int32 partition (0 = unassigned), via :func:`scores_to_partition` for scores."""
        if self.scores is not None:
            return scores_to_partition(self.scores)
        return self.label_map  # type: ignore[return-value]
