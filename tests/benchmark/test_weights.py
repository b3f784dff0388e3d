"""The one weights check (benchmark.weights): manifest entries, resolution, one-line reasons, and
that every manifest's weights go through it (a missing weight stops every method the same way)."""

from __future__ import annotations

import pytest

from benchmark.registry import availability, load_method_specs
from benchmark.weights import WeightsEntry, entry_problem, resolve, weights_entries, weights_problem
from textureade.errors import UserError

HUB = WeightsEntry.parse("clip", {"id": "org/tiny-clip", "revision": "main", "param": "model"})
FILE = WeightsEntry.parse(
    "checkpoint", {"param": "checkpoint", "file": "best.pt", "get": "the authors' page"}
)


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty local Hugging Face cache; ``add(repo_id, revision)`` puts a snapshot's config.json in it."""
    import huggingface_hub.constants as hc

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))

    def add(repo_id: str, revision: str = "main", commit: str = "0" * 40) -> None:
        repo = cache / ("models--" + repo_id.replace("/", "--"))
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / revision).write_text(commit)
        (repo / "snapshots" / commit).mkdir(parents=True, exist_ok=True)
        (repo / "snapshots" / commit / "config.json").write_text("{}")

    return add


def test_entries_parse_with_defaults_and_reject_unknown_fields():
    e = WeightsEntry.parse("sam3", {"id": "facebook/sam3", "revision": "abc"})
    assert (e.param, e.revision_param, e.file, e.optional) == ("sam3", "sam3_revision", None, False)
    assert HUB.revision_param == "model_revision"
    assert [w.name for w in weights_entries({"a": {}, "b": {"param": "x"}})] == ["a", "b"]
    with pytest.raises(UserError, match="unknown fields \\['revison'\\]"):
        WeightsEntry.parse("sam3", {"id": "facebook/sam3", "revison": "main"}, "m.yaml")
    with pytest.raises(UserError, match="takes no hub id"):
        WeightsEntry.parse("ckpt", {"id": "org/x", "file": "x.pt"})
    with pytest.raises(UserError, match="must be a mapping"):
        WeightsEntry.parse("ckpt", "org/x")


def test_resolution_of_ids_revisions_and_paths(tmp_path):
    r = resolve(HUB, {})
    assert (r.value, r.revision, r.local, r.default) == ("org/tiny-clip", "main", False, True)
    assert resolve(HUB, {"model_revision": "abc123"}).revision == "abc123"  # the user pins another commit
    other = resolve(HUB, {"model": "org/other"})
    assert (other.value, other.revision, other.default) == ("org/other", None, False)
    pinned = WeightsEntry.parse(
        "sam3", {"id": "facebook/sam3", "revision": "main", "revision_param": "revision"}
    )
    assert resolve(pinned, {"revision": "c0ffee"}).revision == "c0ffee"
    local = resolve(HUB, {"model": str(tmp_path), "model_revision": "abc"})
    assert local.local and local.revision is None  # a folder has no hub revision
    assert resolve(HUB, {"model": None}).value is None and resolve(HUB, {"model": ""}).value is None


def test_hub_weights_reasons(tmp_path, hf_cache):
    hf_cache("org/tiny-clip")
    assert entry_problem(HUB, {}) is None  # in the local cache
    assert entry_problem(HUB, {"model": str(tmp_path)}) is None  # an existing folder
    missing = entry_problem(HUB, {"model": "someone/not-cached"})
    assert "huggingface-cli download someone/not-cached" in missing and "--option model=FOLDER" in missing
    assert "\n" not in missing
    # another revision of a cached id is looked up as such, and named in the download command
    assert "huggingface-cli download org/tiny-clip --revision v2`" in entry_problem(
        HUB, {"model_revision": "v2"}
    )
    folder = entry_problem(HUB, {"model": str(tmp_path / "nope")})
    assert "does not exist" in folder and "huggingface-cli" not in folder  # a path is never "downloaded"
    assert "neither an existing folder nor a hub id" in entry_problem(HUB, {"model": "not a valid id!"})
    assert (
        entry_problem(HUB, {"model": None}) == "no clip weights given; pass --option model=HUB_ID_OR_FOLDER"
    )
    optional = WeightsEntry.parse("dinov2", {"param": "dinov2", "optional": True})
    assert entry_problem(optional, {}) is None and entry_problem(optional, {"dinov2": None}) is None
    assert "does not exist" in entry_problem(optional, {"dinov2": str(tmp_path / "gone")})


