"""The Method protocol every baseline implements, and the errors a method may raise.

A method is one class in ``baselines/<family>.py`` plus one manifest in ``manifests/methods/``.
The registry constructs it as ``Class(**params)`` where params are the manifest's ``params``
updated by the user's ``--option key=value`` pairs. Heavy imports (torch, transformers) happen
inside ``__init__``/``predict``, never at module import.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from textureade.errors import UserError
from textureade.types import Prediction

PROTOCOLS = ("oracle-k", "oracle-k-blind", "autonomous")


class MethodUnavailable(UserError):
    """The method cannot run here (missing weights, package or device).

    One line naming what is missing and how to get it, e.g. "lseg: weights not found at X;
    download demo_e200.ckpt from ... and pass --option weights=PATH".
    """


@runtime_checkable
class Method(Protocol):
    """A sub-semantic segmentation method.

    predict(image, k, descriptions):
      image: H x W x 3 uint8 RGB.
      k: number of regions to produce (oracle-k and oracle-k-blind), or None (autonomous).
      descriptions: K ground-truth descriptions (oracle-k only), else None.
    Returns a Prediction at the image's resolution: (K' + 1) x H x W scores with the dustbin
    first, or an H x W label map (0 = unassigned); optional descriptions of its regions.
    Raises MethodUnavailable from __init__ when it cannot run here.
    """

    name: str

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction: ...
