"""TextureADE: derive a sub-semantic segmentation dataset from ADE20K.

The build is one path, ``textureade build`` = :func:`textureade.pipeline.build`::

    ADE20K folder/parquet --readers--> Scene --mining--> RegionSet --describe--> Sample --store--> parquet shards

What lives where:

- ``types.py``: the records every job shares (``Scene``, ``Sample``, ``Prediction``; a benchmark record is ``benchmark.records.RecordRow``)
  and the one score-maps -> partition rule; ``errors.py``: ``UserError`` (one line, exit 2).
- ``readers/``: ADE20K in every distributed form (ADEChallengeData2016, the full ADE20K release,
  the Hugging Face parquet mirrors), auto-detected by ``open_ade20k``; each yields ``Scene`` records.
- ``mining/``: what becomes a sample: class typing, per-image selection (texture score), regions
  by appearance (segments, merges, splits, drops), all recorded in the sample's provenance.
  ``features.py``: the per-pixel appearance channels the miner and the baselines share.
- ``describe/``: one description per region: the offline describer (no weights, the default) or
  a VLM describer (transformers, cached, the offline one as fallback), all validated.
- ``store/``: TextureADE on disk: parquet shards, the README card, ``manifest.json``; readers back.
- ``pipeline.py``: the build itself (chunks, workers, journal, resume); ``config.py``: its one
  config schema (``BuildConfig``, CLI > YAML > defaults) and the mining thresholds;
  ``journal.py``: the build journal.
- ``fileio.py``: crash-safe plumbing (atomic writes, sha256, fsynced JSONL log);
  ``fingerprint.py``: the content fingerprint of local weights; ``hf.py``: offline model loading.
- ``manifests.py``: the one locator of manifests (package data, ``$TEXTUREADE_MANIFESTS``, user
  folders); every job finds its YAML there.
- ``mosaic.py``, ``textures.py``: synthetic texture mosaics; ``detecture_format.py``: Detecture
  ``metadata.json`` folders, read and written.
- ``testing/``: helpers for tests and the demo (synthetic ADE20K folders, tiny random VLMs).
- ``cli.py``: the ``textureade`` command, thin over the above; ``cliutil.py``: what both CLIs share.

``import textureade`` stays light (numpy/Pillow only); torch and transformers are imported inside
the functions that need them. Imports run one way: ``textureade`` knows nothing of ``benchmark``
or ``baselines``.
"""

from __future__ import annotations

from typing import Any

from textureade.errors import UserError
from textureade.types import Prediction, Sample, Scene, SceneObject, ValidationError

__version__ = "0.1.0"

__all__ = [
    "Prediction",
    "Sample",
    "Scene",
    "SceneObject",
    "UserError",
    "ValidationError",
    "__version__",
    "read_ade20k",
]


def __getattr__(name: str) -> Any:  # lazy: keeps `import textureade` cheap
    if name == "read_ade20k":
        from textureade.readers import read_ade20k

        return read_ade20k
    raise AttributeError(f"module 'textureade' has no attribute {name!r}")
