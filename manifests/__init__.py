"""textureade's built-in manifests: declarative YAML, shipped as package data.

This folder is an importable package for one reason: so that the YAML files travel inside an
installed wheel (``pip install .`` copies packages, not loose folders) and are found the same way
in a wheel, an editable install and a source checkout, through ``importlib.resources``. It holds
no code; read it as data:

- ``methods/``: one YAML per method (entry ``module:Class``, weights ids + revisions, params);
- ``datasets/``: where each named dataset lives and which protocol it is scored under;
- ``suites/``: methods x datasets = one leaderboard (protocol and K per dataset);
- ``mining/``: the miner's thresholds (``default.yaml``) and class keyword lists (``classes.yaml``);
- ``describers/``: VLM describer manifests (hub id, pinned revision, prompts);
- ``published/``: published result tables as data (what a paper printed, by its own names);
- ``text_models/``: sentence-embedding models that score descriptions (hub id, pinned revision).

Never read this folder by path from code: :mod:`textureade.manifests` is the one locator (it
honours ``$TEXTUREADE_MANIFESTS`` and the user's extra manifest folders).
"""

#: Marks this package as textureade's (another distribution could ship a package named ``manifests``).
TEXTUREADE_MANIFESTS = True
