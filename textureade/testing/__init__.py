"""Test and demo helpers that ship with the package (no download, deterministic).

- ``synthetic_ade``: a small ADE20K-form folder (challenge or full form) painted from scikit-image's
  bundled images; what ``make demo``, the tests and the wheel test build from.
- ``tiny_vlm``: tiny random VLMs built from configs and saved to a folder, loaded back through the
  production path.
"""
