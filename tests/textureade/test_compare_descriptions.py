"""`textureade compare-descriptions A B`: two builds' descriptions compared with a real text model
(all-MiniLM-L6-v2, the ``minilm`` fixture), regions matched by IoU, and bad inputs as one line
before any model loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from textureade.cli import cli
from textureade.errors import UserError
from textureade.mosaic import make_mosaics


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


def test_compare_descriptions_of_two_builds(minilm, tmp_path):
    from textureade.store import DatasetWriter, read_textureade
    from textureade.testing.synthetic_ade import write_synthetic_ade

    ade = write_synthetic_ade(tmp_path / "ade", n=3, form="challenge", seed=1)
    res = CliRunner().invoke(
        cli, ["build", "--ade20k", str(ade), "--out", str(tmp_path / "a"), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    built = list(read_textureade(tmp_path / "a"))
    assert built and all(s.k >= 1 for s in built)

    def rewrite(name: str, fn) -> None:  # noqa: ANN001 - another description source, same regions
        with DatasetWriter(tmp_path / name, name=name, card={}, config={}) as w:
            for s in built:
                s.descriptions = fn(list(s.descriptions))
                w.add(s)

    rewrite("same", lambda d: d)
    rewrite(
        "other",
        lambda d: [f"Texture of plain featureless surface number {i + 1} here" for i in range(len(d))],
    )
    show = [
        "compare-descriptions",
        str(tmp_path / "a"),
        "--text-model",
        minilm,
        "--format",
        "json",
        "--per-sample",
    ]
    same = CliRunner().invoke(cli, [*show[:2], str(tmp_path / "same"), *show[2:]])
    other = CliRunner().invoke(cli, [*show[:2], str(tmp_path / "other"), *show[2:]])
    assert same.exit_code == 0 and other.exit_code == 0, same.output + other.output
    same, other = json.loads(same.stdout), json.loads(other.stdout)  # stderr: the model's loading bar
    assert same["n_common"] == other["n_common"] == len(built) and same["only_a"] == 0
    assert same["means"]["similarity"] == pytest.approx(1.0, abs=1e-6)
    assert other["means"]["similarity"] < 0.8
    assert all(s["same_regions"] for s in other["samples"])
    assert other["means"]["valid_b"] == 1.0 and same["means"]["valid_a"] == same["means"]["valid_b"]
    text = CliRunner().invoke(cli, ["compare-descriptions", str(tmp_path / "a"), str(tmp_path / "other"),
                                    "--text-model", minilm])  # fmt: skip
    assert text.exit_code == 0 and "similarity" in text.output
    missing = CliRunner().invoke(cli, ["compare-descriptions", str(tmp_path / "a"), str(tmp_path / "other"),
                                       "--text-model", str(tmp_path / "nowhere/x/y")])  # fmt: skip
    assert isinstance(missing.exception, UserError) and len(str(missing.exception).splitlines()) == 1
    assert "neither a folder, a hub id nor a text_models manifest" in str(missing.exception)


def test_regions_that_differ_are_matched_by_iou():
    from textureade.describe.compare import match_regions

    a = np.zeros((4, 6), np.int32)
    a[:, :3], a[:, 3:] = 1, 2
    b = np.where(a == 1, 2, 1).astype(np.int32)  # the same regions, numbered the other way
    b[0, 0] = 3  # a third small region in B
    assert sorted(match_regions(a, b, 2, 3)) == [(1, 2), (2, 1)]
