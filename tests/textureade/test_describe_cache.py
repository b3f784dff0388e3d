"""The description cache: storage safety, and a re-run that asks the model nothing.

The end-to-end tests use a tiny Qwen2.5-VL whose output layer is fitted (``fit_answers``) so that it
really generates two valid answers and one duplicate for a three-region scene: accepted answers and
the fallback decision are both cached, so the second run performs zero ``generate`` calls.
"""

from __future__ import annotations

import pickle
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from textureade.describe.base import RegionInfo
from textureade.describe.cache import DescriptionCache, cache_key, image_hash, mask_hash
from textureade.describe.validate import descriptions_problems

ANSWERS = [
    "Texture of grey stone, rough irregular blocks",
    "Texture of green grass, fine thin blades",
    "Texture of grey stone, rough irregular blocks",  # a duplicate of region 1
]


def test_roundtrip_replace_and_reopen(tmp_path):
    cache = DescriptionCache(tmp_path / "c")
    assert cache.get_many(["a"]) == {} and len(cache) == 0
    cache.put_many(
        {"a": {"status": "ok", "description": ANSWERS[0]}, "b": {"status": "fallback", "reason": "x"}}
    )
    cache.put_many({"b": {"status": "fallback", "reason": "y"}})
    again = pickle.loads(pickle.dumps(cache))  # picklable for worker processes; reopens the file
    assert again.get_many(["a", "b", "c"]) == {
        "a": {"status": "ok", "description": ANSWERS[0]},
        "b": {"status": "fallback", "reason": "y"},
    }
    with pytest.raises(ValueError, match="status"):
        cache.put_many({"c": {"status": "junk", "description": "asdf"}})
    assert len(again) == 2


def test_keys_separate_image_mask_model_and_prompt():
    img = np.zeros((4, 5, 3), np.uint8)
    lm = np.array([[1, 1, 2, 2, 2]] * 4)
    base = cache_key(image_hash(img), mask_hash(lm == 1), "m@r", "p")
    img2 = img.copy()
    img2[0, 0, 0] = 1
    assert base != cache_key(image_hash(img2), mask_hash(lm == 1), "m@r", "p")
    assert base != cache_key(image_hash(img), mask_hash(lm == 2), "m@r", "p")
    assert base != cache_key(image_hash(img), mask_hash(lm == 1, context=lm), "m@r", "p")
    assert base != cache_key(image_hash(img), mask_hash(lm == 1), "m@r2", "p")
    assert base != cache_key(image_hash(img), mask_hash(lm == 1), "m@r", "q")
    assert base == cache_key(image_hash(img.copy()), mask_hash(lm.copy() == 1), "m@r", "p")


WRITER = """
import sys
from textureade.describe.cache import DescriptionCache
c = DescriptionCache(sys.argv[1])
i = 0
print("ready", flush=True)
while True:
    c.put_many({f"k{i}-{j}": {"status": "ok", "description": "Texture of a b c d"} for j in range(50)})
    i += 1
"""


