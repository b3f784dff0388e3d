"""Florence-2's region task on a tiny model that really answers: box prompts, composed descriptions.

The tiny Florence-2's output layer is fitted (``fit_answers``) to answer the two
``<REGION_TO_DESCRIPTION><loc_..>`` prompts of a two-region scene with short phrases; the describer
must complete them as "Texture of <answer>, <size> region in the <position> of the image".
"""

from __future__ import annotations

import numpy as np
import pytest

from textureade.describe.base import RegionInfo
from textureade.describe.validate import descriptions_problems

pytest.importorskip("transformers")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def scene():
    img = np.random.default_rng(3).integers(0, 256, (56, 56, 3), dtype=np.uint8)
    lm = np.ones((56, 56), np.int32)
    lm[:, 28:] = 2
    return img, lm, [RegionInfo(1, ["wall"]), RegionInfo(2, ["sand"])]


def test_florence_box_answers_are_composed_into_descriptions(tmp_path, tiny_vlm):
    from textureade.describe.vlm import VlmDescriber
    from textureade.testing.tiny_vlm import fit_answers

    src = tiny_vlm("florence2")  # the shared random model; fitted in memory only
    d = VlmDescriber(str(src), max_retries=0, max_new_tokens=30)
    d.load()
    seen = []
    real = d._model.generate
    d._model.generate = lambda **kw: seen.append(kw) or real(**kw)
    d.describe(*scene())
    assert len(seen) == 1 and seen[0]["input_ids"].shape[0] == 2  # both regions in one batch
    fit_answers(d._model, d._processor.tokenizer, seen[0], ["weathered red brick", "pale sand"], "</s>")
    d._model.generate = real
    d._model.save_pretrained(tmp_path / "taught")
    d._processor.save_pretrained(tmp_path / "taught")

    res = VlmDescriber(str(tmp_path / "taught"), max_retries=0, max_new_tokens=30).describe(*scene())
    assert res.descriptions == [
        "Texture of weathered red brick, large region in the left side of the image",
        "Texture of pale sand, large region in the right side of the image",
    ]
    assert res.provenance["sources"] == ["model", "model"] and res.provenance["presentation"] == "box"
    assert descriptions_problems(res.descriptions) == [None, None]

    # the same words merely guessed: the output layer scaled down keeps every greedy choice (argmax) but
    # flattens the probabilities to ~1/vocabulary, as a random model's real-looking words are
    from safetensors.torch import load_file, save_file

    weights = tmp_path / "taught" / "model.safetensors"
    tensors = load_file(weights)
    head = [k for k in tensors if k.endswith("lm_head.weight")]
    assert head, sorted(tensors)[:5]
    for k in head:
        tensors[k] = tensors[k] * 1e-3
    save_file(tensors, weights, metadata={"format": "pt"})
    guessed = VlmDescriber(str(tmp_path / "taught"), max_retries=0, max_new_tokens=30)
    raw = []
    real_gen = guessed.generate
    guessed.generate = lambda jobs, attempt: raw.append(real_gen(jobs, attempt)) or raw[-1]
    res = guessed.describe(*scene())
    assert [a.text.strip() for a in raw[0]] == ["weathered red brick", "pale sand"]  # same words ...
    assert all(a.confidence < 0.05 for a in raw[0])  # ... guessed
    assert res.provenance["sources"] == ["fallback", "fallback"]
    assert all("guessing" in r for r in res.provenance["fallback_reasons"].values())
    with_check_off = VlmDescriber(
        str(tmp_path / "taught"), max_retries=0, max_new_tokens=30, min_confidence=0
    )
    assert with_check_off.describe(*scene()).provenance["sources"] == ["model", "model"]
