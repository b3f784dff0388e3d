"""Dataset resolution: manifest names, path overrides, auto-detected folders, one-line errors, streaming."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.datasets import load_dataset_specs, open_dataset
from textureade.errors import UserError


def write_detecture(folder: Path, n: int = 3, size: int = 20, gap: int = 0) -> Path:
    """A Detecture-form folder: metadata.json + RGB images + 0/255 masks (two textures each).

    gap: columns left out of both masks at the middle (ground-truth 0 there).
    """
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(1)
    meta = []
    for i in range(n):
        img = rng.integers(0, 255, (size, size + 4, 3), dtype=np.uint8)
        Image.fromarray(img).save(folder / "images" / f"im{i}.png")
        textures = []
        for t in range(2):
            m = np.zeros((size, size + 4), np.uint8)
            m[:, : (size + 4) // 2] = 255 if t == 0 else 0
            m[:, (size + 4) // 2 :] = 0 if t == 0 else 255
            mid = (size + 4) // 2
            m[:, mid - gap // 2 : mid + (gap + 1) // 2] = 0
            Image.fromarray(m).save(folder / "masks" / f"im{i}_{t}.png")
            textures.append(
                {"description": f"Texture of thing {t}, rough, side {t}", "mask_path": f"masks/im{i}_{t}.png"}
            )
        meta.append({"image_path": f"images/im{i}.png", "id": f"im{i}", "textures": textures})
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def test_named_dataset_missing_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTUREADE_DATA", str(tmp_path / "data"))
    with pytest.raises(UserError) as err:
        open_dataset("rwtd")
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "data" / "RWTD") in msg and "--data-path" in msg


def test_every_manifest_parses_with_a_protocol_and_a_way_to_get_it():
    specs = load_dataset_specs()
    assert {"rwtd", "stld", "caid", "ade20k-detecture", "textureade", "mosaics"} <= set(specs)
    assert specs["rwtd"].k == 2 and specs["stld"].k == 2 and specs["caid"].k == 1
    assert specs["ade20k-detecture"].protocol == "autonomous" and specs["ade20k-detecture"].k is None
    assert all(s.get for s in specs.values() if s.form != "python")


def test_named_detecture_dataset_under_data_root_and_by_path(tmp_path, monkeypatch):
    folder = write_detecture(tmp_path / "data" / "RWTD")
    monkeypatch.setenv("TEXTUREADE_DATA", str(tmp_path / "data"))
    h = open_dataset("rwtd")
    assert (h.name, h.form, h.protocol, h.k, h.path) == ("rwtd", "detecture", "oracle-k", 2, folder)
    assert h.scoring == {"gt_zero": "background"} and h.count() == 3
    it = h.iter_samples()
    assert isinstance(it, Iterator) and not isinstance(it, list | tuple)
    samples = list(it)
    assert [s.id for s in samples] == ["im0", "im1", "im2"] and samples[0].k == 2
    assert samples[0].label_map.shape == (20, 24) and set(np.unique(samples[0].label_map)) == {1, 2}
    assert len(list(h.iter_samples(limit=2))) == 2

    # the same files elsewhere: same fingerprint; the path override keeps the manifest's rules
    copy = tmp_path / "elsewhere"
    shutil.copytree(folder, copy)
    other = open_dataset("rwtd", path=copy)
    assert other.path == copy and other.k == 2 and other.fingerprint == h.fingerprint
    (copy / "masks" / "im0_0.png").write_bytes(b"changed")
    assert open_dataset("rwtd", path=copy).fingerprint != h.fingerprint

    # a bare path is auto-detected: Detecture form, oracle-k with each image's own K
    by_path = open_dataset(str(folder))
    assert (by_path.form, by_path.protocol, by_path.k, by_path.name) == (
        "detecture",
        "oracle-k",
        None,
        "RWTD",
    )
    assert open_dataset(folder / "metadata.json").path == folder


def test_textureade_parquet_folder_is_detected(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmark.datasets.textureade import open_textureade
    from textureade.store import DatasetWriter

    samples = []
    for i in range(3):
        lm = np.ones((8, 10), np.int32)
        lm[4:] = 2
        samples.append(
            dict(
                id=f"m{i}",
                image=np.full((8, 10, 3), 40 * i, np.uint8),
                label_map=lm,
                descriptions=["Texture of a, b, c, d", "Texture of e, f, g, h"],
            )
        )
    from textureade.types import Sample

    w = DatasetWriter(tmp_path / "tade", name="tiny", card={}, config={})
    for s, split in zip(samples, ["test", "test", "train"]):
        w.add(Sample(**s, split=split))
    w.close()
    # a stray parquet file (an old run's records) is not a shard: neither read nor counted
    pq.write_table(pa.table({"x": list(range(7))}), tmp_path / "tade" / "records.parquet")
    h = open_dataset(tmp_path / "tade")
    assert h.count() == 3 and open_textureade(tmp_path / "tade", split="test").count() == 2
    assert (h.form, h.protocol, h.k) == ("textureade", "autonomous", None)
    got = list(h.iter_samples())
    assert (
        sorted(s.id for s in got) == ["m0", "m1", "m2"]
        and got[1].label_map.tolist() == samples[1]["label_map"].tolist()
    )
    assert h.fingerprint and h.fingerprint == open_dataset(tmp_path / "tade").fingerprint


def test_a_mosaic_folder_by_path_takes_the_mosaics_defaults(tmp_path):
    # `textureade mosaic --out DIR` then `bench run --dataset DIR`: oracle-k with the GT K, as the
    # named `mosaics` dataset (an oracle-k-only method must not be refused for 'autonomous')
    from textureade.mosaic import make_mosaics

    make_mosaics(tmp_path / "mos", n=2, k=(2, 3), size=(48, 48))
    h = open_dataset(tmp_path / "mos")
    assert (h.form, h.protocol, h.k) == ("textureade", "oracle-k", None)
    assert open_dataset(tmp_path / "mos", protocol="autonomous").protocol == "autonomous"


def test_unknown_names_and_foreign_folders_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="unknown dataset 'nope'"):
        open_dataset("nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(UserError, match="neither a Detecture folder"):
        open_dataset(tmp_path / "plain")
    with pytest.raises(UserError, match="unknown protocol"):
        open_dataset("rwtd", path=write_detecture(tmp_path / "d"), protocol="bogus")


def test_python_form_manifest_streams_lazily(tmp_path, monkeypatch):
    man = tmp_path / "manifests" / "datasets"
    man.mkdir(parents=True)
    (man / "gen.yaml").write_text(
        "name: gen\nform: python\nentry: runner_toys:toy_stream\nparams: {n: 5000000, size: 8}\nprotocol: oracle-k-blind\n"
    )
    monkeypatch.setenv("TEXTUREADE_MANIFESTS", str(tmp_path / "manifests"))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    h = open_dataset("gen")
    first = next(h.iter_samples())  # five million samples: only a stream makes this instant
    assert first.id == "toy00000" and h.protocol == "oracle-k-blind"
    assert h.fingerprint == open_dataset("gen").fingerprint


def test_unreadable_samples_are_counted_not_recorded(tmp_path, monkeypatch):
    from benchmark.registry import MethodSpec
    from benchmark.runner import RunConfig, run

    folder = write_detecture(tmp_path / "d", n=4)
    (folder / "masks" / "im2_0.png").unlink()
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    s = run(
        RunConfig(
            method=MethodSpec(name="t", entry="runner_toys:Threshold"),
            dataset=folder,
            out=tmp_path / "out",
            progress=False,
        )
    )
    assert (s.n_records, s.n_rejected) == (3, 1)
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["rejected_samples"]["count"] == 1 and info["rejected_samples"]["first"][0][0] == "im2"


@pytest.mark.parametrize("strict", [False, True])
def test_non_binary_masks_are_counted_in_run_json_or_rejected_under_strict(tmp_path, monkeypatch, strict):
    from benchmark.registry import MethodSpec
    from benchmark.runner import RunConfig, run

    folder = write_detecture(tmp_path / "d", n=3)
    grey = np.asarray(Image.open(folder / "masks" / "im1_0.png")) // 2 + 64  # 64 / 191: not 0/255
    Image.fromarray(grey.astype(np.uint8)).save(folder / "masks" / "im1_0.png")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    method = MethodSpec(name="t", entry="runner_toys:Threshold")
    s = run(RunConfig(method=method, dataset=folder, out=tmp_path / "out", progress=False, strict=strict))
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    warned = info["reader_warnings"]
    assert warned["mask_threshold"] == "grey > 127 is on" and info["skipped_shards"] == []
    if strict:
        assert (s.n_records, s.n_rejected, warned["count"]) == (2, 1, 0)
        assert "not binary 0/255" in info["rejected_samples"]["first"][0][1]
    else:
        assert (s.n_records, s.n_rejected, warned["count"]) == (3, 0, 1)
        assert warned["by_kind"] == {"non_binary_mask": 1} and warned["first"][0][0] == "im1"


def test_a_dataset_folder_whose_name_is_not_utf8_runs(tmp_path, monkeypatch):
    """Issue #15: the folder name (undecodable bytes) is written safely in records and run.json."""
    import os

    import pyarrow.parquet as pq

    from benchmark.registry import MethodSpec
    from benchmark.runner import RunConfig, run

    folder = write_detecture(Path(os.fsdecode(os.fsencode(tmp_path) + b"/d\xff")), n=2)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    method = MethodSpec(name="t", entry="runner_toys:Threshold")
    s = run(RunConfig(method=method, dataset=folder, out=tmp_path / "out", progress=False))
    assert s.n_records == 2 and s.dataset == "d\\xff"
    assert set(pq.read_table(tmp_path / "out" / "records.parquet").column("dataset").to_pylist()) == {
        "d\\xff"
    }
    info = json.loads((tmp_path / "out" / "run.json").read_bytes().decode("utf-8"))  # valid UTF-8
    assert info["dataset"]["path"] == str(folder)  # the JSON escape reads back as the same path


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("on_value", [1000, 65535, None])  # None: a 16-bit mask of 1000 alone
def test_a_16_bit_mask_the_8_bit_reading_shows_as_binary_is_flagged(tmp_path, strict, on_value):
    """A uint16 mask PNG of 0/1000 (or 1000 alone) reads as 0/255 at 8 bits (values above 255 clip):
    a non-binary mask like any other; the 8-bit map the reader thresholds is kept."""
    folder = write_detecture(tmp_path / "d", n=3)
    mask = np.asarray(Image.open(folder / "masks" / "im1_0.png")).astype(np.uint16)
    wide = np.full_like(mask, 1000) if on_value is None else np.where(mask == 255, on_value, 0)
    Image.fromarray(wide.astype(np.uint16)).save(folder / "masks" / "im1_0.png")
    assert Image.open(folder / "masks" / "im1_0.png").mode == "I;16"
    h = open_dataset(str(folder), strict=strict)
    ids = [s.id for s in h.iter_samples()]
    if strict:
        assert ids == ["im0", "im2"] and h.warnings == {}
        assert h.rejected[0][0] == "im1" and "im1_0.png is not binary 0/255" in h.rejected[0][1]
        assert "read as 8-bit values" in h.rejected[0][1] and h.rejected[0][1].endswith("; --strict)")
    else:
        assert ids == ["im0", "im1", "im2"] and h.warnings == {"non_binary_mask": 1} and h.n_rejected == 0
        sid, message = h.warned[0]
        low = 1000 if on_value is None else 0
        assert sid == "im1" and f"uint16 values {low}..{on_value or 1000}" in message
        assert "thresholded at > 127" in message and "\n" not in message


