"""VlmDescriber on tiny random Qwen2.5-VL, Qwen3-VL, SmolVLM (Idefics3) and Florence-2 models.

Each model is built from a config by ``textureade.testing.tiny_vlm``, saved to a temp folder and
loaded back through the production path (AutoProcessor + AutoModelForImageTextToText /
Florence2ForConditionalGeneration, local files only). Random weights answer junk, so every region
must go through the retries and end in the recorded fallback with valid, distinct descriptions.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from textureade.describe.base import RegionInfo
from textureade.describe.validate import descriptions_problems
from textureade.errors import UserError

pytest.importorskip("transformers")

FAMILIES = ("qwen2_5_vl", "qwen3_vl", "smolvlm", "florence2")
MODEL_CLASS = {
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration",
    "smolvlm": "Idefics3ForConditionalGeneration",
    "florence2": "Florence2ForConditionalGeneration",
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_models(tiny_vlm):
    return {fam: tiny_vlm(fam) for fam in FAMILIES}  # built once per session, shared: read only


def scenes():
    """Two small images with 3 and 2 regions (region 3 of the first covers two blobs)."""
    rng = np.random.default_rng(0)
    img1 = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    lm1 = np.zeros((48, 64), np.int32)
    lm1[:24] = 1
    lm1[24:, :32] = 2
    lm1[24:, 32:] = 3
    lm1[:6, :6] = 0
    img2 = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    lm2 = np.ones((40, 40), np.int32)
    lm2[:, 20:] = 2
    r1 = [RegionInfo(1, ["sky"]), RegionInfo(2, ["grass"]), RegionInfo(3, ["road", "sidewalk"])]
    r2 = [RegionInfo(1, ["wall"]), RegionInfo(2, ["floor"])]
    return [(img1, lm1, r1), (img2, lm2, r2)]


CASES = [
    ("qwen2_5_vl", "overlay"),
    ("qwen2_5_vl", "crop+overlay"),
    ("qwen3_vl", "overlay"),
    ("qwen3_vl", "crop"),
    ("smolvlm", "crop"),
    ("smolvlm", "overlay+crop"),
    ("florence2", "box"),
    ("florence2", "crop"),
]


@pytest.mark.parametrize("family, presentation", CASES)
def test_junk_goes_through_retries_to_recorded_fallback(tiny_models, family, presentation):
    from textureade.describe.vlm import VlmDescriber
    from textureade.describe.vlm_flow import attempt_plan

    d = VlmDescriber(
        str(tiny_models[family]), presentation=presentation, batch_size=4, max_retries=2, max_new_tokens=12
    )
    asked = []
    real_generate = d.generate
    d.generate = lambda jobs, attempt: (
        asked.append([(j.kind, j.text, j.sample) for j in jobs]) or real_generate(jobs, attempt)
    )
    items = scenes()
    results = d.describe_batch(items)
    assert type(d._model).__name__ == MODEL_CLASS[family]
    assert d.family == family.replace("smolvlm", "idefics3")
    plan = attempt_plan(presentation, 2, florence=family == "florence2")
    assert len(asked) == len(plan)  # every attempt of the plan was asked (all answers were junk)
    for (stage, variant), jobs in zip(plan, asked):
        assert all(kind == stage for kind, _, _ in jobs)
        assert all(sample == (variant == "sample") for _, _, sample in jobs)
        if variant == "retry":
            assert all("could not be used (" in text for _, text, _ in jobs)
    # batching across regions and images: ceil(prompts / batch_size) generate calls per attempt
    assert d.stats["generate_calls"] == sum(math.ceil(len(j) / 4) for j in asked)
    for (_, _, regions), res in zip(items, results):
        k = len(regions)
        prov = res.provenance
        assert len(res.descriptions) == k
        assert descriptions_problems(res.descriptions) == [None] * k
        assert prov["presentation"] == presentation and prov["family"] == d.family
        assert prov["sources"] == ["fallback"] * k
        assert prov["fallback_regions"] == list(range(1, k + 1))
        assert prov["fallback_describer"] == "offline"  # the default: OfflineDescriber, lazily imported
        assert all(reason for reason in prov["fallback_reasons"].values())
        assert prov["attempts"] == [len(plan)] * k
        assert "cache_hits" not in prov  # a run fact (d.stats), not part of the decision


def test_greedy_then_seeded_sampling_is_deterministic(tiny_models):
    from textureade.describe.vlm import VlmDescriber

    outs = []
    for _ in range(2):
        d = VlmDescriber(str(tiny_models["qwen3_vl"]), presentation="crop", max_new_tokens=10, max_retries=2)
        raw = []
        real = d.generate
        d.generate = lambda jobs, attempt, real=real, raw=raw: raw.append(real(jobs, attempt)) or raw[-1]
        d.describe(*scenes()[1])
        outs.append(raw)
    assert outs[0] == outs[1]
    assert outs[0][2] != outs[0][1]  # the sampled retry changes the answer of a greedy-junk model


def test_missing_weights_are_one_line_user_errors(tiny_models, tmp_path):
    from textureade.describe.vlm import VlmDescriber

    for name in (str(tmp_path / "nowhere"), "nobody/no-such-vlm", "qwen3-vl"):
        with pytest.raises(UserError) as exc:
            VlmDescriber(name)
        msg = str(exc.value)
        assert "\n" not in msg and any(
            w in msg for w in ("huggingface-cli download", "cannot load", "does not exist")
        ), msg
    assert "Qwen/Qwen3-VL-2B-Instruct" in str(pytest.raises(UserError, VlmDescriber, "qwen3-vl").value)
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in tiny_models["qwen2_5_vl"].iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, partial / f.name)
    d = VlmDescriber(str(partial))
    with pytest.raises(UserError) as exc:
        d.describe(*scenes()[1])
    assert "\n" not in str(exc.value) and "cannot load" in str(exc.value)


def test_bad_options_are_user_errors(tiny_models):
    import torch

    from textureade.describe.vlm import VlmDescriber

    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            VlmDescriber(str(tiny_models["smolvlm"]), device="cuda")
    with pytest.raises(UserError, match="unknown dtype"):
        VlmDescriber(str(tiny_models["smolvlm"]), dtype="int3")
    with pytest.raises(UserError, match="batch_size"):
        VlmDescriber(str(tiny_models["smolvlm"]), batch_size=0)

    with pytest.raises(UserError, match="Florence-2 answers one region"):
        VlmDescriber(str(tiny_models["florence2"]), presentation="overlay")
    with pytest.raises(UserError, match="'box' is Florence-2's"):
        VlmDescriber(str(tiny_models["smolvlm"]), presentation="box")
    with pytest.raises(UserError, match="unknown presentation"):
        VlmDescriber(str(tiny_models["smolvlm"]), presentation="mosaic")
    assert VlmDescriber(str(tiny_models["florence2"])).presentation == "box"
    assert VlmDescriber(str(tiny_models["qwen2_5_vl"])).presentation == "overlay"


def test_bad_region_lists_are_rejected(tiny_models):
    from textureade.describe.vlm import VlmDescriber

    d = VlmDescriber(str(tiny_models["florence2"]))
    img, lm, regions = scenes()[1]
    with pytest.raises(ValueError, match="numbered 1..K"):
        d.describe(img, lm, regions[::-1])
    with pytest.raises(ValueError, match="no pixels"):
        d.describe(img, lm, [*regions, RegionInfo(3, ["x"])])


@pytest.mark.parametrize("family", ["qwen2_5_vl", "smolvlm"])
def test_decoder_only_batches_are_left_padded(tiny_models, family):
    from textureade.describe.vlm import VlmDescriber

    d = VlmDescriber(str(tiny_models[family]), presentation="crop", max_retries=0, max_new_tokens=4)
    d.load()
    seen = []
    real = d._model.generate
    d._model.generate = lambda **kw: seen.append(kw) or real(**kw)
    img, lm, regions = scenes()[0]
    regions[0].class_names = ["sky", "cloud", "mountain", "hill"]  # a longer hint: a longer prompt
    d.describe(img, lm, regions)
    mask = seen[0]["attention_mask"]
    assert mask.shape[0] == 3 and bool(mask[:, -1].all())  # every prompt ends at the last column
    assert bool((mask[:, 0] == 0).any())  # shorter prompts are padded on the left


def test_recorded_confidence_equals_the_full_logits_computation(tiny_models):
    """The streaming recorder (one step of logits kept at a time) gives the same per-token
    log-probabilities as generate's full ``output_logits`` for greedy decoding."""
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor, LogitsProcessorList

    from textureade.describe.vlm import chosen_token_recorder
    from textureade.hf import load_pretrained

    path = tiny_models["qwen2_5_vl"]
    proc = load_pretrained(AutoProcessor, str(path), what="test processor")
    model = load_pretrained(AutoModelForImageTextToText, str(path), what="test model").eval()
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe."}]}]
    text = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    inputs = proc(text=[text], images=[[Image.new("RGB", (56, 56), (120, 30, 200))]], return_tensors="pt")
    recorder = chosen_token_recorder()
    with torch.inference_mode():
        res = model.generate(**inputs, max_new_tokens=8, do_sample=False, output_logits=True,
                             return_dict_in_generate=True, logits_processor=LogitsProcessorList([recorder]))  # fmt: skip
    logp = recorder.finish(res.sequences)
    tokens = res.sequences[:, -len(res.logits) :]
    full = torch.stack([s.float().log_softmax(-1).gather(1, tokens[:, t : t + 1])[:, 0]
                        for t, s in enumerate(res.logits)], 1)  # fmt: skip
    assert logp.shape == full.shape == (1, 8)
    assert torch.allclose(logp, full, atol=1e-5)
