"""The overlay path on a tiny Qwen3-VL that really answers JSON: one region accepted, one retried.

The model's output layer is fitted (``fit_answers``) to answer the first overlay prompt of a
two-region scene with JSON whose region_1 is valid and region_2 too short. Region 1 must be taken
from the model after one attempt; region 2 must be re-asked with a prompt stating the reason, and,
as the re-prompt gets junk, end in the recorded fallback.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from textureade.describe.base import RegionInfo
from textureade.describe.validate import descriptions_problems

pytest.importorskip("transformers")

GOOD = "Texture of grey stone, rough irregular blocks"
ANSWER = json.dumps({"region_1": GOOD, "region_2": "Texture of sand"})


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def scene():
    img = np.random.default_rng(3).integers(0, 256, (56, 56, 3), dtype=np.uint8)
    lm = np.ones((56, 56), np.int32)
    lm[:, 28:] = 2
    return img, lm, [RegionInfo(1, ["rock"]), RegionInfo(2, ["sand"])]


@pytest.fixture(scope="module")
def taught(tmp_path_factory, tiny_vlm):
    from textureade.describe.vlm import VlmDescriber
    from textureade.testing.tiny_vlm import fit_answers

    root = tmp_path_factory.mktemp("overlay")
    src = tiny_vlm("qwen3_vl", hidden_size=160)  # the shared random model; fitted in memory only
    d = VlmDescriber(str(src), max_retries=0, max_new_tokens=96)
    d.load()
    seen = []
    real = d._model.generate
    d._model.generate = lambda **kw: seen.append(kw) or real(**kw)
    d.describe(*scene())
    fit_answers(d._model, d._processor.tokenizer, seen[0], [ANSWER], "<|im_end|>")
    d._model.generate = real
    d._model.save_pretrained(root / "taught")
    d._processor.save_pretrained(root / "taught")
    return root / "taught"


def test_overlay_json_is_parsed_validated_and_the_bad_region_retried(taught):
    from textureade.describe.vlm import VlmDescriber

    d = VlmDescriber(str(taught), max_retries=1, max_new_tokens=96)
    asked = []
    real = d.generate
    d.generate = lambda jobs, attempt: asked.append(jobs) or real(jobs, attempt)
    res = d.describe(*scene())
    prov = res.provenance
    assert prov["presentation"] == "overlay" and prov["family"] == "qwen3_vl"
    assert res.descriptions[0] == GOOD  # taken from the model's JSON
    assert prov["sources"] == ["model", "fallback"]
    assert prov["attempts"] == [1, 2]
    assert "region_2" in asked[1][0].text and "region_1" not in asked[1][0].text.split("keys")[-1]
    assert "could not be used (has 3 words" in asked[1][0].text  # the re-prompt says why
    assert prov["fallback_regions"] == [2] and prov["fallback_describer"] == "offline"
    assert descriptions_problems(res.descriptions) == [None, None]