def test_file_weights_reasons(tmp_path):
    none = entry_problem(FILE, {})
    assert (
        none == "no checkpoint given; download best.pt (the authors' page) and pass --option checkpoint=PATH"
    )
    gone = entry_problem(FILE, {"checkpoint": str(tmp_path / "x.pt")})
    assert gone.startswith(f"checkpoint not found at {tmp_path / 'x.pt'}; download best.pt")
    assert entry_problem(FILE, {"checkpoint": str(tmp_path)}) is not None  # a folder is not the file
    (tmp_path / "x.pt").write_bytes(b"\x80")
    assert entry_problem(FILE, {"checkpoint": str(tmp_path / "x.pt")}) is None


def test_first_problem_in_manifest_order(tmp_path):
    entries = [FILE, HUB]
    assert weights_problem(entries, {"model": str(tmp_path)}).startswith("no checkpoint given")
    (tmp_path / "c.pt").write_bytes(b"\x80")
    assert weights_problem(entries, {"checkpoint": str(tmp_path / "c.pt"), "model": str(tmp_path)}) is None


def test_every_manifest_weight_is_checked_before_a_method_is_built(tmp_path):
    """For each method, each required weight pointed at a missing path (the others present) makes
    availability() a one-line reason: no method can start without the weights its manifest names."""
    (tmp_path / "w.pt").write_bytes(b"\x80")
    checked = 0
    for name, spec in load_method_specs().items():
        entries = weights_entries(spec.weights, spec.path)
        present = {e.param: str(tmp_path / "w.pt") if e.file else str(tmp_path) for e in entries}
        assert weights_problem(entries, present) is None, name
        for entry in entries:
            absent = {**present, entry.param: str(tmp_path / "absent" / (entry.file or "folder"))}
            problem = weights_problem(entries, absent)
            assert problem and entry.name in problem and f"--option {entry.param}=" in problem, (
                name,
                problem,
            )
            reason = availability(spec, absent)
            assert reason and "\n" not in reason, (name, reason)
            checked += 1
    assert checked >= 15  # the manifests declare weights (a regression would silently check nothing)


WEIGHTED = [name for name, spec in load_method_specs().items() if spec.weights]


@pytest.mark.parametrize("name", WEIGHTED)
def test_bench_run_without_the_weights_exits_2_in_one_line(name, tmp_path, monkeypatch, capsys):
    """`bench run` of every method that needs weights, on a machine without them (this one: an empty
    HF cache, no checkpoints): exit 2, one line, the reason availability() gives."""
    import sys

    import huggingface_hub.constants as hc
    import numpy as np

    from benchmark.cli import main
    from textureade.detecture_format import write_detecture_folder
    from textureade.types import Sample

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    spec = load_method_specs()[name]
    reason = availability(spec)
    assert reason and "\n" not in reason, name
    labels = np.zeros((16, 16), np.int32)
    labels[:, 8:] = 1
    sample = Sample(id="s1", image=np.zeros((16, 16, 3), np.uint8), label_map=labels, descriptions=["sand"])
    data = write_detecture_folder([sample], tmp_path / "data")
    argv = ["bench", "run", "--method", name, "--dataset", str(data), "--out", str(tmp_path / "out")]
    monkeypatch.setattr(sys, "argv", [*argv, "--no-progress"])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and reason in err, err
