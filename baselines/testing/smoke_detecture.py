"""Smoke hooks (``f(tmp_dir) -> params``) of the Detecture benchmark's baselines: grounded-sam3,
qwen2sam-zs, sa2va. Tiny random/stand-in weights under ``tmp_dir`` (shared ones through
:class:`baselines.testing.tiny_weights.TinyWeights`), CPU, float32, offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baselines.testing.tiny_weights import TinyWeights


def grounded_sam3(tmp_dir: Path) -> dict[str, Any]:
    """A tiny random Grounding DINO and the tiny SAM 3."""
    from baselines.testing.tiny_grounding_dino import save_tiny_grounding_dino

    tiny = TinyWeights(tmp_dir)
    dino = tiny.built("grounding-dino", save_tiny_grounding_dino)
    return {
        "dino": str(dino),
        "sam3": str(tiny.sam3()),
        "dino_revision": None,
        "sam3_revision": None,
        "device": "cpu",
        "dtype": "float32",
    }


def qwen2sam_zs(tmp_dir: Path) -> dict[str, Any]:
    """A tiny random Qwen3-VL and the tiny SAM 3. Random weights write no TEXTURE_i line, so the smoke
    run takes the fallback text (``on_parse_failure="fallback"``; the manifest fails such images)."""
    tiny = TinyWeights(tmp_dir)
    return {
        "vlm": str(tiny.vlm("qwen3_vl")),
        "sam3": str(tiny.sam3()),
        "vlm_revision": None,
        "sam3_revision": None,
        "device": "cpu",
        "dtype": "float32",
        "vlm_dtype": "float32",
        "max_new_tokens": 8,
        "on_parse_failure": "fallback",
    }


def sa2va(tmp_dir: Path) -> dict[str, Any]:
    """The local Sa2VA stand-in (remote code, hence trust_remote_code=true) with two colour masks."""
    from baselines.testing.tiny_sa2va import save_tiny_sa2va

    folder = TinyWeights(tmp_dir).built("sa2va", save_tiny_sa2va)
    return {
        "model": str(folder),
        "revision": None,
        "trust_remote_code": True,
        "device": "cpu",
        "dtype": "float32",
    }
