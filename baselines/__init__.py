"""Baselines: the segmentation methods the benchmark runs, one file per method.

What lives where
----------------
Method files (one per method family; each is the ``entry`` of one or more manifests in
``manifests/methods/<name>.yaml``, which the harness imports lazily by name): a class implementing
``benchmark.method.Method`` (``predict(image, k, descriptions) -> Prediction``) and, where the
manifest cannot say it, a ``check_available`` classmethod for the environment (a package, a GPU, a
code clone). Examples: ``texture_kmeans.py``, ``slic.py``, ``felzenszwalb.py``, ``one_region.py``
(classical); ``clip_dense.py`` (maskclip, sclip, clearclip), ``code_seg.py``, ``lseg.py``,
``use_reimpl.py``, ``semantic_sam.py`` (CLIP-based); ``sam3.py``, ``detecture.py``,
``detecture_zs.py``, ``naive_coupling.py`` (SAM 3-based). A method file never imports another
method file: what two methods share lives in a helper module.

Shared helper modules (used by several methods, owned by none):

- ``_clip.py``: loading a transformers CLIP, the MaskCLIP / SCLIP / ClearCLIP last block, dense
  patch features, text embeddings, sliding-window scoring, the descriptions check.
- ``_clip_blocks.py``: the OpenAI-CLIP block of official checkpoints (key/shape layout and the
  conversion to a transformers ``CLIPEncoderLayer``), shared by ``code_arch`` and ``lseg_arch``.
- ``_sam3.py``: ``Sam3Grounder`` (SAM 3 loaded once; multiplexed, joint and proposal grounding),
  ``stack_scores``, ``torchvision_reason``.
- ``_vlm_sam3.py``: the training-free VLM -> SAM 3 pipeline (``VlmSam3Pipeline``, ``ChatVlm``) that
  ``detecture-zs`` runs with its fixes on and ``naive-coupling`` with them off.
- ``merging.py`` (appearance space, Ward merging, label clean-up of the classical methods),
  ``mask_matching.py`` (labelling class-agnostic masks with the descriptions), ``pamr.py``
  (pixel-adaptive mask refinement), ``lora.py`` (a LoRA wrapper), ``safe_ckpt.py`` (reading third-party
  checkpoints without running their pickled code).

Architecture modules (our model code for published checkpoints, with the strict key/shape layout
of the official files): ``code_arch.py``, ``lseg_arch.py``, ``detecture_arch.py``. An architecture
module never imports another one: what they share lives in a helper module.

Training (`bench train`, :mod:`benchmark.training`): ``detecture_train.py`` is the trainer that
``manifests/train/detecture.yaml`` names (model build, stages, loss, checkpoints in the published
layout; it evaluates through its own method, ``detecture.py``), ``detecture_train_parts.py`` its pure
pieces (training example, shifted-zero LM weights, CE/Dice sums, the LR schedule).

Weights: a manifest's ``weights:`` block names every weight a method loads (hub id + revision, or a
local checkpoint file and where to download it); ``benchmark.weights`` checks them, offline, before
any method is built, and ``benchmark.provenance`` records what was used. Methods never download.

Testing: ``testing/`` builds tiny random models offline (``tiny_sam3.py``, ``tiny_clip.py``,
``tiny_sam.py``, ``tiny_detecture.py``; VLMs in ``textureade.testing.tiny_vlm``);
``testing/tiny_weights.py``'s ``TinyWeights`` builds each at most once per folder (the tests' session
fixture ``tiny_weights``), and ``testing/smoke.py`` holds the manifests' ``smoke:`` hooks
(``f(tmp_dir) -> params`` of a tiny offline instance of the method).

Imports go one way: textureade <- benchmark <- baselines. Method and helper modules import torch
and transformers inside functions, so importing a method module is cheap; ``detecture_arch`` and
``lora`` import torch at the top and are themselves imported lazily.
"""