def test_a_kill_mid_write_leaves_whole_batches(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.8)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(tmp_path / "descriptions.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = conn.execute("SELECT COUNT(*) FROM descriptions").fetchone()[0]
    assert n > 0 and n % 50 == 0  # only whole transactions survive


# --- a re-run asks the model nothing ----------------------------------------------------------


def scene():
    img = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    lm = np.ones((48, 64), np.int32)
    lm[24:] = 2
    lm[24:, 40:] = 3
    return img, lm, [RegionInfo(1, ["rock"]), RegionInfo(2, ["grass"]), RegionInfo(3, ["grass"])]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def taught(tmp_path_factory, tiny_vlm):
    """A tiny Qwen2.5-VL fitted to answer ANSWERS to the crop prompts of ``scene()``."""
    pytest.importorskip("transformers")
    from textureade.describe.vlm import VlmDescriber
    from textureade.testing.tiny_vlm import fit_answers

    root = tmp_path_factory.mktemp("taught")
    src = tiny_vlm("qwen2_5_vl", hidden_size=160)  # the shared random model; fitted in memory only
    d = VlmDescriber(str(src), presentation="crop", max_retries=0, batch_size=4, max_new_tokens=56)
    d.load()
    seen = []
    real = d._model.generate
    d._model.generate = lambda **kw: seen.append(kw) or real(**kw)
    d.describe(*scene())
    d._model.generate = real
    fit_answers(d._model, d._processor.tokenizer, seen[0], ANSWERS, "<|im_end|>")
    d._model.save_pretrained(root / "taught")
    d._processor.save_pretrained(root / "taught")
    return root / "taught"


def counting(describer):
    """Load the describer's model and count its real generate calls."""
    describer.load()
    calls = []
    real = describer._model.generate
    describer._model.generate = lambda **kw: calls.append(1) or real(**kw)
    return calls


def test_second_run_asks_the_model_nothing(taught, tmp_path):
    from textureade.describe.vlm import VlmDescriber

    opts = dict(presentation="crop", max_retries=0, max_new_tokens=56, cache_dir=tmp_path / "cache")
    first = VlmDescriber(str(taught), **opts)
    calls = counting(first)
    r1 = first.describe(*scene())
    assert len(calls) == 1  # three crops in one batch
    assert r1.descriptions[:2] == ANSWERS[:2]  # the model's own (valid) answers were accepted
    assert r1.provenance["sources"] == ["model", "model", "fallback"]
    assert r1.provenance["fallback_reasons"] == {"3": "duplicate of region 1"}
    assert descriptions_problems(r1.descriptions) == [None] * 3
    assert len(DescriptionCache(tmp_path / "cache")) == 3  # two answers + one fallback decision

    second = VlmDescriber(str(taught), **opts)
    calls = counting(second)
    r2 = second.describe(*scene())
    assert calls == [] and second.stats["generate_calls"] == 0
    assert r2.descriptions == r1.descriptions
    assert second.stats["cache_hits"] == 3 and r2.provenance == r1.provenance  # a hit reproduces provenance

    other_prompt = VlmDescriber(str(taught), **(opts | {"hints": False}))
    calls = counting(other_prompt)
    other_prompt.describe(*scene())
    assert len(calls) == 1 and other_prompt.stats["cache_hits"] == 0


def test_a_cached_answer_that_fails_todays_rules_is_asked_again(taught, tmp_path):
    from textureade.describe.vlm import VlmDescriber

    opts = dict(presentation="crop", max_retries=0, max_new_tokens=56, cache_dir=tmp_path / "cache")
    first = VlmDescriber(str(taught), **opts)
    first.describe(*scene())
    img, lm, _ = scene()
    key = first.region_key(image_hash(img), lm, 1, [1, 2, 3])
    first.cache.put_many({key: {"status": "ok", "description": "Texture of Y b q r s", "attempts": 1}})
    second = VlmDescriber(str(taught), **opts)
    calls = counting(second)
    res = second.describe(*scene())
    assert len(calls) == 1 and second.stats["prompts"] == 1  # only region 1 was asked again
    assert res.descriptions[0] == ANSWERS[0] and second.stats["cache_hits"] == 2


def test_junk_overlay_decisions_are_cached_too(taught, tmp_path):
    from textureade.describe.vlm import VlmDescriber

    opts = dict(presentation="overlay", max_retries=1, max_new_tokens=16, cache_dir=tmp_path / "cache")
    first = VlmDescriber(str(taught), **opts)
    r1 = first.describe(*scene())
    assert first.stats["generate_calls"] == 2 and r1.provenance["sources"] == ["fallback"] * 3
    second = VlmDescriber(str(taught), **opts)
    calls = counting(second)
    r2 = second.describe(*scene())
    assert calls == [] and r2.descriptions == r1.descriptions and second.stats["cache_hits"] == 3
    assert r2.provenance["fallback_reasons"] == r1.provenance["fallback_reasons"]


def test_local_model_key_sees_new_weights_of_the_same_shapes(tmp_path):
    """A model re-saved into the same folder with other weights (same shapes, same file size) must not
    be served the old model's cached answers."""
    pytest.importorskip("transformers")
    from safetensors.torch import load_file, save_file

    from textureade.describe.vlm import local_model_key
    from textureade.testing.tiny_vlm import save_tiny_vlm

    folder = save_tiny_vlm("qwen2_5_vl", tmp_path / "m")
    weights = folder / "model.safetensors"
    before, size = local_model_key(str(folder)), weights.stat().st_size
    tensors = load_file(weights)
    save_file(tensors, weights, metadata={"format": "pt"})
    assert local_model_key(str(folder)) == before  # same contents, same key
    save_file({k: v + 0.01 for k, v in tensors.items()}, weights, metadata={"format": "pt"})
    assert weights.stat().st_size == size and local_model_key(str(folder)) != before
