"""The manifest locator: built-in package data, $TEXTUREADE_MANIFESTS, and the user's extra folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from textureade.errors import UserError
from textureade.manifests import (
    KINDS,
    builtin_root,
    find_manifest,
    manifest_file,
    manifest_folders,
    manifest_roots,
    origin_of,
    user_root,
)

REPO_MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


@pytest.fixture(autouse=True)
def _no_user_manifests(tmp_path, monkeypatch):
    """Every test starts from the built-in manifests only (no real ~/.config, no env overrides)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TEXTUREADE_MANIFESTS", raising=False)
    monkeypatch.delenv("TEXTUREADE_EXTRA_MANIFESTS", raising=False)


def _method_yaml(folder: Path, filename: str, name: str, description: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (REPO_MANIFESTS / "methods" / "texture-kmeans.yaml").read_text()
    lines = [
        f"name: {name}" if ln.startswith("name:") else (f"description: {description}" if ln.startswith("description:") else ln)
        for ln in text.splitlines()
    ]  # fmt: skip
    path = folder / filename
    path.write_text("\n".join(lines) + "\n")
    return path


def test_builtin_root_is_the_manifests_package_with_every_kind():
    import manifests

    root = builtin_root()
    assert root.origin == "built-in" and root.builtin
    assert root.path == Path(manifests.__file__).parent == REPO_MANIFESTS  # editable/pythonpath: the checkout
    assert [r.origin for r in manifest_roots()] == ["built-in"]
    assert set(KINDS) >= {"methods", "datasets", "suites", "mining", "describers"}
    for kind in ("methods", "datasets", "suites", "mining", "describers"):
        assert [f for _, f in manifest_folders(kind)] == [REPO_MANIFESTS / kind]
    assert manifest_file("mining", "default.yaml") == REPO_MANIFESTS / "mining" / "default.yaml"
    assert find_manifest("describers", "qwen3-vl.yaml") == REPO_MANIFESTS / "describers" / "qwen3-vl.yaml"
    assert find_manifest("describers", "nope.yaml") is None
    assert find_manifest("describers", "../mining/default.yaml") is None  # names only, never paths
    with pytest.raises(UserError, match="no mining manifest 'nope.yaml'"):
        manifest_file("mining", "nope.yaml")
    with pytest.raises(ValueError):
        manifest_folders("method")  # a typo of a kind is a bug, not a user error


def test_env_root_replaces_the_builtin_and_extra_roots_add_to_it(tmp_path, monkeypatch):
    own = tmp_path / "own"
    (own / "mining").mkdir(parents=True)
    (own / "mining" / "default.yaml").write_text("min_score: 1\n")
    monkeypatch.setenv("TEXTUREADE_MANIFESTS", str(own))
    assert builtin_root().path == own and builtin_root().builtin
    assert manifest_file("mining", "default.yaml") == own / "mining" / "default.yaml"
    assert find_manifest("describers", "qwen3-vl.yaml") is None  # the built-in ones are replaced
    monkeypatch.setenv("TEXTUREADE_MANIFESTS", str(tmp_path / "typo"))  # hid every built-in one
    with pytest.raises(UserError, match=r"TEXTUREADE_MANIFESTS=.*typo is not a folder"):
        builtin_root()
    monkeypatch.delenv("TEXTUREADE_MANIFESTS")

    user = user_root()
    assert user == tmp_path / "xdg" / "textureade" / "manifests"
    (user / "describers").mkdir(parents=True)
    (user / "describers" / "qwen3-vl.yaml").write_text("model: me/my-vl\n")
    a, b = tmp_path / "a", tmp_path / "b"
    (b / "describers").mkdir(parents=True)
    (b / "describers" / "qwen3-vl.yaml").write_text("model: me/other-vl\n")
    monkeypatch.setenv("TEXTUREADE_EXTRA_MANIFESTS", f"{a}:{b}")  # a does not exist: skipped
    roots = manifest_roots()
    assert [(r.path, r.origin) for r in roots] == [
        (REPO_MANIFESTS, "built-in"),
        (user, "user"),
        (b, "$TEXTUREADE_EXTRA_MANIFESTS"),
    ]
    assert find_manifest("describers", "qwen3-vl.yaml") == b / "describers" / "qwen3-vl.yaml"  # the last wins
    assert origin_of(b / "describers" / "qwen3-vl.yaml").origin == "$TEXTUREADE_EXTRA_MANIFESTS"
    assert origin_of(REPO_MANIFESTS / "methods" / "slic.yaml").builtin
    assert origin_of(tmp_path / "elsewhere.yaml") is None

    from textureade.describe.vlm import read_describer_manifest

    assert read_describer_manifest("qwen3-vl") == {"model": "me/other-vl"}
    assert read_describer_manifest("smolvlm")["model"].startswith("HuggingFaceTB/")  # built-in still found


def test_a_user_method_replaces_the_builtin_one_and_bench_list_says_so(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from benchmark.cli import cli as bench
    from benchmark.registry import get_method_spec, load_method_specs

    extra = tmp_path / "extra"
    mine = _method_yaml(extra / "methods", "tk.yaml", "texture-kmeans", "my own kmeans")
    new = _method_yaml(extra / "methods", "new.yaml", "my-kmeans", "a new one")
    monkeypatch.setenv("TEXTUREADE_EXTRA_MANIFESTS", str(extra))
    specs = load_method_specs()
    assert specs["texture-kmeans"].description == "my own kmeans" and specs["texture-kmeans"].path == str(
        mine
    )
    assert get_method_spec("my-kmeans").path == str(new) and "slic" in specs
    assert list(specs) == sorted(specs)

    r = CliRunner().invoke(bench, ["list"])
    assert r.exit_code == 0, r.output
    rows = {line.split()[0]: line for line in r.output.splitlines() if line.startswith("  ")}
    assert f"[user manifest {mine}, replacing the built-in one]" in rows["texture-kmeans"]
    assert f"[user manifest {new}]" in rows["my-kmeans"] and "replacing" not in rows["my-kmeans"]
    assert "user manifest" not in rows["slic"]

    _method_yaml(extra / "methods", "twice.yaml", "my-kmeans", "the same name again")
    with pytest.raises(UserError, match="'my-kmeans' is declared twice"):
        load_method_specs()


def test_a_user_mining_default_is_used_and_its_classes_fall_back_to_the_builtin(tmp_path, monkeypatch):
    from textureade.config import load_mining_config

    user = user_root() / "mining"
    user.mkdir(parents=True)
    (user / "default.yaml").write_text(
        "classes: classes.yaml\nmin_score: 42.0\n"
    )  # no classes.yaml beside it
    cfg = load_mining_config()
    assert cfg.min_score == 42.0 and "grass" in cfg.texture_surface  # keyword lists from the built-in file
    with pytest.raises(UserError, match="unknown key"):
        load_mining_config(overrides={"no_such_threshold": 1})


def test_read_yaml_mapping_parses_a_text_once_and_rereads_an_edited_file(tmp_path, monkeypatch):
    """A YAML file read again in one process is not parsed again while its text is the same (a build
    resolves its mining manifests several times at start-up), every caller gets its own copy, and
    an edited file is parsed afresh (even at the same size and mtime)."""
    import os

    import yaml

    from textureade import yamlfile

    f = tmp_path / "m.yaml"
    f.write_text("a: [1, 2]\n")
    parses = []
    real = yaml.safe_load
    monkeypatch.setattr(yaml, "safe_load", lambda text: parses.append(text) or real(text))
    first = yamlfile.read_yaml_mapping(f, "test file")
    first["a"].append(3)  # a caller's change must not leak into the next caller's copy
    assert yamlfile.read_yaml_mapping(f, "test file") == {"a": [1, 2]} and len(parses) == 1
    stat = f.stat()
    f.write_text("a: [1, 7]\n")
    os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert yamlfile.read_yaml_mapping(f, "test file") == {"a": [1, 7]} and len(parses) == 2


def test_a_broken_describer_or_text_model_manifest_is_one_line(tmp_path, monkeypatch):
    from textureade.describe.vlm import read_describer_manifest
    from textureade.text_model import read_text_model_manifest

    for kind in ("describers", "text_models"):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "broken.yaml").write_text("model: [unclosed\n")
    monkeypatch.setenv("TEXTUREADE_EXTRA_MANIFESTS", str(tmp_path))
    with pytest.raises(
        UserError, match=r"^describer manifest .*broken.yaml is not valid YAML .*; fix the file$"
    ):
        read_describer_manifest("broken")
    with pytest.raises(
        UserError, match=r"^text model manifest .*broken.yaml is not valid YAML .*; fix the file$"
    ):
        read_text_model_manifest("broken")
