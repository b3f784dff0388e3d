"""Sa2VA: remote code only when allowed; masks from a local Sa2VA stand-in loaded through transformers'
remote-code path (the published predict_forward interface), ranked, kept and padded as the authors do."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from baselines._sam3 import MISSING_LOGIT  # noqa: E402
from baselines.sa2va import Sa2VA, rank_masks  # noqa: E402
from baselines.testing.smoke_detecture import sa2va as smoke_params  # noqa: E402
from baselines.testing.tiny_sa2va import save_tiny_sa2va  # noqa: E402
from benchmark.method import Method, MethodUnavailable  # noqa: E402
from benchmark.registry import availability, build_method, load_method_specs  # noqa: E402
from textureade.errors import UserError  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.usefixtures("one_torch_thread")]

# Four [SEG] masks on the image below (left 20 columns red, right 30 green):
# everything (area 1000), green (600), red (400), nothing (dropped).
HEADS = ((0, 0, 0, 1.0), (-1.0, 1.0, 0, 0), (1.0, -1.0, 0, 0), (0, 0, 0, -1.0))


@pytest.fixture(scope="module")
def image():
    img = np.zeros((20, 50, 3), np.uint8)
    img[:, :20] = (220, 30, 30)
    img[:, 20:] = (30, 200, 40)
    return img


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_tiny_sa2va(tmp_path_factory.mktemp("sa2va") / "model", heads=HEADS)


@pytest.fixture(scope="module")
def method(folder):
    spec = load_method_specs()["sa2va"]
    return build_method(
        spec, {"model": str(folder), "revision": None, "trust_remote_code": True, "device": "cpu"}
    )


def test_without_trust_remote_code_one_line_says_why_and_how(folder):
    spec = load_method_specs()["sa2va"]
    assert spec.params["trust_remote_code"] is False and spec.params["revision"] == "b5ffed22"
    reason = availability(spec, {"model": str(folder)})
    assert (
        reason
        and "remote code" in reason
        and "--option trust_remote_code=true" in reason
        and "\n" not in reason
    )
    with pytest.raises(MethodUnavailable, match="remote code"):
        Sa2VA(model=str(folder), revision=None, device="cpu")
    assert availability(spec, {"model": str(folder), "trust_remote_code": True}) is None


def test_loads_through_remote_code_with_the_manifest_defaults(method):
    assert isinstance(method, Method) and isinstance(method, Sa2VA)
    assert method.model.dtype.__str__() == "torch.bfloat16"  # the manifest's dtype, as the authors load it
    assert type(method.model).__module__.startswith("transformers_modules.")  # the folder's own code ran
    assert method.prompt.startswith("<image>Please give a brief description of this image")


def test_known_k_keeps_the_largest_masks_as_plus_minus_five(method, image):
    pred = method.predict(image, 2, ["GT text", "never used"])
    assert pred.extras["answer"].count("[SEG]") == 4 and pred.extras["n_masks"] == 4
    assert pred.extras["kept_scores"] == [1.0, 0.6] and pred.extras["n_padded"] == 0
    assert pred.scores.shape == (3, 20, 50) and np.all(pred.scores[0] == 0.0)
    assert np.all(pred.scores[1] == 5.0)  # everything
    np.testing.assert_array_equal(pred.scores[2][:, 20:], 5.0)  # green
    np.testing.assert_array_equal(pred.scores[2][:, :20], -5.0)


def test_known_k_beyond_the_masks_is_padded(method, image):
    pred = method.predict(image, 5, None)  # 3 non-empty masks, 2 padded channels
    assert pred.scores.shape == (6, 20, 50) and pred.extras["n_padded"] == 2
    assert pred.extras["kept_scores"] == [1.0, 0.6, 0.4]
    assert np.all(pred.scores[4:] == MISSING_LOGIT)


def test_no_k_keeps_up_to_max_n_without_padding(folder, image):
    capped = Sa2VA(model=str(folder), revision=None, trust_remote_code=True, device="cpu", max_n=2)
    assert capped.predict(image, None, None).scores.shape == (3, 20, 50)
    free = Sa2VA(model=str(folder), revision=None, trust_remote_code=True, device="cpu", prompts=["segment"])
    assert free.prompt == "<image>segment"
    with pytest.raises(UserError, match="ONE conversational prompt"):
        Sa2VA(model=str(folder), revision=None, trust_remote_code=True, device="cpu", prompts=["a", "b"])
    pred = free.predict(image, None, None)
    assert (
        pred.scores.shape == (4, 20, 50)
        and pred.extras["n_padded"] == 0
        and pred.extras["mode"] == "no-k-peek"
    )


def test_no_mask_at_all(tmp_path, image):
    empty = save_tiny_sa2va(tmp_path / "empty", heads=((0, 0, 0, -1.0),))
    method = Sa2VA(model=str(empty), revision=None, trust_remote_code=True, device="cpu", dtype="float32")
    blind = method.predict(image, None, None)
    assert blind.scores.shape == (2, 20, 50) and np.all(blind.scores[1] == MISSING_LOGIT)
    assert np.all(method.predict(image, 1, None).scores[1] == MISSING_LOGIT)


def test_masks_at_another_size_are_resized_then_binarised(tmp_path, image):
    half = save_tiny_sa2va(tmp_path / "half", heads=HEADS[1:3], mask_stride=2)
    method = Sa2VA(model=str(half), revision=None, trust_remote_code=True, device="cpu", dtype="float32")
    pred = method.predict(image, 2, None)
    assert pred.scores.shape == (3, 20, 50) and set(np.unique(pred.scores[1:])) <= {-5.0, 5.0}
    assert (pred.scores[1] > 0).sum() == 600 and (pred.scores[2] > 0).sum() == 400


def test_rank_masks_is_by_area_and_stable():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    b = np.zeros((1, 4, 4), bool)
    b[0, 2:] = True
    c = np.ones((4, 4), np.float32) * 0.4  # below 0.5: empty, dropped
    ranked = rank_masks([a, None, b, c], (4, 4))
    assert [s for _, s in ranked] == [1.0, 1.0] and ranked[0][0][0, 0] == 1.0  # equal areas keep order
    with pytest.raises(ValueError):
        rank_masks([np.zeros((2, 4, 4))], (4, 4))


def test_smoke_hook_allows_remote_code(tmp_path):
    params = smoke_params(tmp_path)
    assert params["trust_remote_code"] is True
    assert availability(load_method_specs()["sa2va"], params) is None
