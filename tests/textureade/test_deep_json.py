"""JSON nested deeper than Python's recursion limit (issue #15): json.loads raises RecursionError,
not ValueError, so such a metadata.json / manifest.json / full-form annotation was a traceback.
Each reader now turns it into its usual one-line error (or a per-item reject)."""

from __future__ import annotations

import pytest

from textureade.errors import UserError

DEEP = "[" * 100_000 + "]" * 100_000


def test_a_deep_metadata_json_is_a_user_error(tmp_path):
    from textureade.detecture_format import detecture_fingerprint, load_metadata, read_detecture_folder

    (tmp_path / "metadata.json").write_text(DEEP)
    for call in (detecture_fingerprint, lambda f: list(read_detecture_folder(f)), load_metadata):
        with pytest.raises(UserError, match="cannot read .*metadata.json"):
            call(tmp_path)


def test_a_deep_manifest_json_is_a_user_error(tmp_path):
    from benchmark.datasets.mosaics import is_mosaic_set
    from textureade.store import check_dataset

    (tmp_path / "manifest.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    assert is_mosaic_set(tmp_path) is False
    with pytest.raises(UserError, match="is not valid JSON \\(nested too deep\\); rebuild the dataset"):
        check_dataset(tmp_path)


def test_a_deep_full_form_annotation_is_a_read_error():
    from textureade.readers.base import ReadError
    from textureade.readers.fullform import parse_annotation_json

    with pytest.raises(ReadError, match="unreadable"):
        parse_annotation_json(DEEP.encode(), "ADE_x.json")


@pytest.mark.parametrize(
    "text, why",
    [
        ("[" * 100_000 + "]" * 100_000, "maximum recursion depth"),
        ("[]", "no 'environment' field"),
        ("{}", "no"),
    ],
)
def test_a_run_json_of_another_shape_is_a_user_error(tmp_path, text, why):
    """A damaged run.json in a results folder was a KeyError/RecursionError traceback of `bench run`
    (resume) and `bench leaderboard`."""
    from benchmark.runinfo import RunInfo

    (tmp_path / "run.json").write_text(text)
    with pytest.raises(UserError, match=f"as a run.json of this version: {why}"):
        RunInfo.read(tmp_path / "run.json")


@pytest.mark.parametrize(
    "text, message",
    [
        ("limit: abc\n", "limit must be int or null, got 'abc'"),
        ("progress: 1\n", "progress must be bool, got 1"),
        ("[" * 5000 + "]" * 5000, "is not valid YAML \\(nested too deep\\)"),
    ],
)
def test_a_build_or_run_yaml_of_wrong_types_or_too_deep_is_a_user_error(tmp_path, text, message):
    """`limit: abc` in a --config YAML was a TypeError traceback (a str compared with 0), a YAML
    nested past the recursion limit a RecursionError; both are one line naming the file."""
    from benchmark.runconfig import resolve_run_config
    from textureade.config import resolve_build_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(UserError, match=message):
        resolve_build_config({"ade20k": "x", "out": "y"}, cfg)
    with pytest.raises(UserError, match=message):
        resolve_run_config({"method": "m", "dataset": "d", "out": "o"}, cfg)


def test_a_deep_prediction_sidecar_is_a_note_not_a_crash(tmp_path):
    """`bench score`: an <id>.json nested past the recursion limit was a RecursionError traceback;
    it is an unusable sidecar like any other unparsable one."""
    from benchmark.score import load_sidecar

    (tmp_path / "a.json").write_text("[" * 100_000 + "]" * 100_000)
    descriptions, channels, note = load_sidecar(tmp_path, "a")
    assert descriptions is None and channels is None and note.startswith("unreadable a.json: ")
