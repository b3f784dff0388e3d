"""The manifests' ``smoke:`` hooks, one per method family: ``f(tmp_dir) -> params``.

Each returns the constructor params of a tiny, offline instance of the method (random weights from
:class:`baselines.testing.tiny_weights.TinyWeights` under ``tmp_dir``; CPU, float32, small windows).
``benchmark.registry.smoke_params`` calls them; the tests pass one session folder, so each tiny
model is built once per test session however many methods use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baselines.testing.tiny_weights import TinyWeights


def clip_dense(tmp_dir: Path) -> dict[str, Any]:
    """maskclip / sclip / clearclip: the tiny CLIP; the variant stays the manifest's, windows shrink to 64 px."""
    clip = TinyWeights(tmp_dir).clip()
    return {"model": str(clip), "device": "cpu", "short_side": 96, "crop": 64, "stride": 32}


def code(tmp_dir: Path) -> dict[str, Any]:
    """CoDe: a random official-layout checkpoint + the tiny CLIP's character tokenizer."""
    tiny = TinyWeights(tmp_dir)
    return {
        "checkpoint": str(tiny.code_checkpoint()),
        "tokenizer": str(tiny.clip()),
        "device": "cpu",
        "vision_heads": 2,
        "text_heads": 2,
        "short_side": 96,
        "crop": 64,
        "stride": 32,
    }


def lseg(tmp_dir: Path) -> dict[str, Any]:
    """LSeg: a random official-layout Lightning checkpoint + the tiny CLIP's character tokenizer."""
    tiny = TinyWeights(tmp_dir)
    return {
        "checkpoint": str(tiny.lseg_checkpoint()),
        "tokenizer": str(tiny.clip()),
        "device": "cpu",
        "hooks": [0, 1, 2, 3],
        "vit_heads": 2,
        "text_heads": 2,
        "long_side": 96,
        "crop": 64,
        "stride": 32,
        "flip": False,
    }


def use_reimpl(tmp_dir: Path) -> dict[str, Any]:
    """USE re-implementation: tiny SAM + tiny CLIP + tiny DINOv2, quality filters off."""
    tiny = TinyWeights(tmp_dir)
    return {
        "sam": str(tiny.sam()),
        "clip": str(tiny.clip()),
        "dinov2": str(tiny.dinov2()),
        "device": "cpu",
        "points_per_side": 4,
        "pred_iou_thresh": 0.0,
        "stability_thresh": 0.0,
        "clip_short_side": 64,
        "dino_short_side": 64,
    }


def sam3(tmp_dir: Path) -> dict[str, Any]:
    """SAM 3 alone: the tiny SAM 3."""
    return {"sam3": str(TinyWeights(tmp_dir).sam3()), "revision": None, "device": "cpu", "dtype": "float32"}


def vlm_sam3(tmp_dir: Path) -> dict[str, Any]:
    """detecture-zs and naive-coupling: a tiny Qwen3-VL and the tiny SAM 3."""
    tiny = TinyWeights(tmp_dir)
    return {
        "vlm": str(tiny.vlm("qwen3_vl")),
        "sam3": str(tiny.sam3()),
        "device": "cpu",
        "dtype": "float32",
        "vlm_dtype": "float32",
        "max_new_tokens": 8,
    }


def detecture(tmp_dir: Path) -> dict[str, Any]:
    """Trained DETECTURE: tiny Qwen3-VL + tiny SAM 3 + a random checkpoint in the published layout."""
    tiny = TinyWeights(tmp_dir)
    return {
        "checkpoint": str(tiny.detecture_checkpoint()),
        "vlm": str(tiny.vlm("qwen3_vl")),
        "sam3": str(tiny.sam3()),
        "device": "cpu",
        "dtype": "float32",
        "max_new_tokens": 16,
    }


def semantic_sam(tmp_dir: Path) -> dict[str, Any]:
    """No tiny Semantic-SAM exists (its code is not installable here): skip the smoke run, saying why.

    Raises ``unittest.SkipTest`` (pytest reports it as a skip) with the line ``check_available`` gives.
    """
    import unittest

    from baselines.semantic_sam import SemanticSam

    raise unittest.SkipTest(f"semantic-sam: {SemanticSam.check_available({}) or 'no tiny model exists'}")
