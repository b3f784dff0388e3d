"""DETECTURE without training (manifest ``detecture-zs``): a VLM proposes region descriptions, SAM 3
grounds each one, regions compete only at the final per-pixel argmax with a dustbin.

The pipeline and its three fixes (isolated descriptions, multiplexed grounding, SAM 3's own text
encoder) are :class:`baselines._vlm_sam3.VlmSam3Pipeline`, shared with ``naive-coupling``; this
method runs it with every fix on by default (each switchable by ``--option`` for ablations).
"""

from __future__ import annotations

from baselines._vlm_sam3 import VlmSam3Pipeline


class DetectureZS(VlmSam3Pipeline):
    """Training-free DETECTURE: isolate, multiplex and native_text default to on."""

    name = "detecture-zs"
