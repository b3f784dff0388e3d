"""The shared crash-safe file plumbing: atomic writes and the JSONL journal."""

from __future__ import annotations

import json

import pytest

from textureade.fileio import JsonlLog, atomic_path, atomic_write, atomic_write_json, sha256_file


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write(target, "one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer died")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_atomic_write_json_is_deterministic(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"b": 1, "a": "é"})
    atomic_write_json(tmp_path / "b.json", {"a": "é", "b": 1})
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert json.loads((tmp_path / "a.json").read_text("utf-8")) == {"a": "é", "b": 1}
    assert sha256_file(tmp_path / "a.json") == sha256_file(tmp_path / "b.json")


def test_jsonl_log_cuts_a_torn_tail_and_appends_after_it(tmp_path):
    path = tmp_path / "j.jsonl"
    with JsonlLog(path) as log:
        log.append({"i": 0})
        log.append({"i": 1})
    with open(path, "ab") as f:
        f.write(b'{"i": 2, "tru')  # a kill in the middle of a write
    log = JsonlLog(path)
    assert [o["i"] for o in log] == [0, 1]
    log.append({"i": 2})
    log.close()
    assert [o["i"] for o in JsonlLog(path)] == [0, 1, 2]
    assert len(JsonlLog(path)) == 3


def test_jsonl_log_cuts_an_unparsable_complete_line(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"i": 0}\nnot json\n{"i": 2}\n')
    assert [o["i"] for o in JsonlLog(path)] == [0]
    assert path.read_bytes() == b'{"i": 0}\n'


@pytest.mark.parametrize("bad", [b"[1, 2]", b"null", b"[" * 100_000 + b"]" * 100_000])
def test_jsonl_log_cuts_a_line_that_is_not_an_object_or_nested_too_deep(tmp_path, bad):
    """Issue #15: a valid JSON line that is no object (bench run resume: AttributeError) or one
    nested past the recursion limit (RecursionError) was a traceback; it is damage like any other."""
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"i": 0}\n' + bad + b'\n{"i": 2}\n')
    assert [o["i"] for o in JsonlLog(path)] == [0]
    assert path.read_bytes() == b'{"i": 0}\n'


@pytest.mark.parametrize("sync_seconds,fsyncs", [(0.0, 5), (3600.0, 2)])
def test_jsonl_log_lines_are_flushed_at_once_and_fsynced_every_line_or_within_sync_seconds(
    tmp_path, monkeypatch, sync_seconds, fsyncs
):
    import os

    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real(fd))
    path = tmp_path / "log.jsonl"
    log = JsonlLog(path, sync_seconds=sync_seconds)
    for i in range(5):
        log.append({"i": i})
        assert [o["i"] for o in JsonlLog(path)] == list(range(i + 1))  # readable before close
    log.close()
    assert len(calls) == fsyncs  # every line, or the first line and the close


def test_a_shard_write_that_fails_midway_leaves_the_old_shard_and_no_temporary_file(tmp_path, monkeypatch):
    """write_rows goes through fileio.atomic_path: a write that raises after some bytes (a full
    disk, a bad row) keeps the shard already there and removes its temporary file. Its own copy
    of the temp-file dance left ``.train-00000.parquet.tmp-<pid>`` behind."""
    import numpy as np

    from textureade.store import shards
    from textureade.store.schema import sample_to_row
    from textureade.types import Sample

    label_map = np.ones((8, 8), np.int32)
    label_map[4:] = 2
    image = np.zeros((8, 8, 3), np.uint8)
    sample = Sample(
        id="s0", image=image, label_map=label_map, descriptions=["Texture of a b", "Texture of c d"]
    )
    first = shards.write_rows([sample_to_row(sample)], tmp_path, "train", 0)
    before = (tmp_path / first.path).read_bytes()

    def half_then_fail(table, sink, **kwargs):
        sink.write(b"PAR1 half a shard")
        raise OSError("disk full")

    monkeypatch.setattr(shards.pq, "write_table", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        shards.write_rows([sample_to_row(sample)], tmp_path, "train", 0)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["train-00000.parquet"]
    assert (tmp_path / first.path).read_bytes() == before