def test_8_bit_masks_and_binary_16_bit_ones_get_no_second_warning(tmp_path):
    """Only what the 8-bit reading hides is added: a 16-bit 0/255 mask is binary; a 16-bit mask with
    grey values below 255 is flagged once (by the reader)."""
    folder = write_detecture(tmp_path / "d", n=3)
    mask = np.asarray(Image.open(folder / "masks" / "im0_0.png")).astype(np.uint16)
    Image.fromarray(mask).save(folder / "masks" / "im0_0.png")  # 16-bit 0/255
    Image.fromarray(np.where(mask == 255, 1000, 100).astype(np.uint16)).save(folder / "masks" / "im1_0.png")
    h = open_dataset(str(folder))
    assert len(list(h.iter_samples())) == 3
    assert h.warnings == {"non_binary_mask": 1} and h.warned[0][0] == "im1"


def test_ids_that_cannot_name_prediction_files_are_rejected_and_nothing_is_written_outside(
    tmp_path, monkeypatch
):
    """Sample ids name predictions/<id>.png: NUL, '..' components, an over-long id and an id whose file
    name an earlier id has are rejected samples; an id with a plain '/' is kept (its file uses '__')."""
    import os

    from benchmark.registry import MethodSpec
    from benchmark.runner import RunConfig, run

    folder = write_detecture(tmp_path / "d", n=6)
    meta = json.loads((folder / "metadata.json").read_text())
    ids = ["a\x00b", "a/../../escaped", "x" * 201, "set/one", "set__one", "ok"]
    for entry, sid in zip(meta, ids, strict=True):
        entry["id"] = sid
    (folder / "metadata.json").write_text(json.dumps(meta))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    method = MethodSpec(name="t", entry="runner_toys:Threshold")
    out = tmp_path / "runs" / "out"
    s = run(RunConfig(method=method, dataset=folder, out=out, progress=False, save_predictions=True))
    assert (s.n_records, s.n_failed, s.n_rejected) == (2, 0, 4)
    rejected = json.loads((out / "run.json").read_text())["rejected_samples"]["first"]
    assert [sid for sid, _ in rejected] == ids[:3] + ["set__one"]
    reasons = [reason for _, reason in rejected]
    assert "holds a control character" in reasons[0] and "'..' path component" in reasons[1]
    assert "201 bytes long" in reasons[2] and "as the earlier id 'set/one'" in reasons[3]
    assert sorted(os.listdir(out / "predictions")) == ["ok.json", "ok.png", "set__one.json", "set__one.png"]
    assert sorted(p.name for p in tmp_path.rglob("*escaped*")) == []  # nothing written anywhere else


def test_id_problem_lets_ordinary_ids_through():
    from benchmark.predictions import MAX_NAME_BYTES, id_problem

    for sid in ("1", "ADE_val_00000001", "rwtd/12", "a.b..c", "é" * (MAX_NAME_BYTES // 2)):
        assert id_problem(sid) is None, sid
    for sid in (".", "..", "a/./b", "a\\..\\b", "tab\there", "é" * (MAX_NAME_BYTES // 2 + 1), "x\ud800"):
        assert id_problem(sid) is not None, sid
