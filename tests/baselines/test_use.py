"""USE re-implementation: SAM point-grid proposals (tiny SAM), mask matching, and the method end to end."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from baselines import mask_matching as mm  # noqa: E402
from baselines import use_reimpl as ur  # noqa: E402
from baselines.testing.smoke import use_reimpl as use_smoke_params  # noqa: E402
from benchmark.registry import availability, build_method, load_method_specs  # noqa: E402
from textureade.errors import UserError  # noqa: E402

TEXTS = ["red brick", "blue sky", "green grass"]


@pytest.fixture(scope="module")
def tiny(tiny_weights):
    return use_smoke_params(tiny_weights.root)


@pytest.fixture(scope="module")
def method(tiny):
    return ur.UseReimpl(**tiny)


def _image(h=48, w=72):
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_grid_stability_boxes():
    pts = ur.point_grid(10, 20, 2)
    assert pts.tolist() == [[5.0, 2.5], [15.0, 2.5], [5.0, 7.5], [15.0, 7.5]]
    logits = torch.tensor([[[3.0, 0.5], [-0.5, -3.0]]])  # > 1: 1 pixel, > -1: 3 pixels
    assert torch.allclose(ur.stability(logits, 1.0), torch.tensor([1 / 3]))
    masks = torch.zeros(1, 6, 8, dtype=torch.bool)
    masks[0, 2:4, 1:5] = True
    assert ur.mask_boxes(masks).tolist() == [[1.0, 2.0, 5.0, 4.0]]


def test_pooling_and_propagation():
    feats = torch.nn.functional.normalize(torch.randn(4, 2, 3), dim=0)
    masks = torch.zeros(2, 4, 6, dtype=torch.bool)
    masks[0, :2, :4] = True  # exactly grid cells (0, 0) and (0, 1)
    masks[1, 3, 5] = True  # one pixel: smaller than a cell -> centroid cell (1, 2)
    emb = mm.pooled_embeddings(feats, masks)
    want0 = torch.nn.functional.normalize(feats[:, 0, :2].mean(dim=1), dim=0)
    assert torch.allclose(emb[0], want0, atol=1e-6) and torch.allclose(emb[1], feats[:, 1, 2], atol=1e-6)
    assert torch.allclose(mm.propagate(emb, emb, 0.0, 0.1), emb, atol=1e-6)
    same = torch.ones(2, 3) / 3**0.5  # identical in DINO space, beta 1 -> both become the mean
    mixed = mm.propagate(emb, same, 1.0, 0.1)
    assert torch.allclose(mixed[0], mixed[1], atol=1e-6)


def test_label_proposals_assigns_halves_and_handles_uncovered():
    text = torch.eye(3)[:2]  # two texts along axes 0 and 1
    feats = torch.zeros(3, 4, 4)
    feats[0, :, :2] = 1.0  # left half looks like text 1
    feats[1, :, 2:] = 1.0  # right half like text 2
    masks = np.zeros((2, 8, 8), bool)
    masks[0, :, :4] = True
    masks[1, :6, 4:] = True  # bottom-right 2 rows uncovered
    props = mm.Proposals(masks, np.array([0.9, 0.8]))
    scores, extras = mm.label_proposals(props, feats, text, mm.MatchOptions(scale=10.0))
    labels = scores.argmax(axis=0)
    assert scores.shape == (3, 8, 8) and np.all(scores[0] == 0.0)
    assert np.all(labels[:, :4] == 1) and np.all(labels[:, 4:] == 2)  # uncovered: dense fallback agrees
    assert extras == {"n_masks": 2, "coverage": 56 / 64}
    scores, _ = mm.label_proposals(props, feats, text, mm.MatchOptions(scale=10.0, uncovered="dustbin"))
    assert np.all(scores.argmax(axis=0)[6:, 4:] == 0)
    empty = mm.Proposals(np.zeros((0, 8, 8), bool), np.zeros(0))
    scores, extras = mm.label_proposals(empty, feats, text, mm.MatchOptions(scale=10.0))
    assert extras["n_masks"] == 0 and np.all(scores.argmax(axis=0)[:, :4] == 1)
    with pytest.raises(UserError, match="uncovered"):
        mm.MatchOptions(uncovered="nope")


def test_sam_proposals_tiny(method):
    image = _image()
    props = ur.sam_proposals(method.sam, method.sam_processor, image, method.o)
    assert props.masks.shape[1:] == (48, 72) and props.masks.dtype == bool
    assert len(props.masks) >= 1 and np.all((props.quality >= 0) & (props.quality <= 1))
    assert all(m.any() for m in props.masks)
    strict = dict(method.o, pred_iou_thresh=2.0)  # nothing passes
    assert len(ur.sam_proposals(method.sam, method.sam_processor, image, strict).masks) == 0


def test_predict_and_manifest(method, tiny):
    pred = method.predict(_image(), 3, TEXTS)
    assert pred.scores.shape == (4, 48, 72) and np.all(pred.scores[0] == 0.0)
    assert pred.scores[1:].min() >= 0.0 and pred.scores[1:].max() <= 1.0 + 1e-6
    assert pred.extras["dinov2"] is True and pred.extras["n_masks"] >= 1
    assert pred.partition().min() >= 1  # dense fallback: every pixel gets a description
    spec = load_method_specs()["use-reimpl"]
    assert spec.provenance["reimplementation"] is True and spec.protocols == ["oracle-k"]
    reason = availability(spec, {"sam": "someone/no-such-sam"})
    assert reason and "\n" not in reason and "huggingface-cli download someone/no-such-sam" in reason
    no_dino = build_method(spec, {**tiny, "dinov2": None})
    assert no_dino.predict(_image(), 2, TEXTS[:2]).extras["dinov2"] is False
