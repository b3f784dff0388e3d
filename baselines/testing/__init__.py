"""Tiny random models for tests and the manifests' ``smoke:`` hooks (built offline, no downloads).

- ``tiny_sam3.py``, ``tiny_clip.py`` (CLIP, and CoDe / LSeg checkpoints in the official layouts),
  ``tiny_sam.py`` (SAM, DINOv2), ``tiny_detecture.py`` (a checkpoint in the published layout),
  ``tiny_grounding_dino.py``, ``tiny_sa2va.py``: builders, ``save_*(out) -> path``; VLMs are
  ``textureade.testing.tiny_vlm``.
- ``tiny_weights.py``: ``TinyWeights(root)`` builds each of them at most once under ``root`` (the
  tests' session fixture ``tiny_weights`` in ``tests/conftest.py``).
- ``smoke.py``, ``smoke_detecture.py``: the manifests' ``smoke:`` hooks, ``f(tmp_dir) -> params`` of a
  tiny offline instance of each method, over ``TinyWeights(tmp_dir)``.
"""
