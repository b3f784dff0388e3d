"""The Detecture benchmark's three baselines (grounded-sam3, qwen2sam-zs, sa2va) through the runner on a
Detecture-form folder, with tiny weights: every image scored, and run.json records what each was given
(never GT text)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

from baselines.testing import smoke_detecture  # noqa: E402
from benchmark.runconfig import RunConfig  # noqa: E402
from benchmark.runner import run  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.usefixtures("one_torch_thread")]


def write_two_texture_folder(folder: Path, n: int = 2) -> Path:
    """metadata.json + images + 0/255 masks: left half red-ish, right half green-ish."""
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(3)
    meta = []
    for i in range(n):
        img = np.zeros((24, 32, 3), np.uint8)
        img[:, :16], img[:, 16:] = (200, 50, 40), (40, 170, 60)
        img = np.clip(img + rng.integers(0, 30, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / "images" / f"im{i}.png")
        textures = []
        for t in range(2):
            mask = np.zeros((24, 32), np.uint8)
            mask[:, (0 if t == 0 else 16) : (16 if t == 0 else 32)] = 255
            Image.fromarray(mask).save(folder / "masks" / f"im{i}_{t}.png")
            textures.append({"description": f"Texture of thing {t}", "mask_path": f"masks/im{i}_{t}.png"})
        meta.append({"image_path": f"images/im{i}.png", "id": f"im{i}", "textures": textures})
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_two_texture_folder(tmp_path_factory.mktemp("detecture-form") / "RWTD")


@pytest.fixture(scope="module")
def weights(tiny_weights):
    return tiny_weights.root  # the session's tiny models (tests/conftest.py), built once


CASES = [
    # method, hook, protocol, k (--k), extra options, expected given.k, expected prompts
    ("grounded-sam3", "grounded_sam3", "oracle-k-blind", 2,
     {"prompts": ["foreground texture", "background texture"]}, "cli",
     ["foreground texture", "background texture"]),
    ("grounded-sam3", "grounded_sam3", "autonomous", None, {}, "none", ["texture regions"]),
    ("qwen2sam-zs", "qwen2sam_zs", "oracle-k-blind", None, {}, "gt", []),
    ("sa2va", "sa2va", "oracle-k-blind", 2, {"prompts": ["<image>Please describe the two regions."]}, "cli",
     ["<image>Please describe the two regions."]),
    ("sa2va", "sa2va", "autonomous", None, {}, "none", None),
]  # fmt: skip


@pytest.mark.parametrize("method,hook,protocol,k,extra,given_k,prompts", CASES)
def test_runs_on_a_detecture_folder_and_records_what_it_was_given(
    folder, weights, tmp_path, method, hook, protocol, k, extra, given_k, prompts
):
    options = {**getattr(smoke_detecture, hook)(weights), **extra}
    out = tmp_path / "out"
    summary = run(
        RunConfig(
            method=method, dataset=folder, out=out, protocol=protocol, k=k, options=options, progress=False
        )
    )
    assert summary.n_records == 2 and summary.n_failed == 0, summary.failures
    records = pd.read_parquet(out / "records.parquet")
    assert (records["status"] == "ok").all()
    given = json.loads((out / "run.json").read_text())["given"]
    assert given["k"] == given_k and given["gt_descriptions"] is False
    if prompts is not None:
        assert given["prompts"] == prompts
