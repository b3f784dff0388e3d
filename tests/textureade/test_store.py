"""The TextureADE store: round trip, HF loading, card, manifest, checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from textureade.errors import UserError
from textureade.store import (
    ADE20K_TERMS,
    DatasetWriter,
    check_dataset,
    dataset_fingerprint,
    read_textureade,
)
from textureade.types import Sample


def _samples(n=5):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        lm = np.zeros((24, 32), np.int32)
        lm[:12], lm[12:20] = 1, 2
        out.append(
            Sample(
                id=f"s{i}",
                image=rng.integers(0, 256, (24, 32, 3), dtype=np.uint8),
                label_map=lm,
                descriptions=[f"Texture of red brick number {i}", f"Texture of green grass number {i}"],
                base_id=f"b{i // 2}",
                split=["train", "train", "val", "val", "test"][i],
                source="unit",
                region_names=["brick", "grass"],
                provenance={"region_class_ids": [3, 9], "note": i},
            )
        )
    return out


def _write(path, samples, shard_size=2):
    card = {"description": "unit data", "terms": [ADE20K_TERMS]}
    with DatasetWriter(path, name="unit", card=card, config={"k": 1}, shard_size=shard_size) as w:
        for s in samples:
            w.add(s)
    return path


def test_round_trip_and_manifest(tmp_path):
    samples = _samples()
    out = _write(tmp_path / "ds", samples)
    back = list(read_textureade(out))
    assert sorted(s.id for s in back) == [s.id for s in samples]
    by_id = {s.id: s for s in back}
    for s in samples:
        b = by_id[s.id]
        assert np.array_equal(b.image, s.image) and np.array_equal(b.label_map, s.label_map)
        assert (
            b.descriptions == s.descriptions and b.base_id == s.base_id and b.region_names == s.region_names
        )
        assert b.provenance == s.provenance
    assert [s.id for s in read_textureade(out, split="val")] == ["s2", "s3"]
    assert [s.split for s in read_textureade(out, split="validation")] == ["validation"] * 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"test": 1, "train": 2, "validation": 2}
    assert all(len(s["sha256"]) == 64 for s in manifest["shards"]) and manifest["config"] == {"k": 1}
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "configs:" in card and ADE20K_TERMS in card
    assert check_dataset(out) == []


def test_hf_load_decodes_images(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = _write(tmp_path / "ds", _samples())
    ds = datasets.load_dataset("parquet", data_dir=str(out))
    assert set(ds) == {"train", "validation", "test"}
    row = ds["train"][0]
    assert row["image"].mode == "RGB" and row["image"].size == (32, 24)
    lm = np.asarray(row["label_map"])
    assert lm.shape == (24, 32) and set(np.unique(lm)) == {0, 1, 2}
    assert row["descriptions"][0].startswith("Texture of") and row["region_class_ids"] == [3, 9]
    assert isinstance(ds["train"].features["image"], datasets.Image)


def _photo(tmp_path, name, array, mode=None, **save):
    from PIL import Image

    path = tmp_path / name
    Image.fromarray(array).convert(mode or "RGB").save(path, **save)
    return path


def test_a_source_jpeg_is_stored_byte_for_byte_and_decodes_to_the_same_pixels(tmp_path):
    datasets = pytest.importorskip("datasets")
    from textureade.readers.images import read_photo

    rng = np.random.default_rng(1)
    jpg = _photo(tmp_path, "a.jpg", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), quality=80)
    image, data = read_photo(jpg)
    assert data == jpg.read_bytes()
    sample = _samples(1)[0]
    sample.image, sample.image_bytes, sample.split = image, data, "train"
    out = _write(tmp_path / "ds", [sample])
    stored = list(read_textureade(out))[0]
    assert np.array_equal(stored.image, image) and stored.image_bytes == data
    row = datasets.load_dataset("parquet", data_dir=str(out))["train"].with_format("arrow")[0]
    assert row.column("image")[0]["bytes"].as_py() == data
    assert row.column("image")[0]["path"].as_py() == "s0.jpg"
    decoded = datasets.load_dataset("parquet", data_dir=str(out))["train"][0]["image"]
    assert decoded.mode == "RGB" and np.array_equal(np.asarray(decoded), image)
    again = _write(tmp_path / "again", [stored])  # read back and written again: the same bytes
    assert list(read_textureade(again))[0].image_bytes == data


# a big-endian EXIF block with one tag: Orientation (0x0112) = 6, "rotate 90" (datasets would rotate)
ROTATED = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0"


@pytest.mark.parametrize("mode,save", [("L", {}), ("CMYK", {}), ("RGB", {"exif": ROTATED})])
def test_a_photo_that_had_to_be_converted_is_stored_as_a_lossless_png(tmp_path, mode, save):
    from textureade.readers.images import read_photo

    rng = np.random.default_rng(2)
    jpg = _photo(tmp_path, "b.jpg", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), mode, **save)
    image, data = read_photo(jpg)
    assert data is None and image.shape == (24, 32, 3)
    sample = _samples(1)[0]
    sample.image, sample.image_bytes = image, data
    stored = list(read_textureade(_write(tmp_path / "ds", [sample])))[0]
    assert stored.image_bytes[:4] == b"\x89PNG" and np.array_equal(stored.image, image)


def test_deterministic_bytes_and_fingerprint(tmp_path):
    a = _write(tmp_path / "a", _samples())
    b = _write(tmp_path / "b", _samples())
    for p in sorted((a / "data").iterdir()):
        assert p.read_bytes() == (b / "data" / p.name).read_bytes()
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()
    assert dataset_fingerprint(a) == dataset_fingerprint(b)
    c = _write(tmp_path / "c", _samples()[:4])
    assert dataset_fingerprint(c) != dataset_fingerprint(a)


def test_check_finds_tampering_and_leaks(tmp_path):
    samples = _samples()
    samples[4].base_id = "b0"  # base image b0 now in train and test
    out = _write(tmp_path / "ds", samples)
    problems = check_dataset(out)
    assert problems == ["base image b0 is in more than one split (test, train)"]
    shard = sorted((out / "data").iterdir())[0]
    shard.write_bytes(shard.read_bytes() + b"x")
    assert any("sha256" in p for p in check_dataset(out))
    (out / "data" / "train-00099.parquet").write_bytes(b"junk")
    assert any("not listed" in p for p in check_dataset(out))


def test_check_names_a_parquet_shard_without_the_textureade_columns(tmp_path):
    """A valid parquet file whose sha256 matches the manifest but which lacks base_id/split was a
    KeyError traceback of `textureade check` (pyarrow silently leaves out missing columns)."""
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = _write(tmp_path / "ds", _samples(2), shard_size=2)
    manifest = json.loads((out / "manifest.json").read_text())
    (entry,) = manifest["shards"]
    pq.write_table(pa.table({"x": [1, 2]}), out / entry["path"])
    entry["sha256"] = hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    (problem,) = check_dataset(out)
    assert problem.startswith(
        f"{entry['path']}: not a TextureADE shard (no id, base_id, source, split, image,"
    )


def test_writer_refuses_existing_dataset(tmp_path):
    out = _write(tmp_path / "ds", _samples())
    with pytest.raises(UserError, match="already holds"):
        DatasetWriter(out, name="x", card={}, config={})
    w = DatasetWriter(tmp_path / "new", name="x", card={}, config={})
    w.add(_samples()[0])
    with pytest.raises(ValueError, match="duplicate"):
        w.add(_samples()[0])
    with pytest.raises(UserError, match="no TextureADE shards"):
        list(read_textureade(tmp_path / "empty"))


def _damage(path, how):
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[len(data) // 3] ^= 0xFF
    elif how == "truncate":
        data = data[:100]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip", "truncate", "missing", "unlisted"])
def test_bad_shards_are_one_line_errors_or_skipped_with_a_reason(tmp_path, how):
    """Issue #15: a shard whose sha256 differs from manifest.json, a truncated, missing or unlisted
    shard stops reading with one line naming it and what to do, or is skipped (on_bad_shard)."""
    import shutil

    out = _write(tmp_path / "d", _samples())
    first = out / "data" / "train-00000.parquet"
    if how == "missing":
        first.unlink()
    elif how == "unlisted":
        shutil.copy(first, out / "data" / "train-00009.parquet")
        first = out / "data" / "train-00009.parquet"
    else:
        _damage(first, how)
    with pytest.raises(UserError) as err:
        list(read_textureade(out))
    msg = str(err.value)
    assert (
        "\n" not in msg
        and str(first) in msg
        and "textureade check" in msg
        and "`bench score`, pass --skip-bad-shards" in msg
    )
    skipped: list[tuple[str, str]] = []
    got = [s.id for s in read_textureade(out, on_bad_shard=lambda p, r: skipped.append((p, r)))]
    assert [p for p, _ in skipped] == [first.relative_to(out).as_posix()]
    expected = {
        "flip": "does not match",
        "truncate": "does not match",
        "missing": "missing",
        "unlisted": "not listed",
    }
    assert expected[how] in skipped[0][1]
    # shards in name order: test (s4), train (s0, s1), validation (s2, s3)
    assert got == (["s4", "s0", "s1", "s2", "s3"] if how == "unlisted" else ["s4", "s2", "s3"])
    if how == "truncate":  # unverified, the truncated shard is still a bad shard, not a traceback
        with pytest.raises(UserError, match="not a readable parquet file"):
            list(read_textureade(out, verify=False))


def test_an_undecodable_row_is_a_reject_and_the_rest_reads(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from textureade.store.schema import SCHEMA

    out = _write(tmp_path / "d", _samples())
    shard = out / "data" / "train-00000.parquet"
    rows = pq.read_table(shard).to_pylist()
    rows[0]["image"]["bytes"] = rows[0]["image"]["bytes"][:40]  # a truncated PNG
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), shard)
    rejects: list[tuple[str, str]] = []
    got = [s.id for s in read_textureade(out, verify=False, on_reject=lambda i, r: rejects.append((i, r)))]
    assert got == ["s4", "s1", "s2", "s3"] and [i for i, _ in rejects] == ["s0"]
    assert rejects[0][1].startswith("data/train-00000.parquet row group 0 row 0: ")


@pytest.mark.parametrize("manifest", [[1, 2], {"shards": "all"}, {"shards": [{"path": "data/x.parquet"}]}])
def test_a_manifest_of_another_shape_is_one_line_everywhere(tmp_path, manifest):
    out = _write(tmp_path / "d", _samples())
    (out / "manifest.json").write_text(json.dumps(manifest))
    for call in (check_dataset, dataset_fingerprint, lambda o: list(read_textureade(o))):
        with pytest.raises(UserError, match="has no valid shard list; rebuild or re-download"):
            call(out)


def test_a_folder_whose_name_is_not_utf8_is_written_checked_and_read(tmp_path):
    import os
    from pathlib import Path

    out = _write(Path(os.fsdecode(os.fsencode(tmp_path) + b"/ds\xff")), _samples())
    assert check_dataset(out) == []
    assert [s.id for s in read_textureade(out)] == ["s4", "s0", "s1", "s2", "s3"]
    assert dataset_fingerprint(out) == dataset_fingerprint(_write(tmp_path / "plain", _samples()))


def test_a_repeated_id_is_a_reject_and_the_first_row_reads(tmp_path):
    """Two rows of one id made two records of that id in `bench run` (and a resume that counts
    the id as done); the second row is now a reject, like a duplicate in the ADE20K and Detecture
    readers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from textureade.store.schema import SCHEMA

    out = _write(tmp_path / "d", _samples())
    shard = out / "data" / "validation-00000.parquet"
    rows = pq.read_table(shard).to_pylist()
    rows[1]["id"] = rows[0]["id"]  # s3 -> s2
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), shard)
    rejects: list[tuple[str, str]] = []
    got = [s.id for s in read_textureade(out, verify=False, on_reject=lambda i, r: rejects.append((i, r)))]
    assert got == ["s4", "s0", "s1", "s2"]
    assert rejects == [
        (
            "s2",
            "data/validation-00000.parquet row group 0 row 1: duplicate id s2 "
            "(data/validation-00000.parquet row group 0 row 0 has it too)",
        )
    ]


@pytest.mark.parametrize("where", ["../x.parquet", "data/../../x.parquet", "absolute"])
def test_a_shard_path_outside_the_folder_is_its_own_problem_and_never_read(tmp_path, where):
    """A manifest entry pointing outside the dataset folder was read by `textureade check` when
    the file was there (and its sha256 matched), or reported as 'missing'; read_textureade called
    it missing. Now it is one line saying so everywhere, and the file is never opened."""
    import shutil

    out = _write(tmp_path / "ds", _samples())
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["shards"][0]  # data/test-00000.parquet (s4)
    shutil.copy(out / entry["path"], tmp_path / "x.parquet")  # the same bytes: its sha256 matches
    rel = str(tmp_path / "x.parquet") if where == "absolute" else where
    manifest["shards"].append(dict(entry, path=rel))
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert check_dataset(out) == [
        f"shard path {rel} in manifest.json lies outside the dataset folder (not read)"
    ]
    with pytest.raises(UserError) as err:
        list(read_textureade(out))
    assert str(err.value).startswith(
        f"{out / rel}: shard path lies outside the dataset folder (not read); run"
    )
    skipped: list[tuple[str, str]] = []
    got = [s.id for s in read_textureade(out, on_bad_shard=lambda p, r: skipped.append((p, r)))]
    assert got == ["s4", "s0", "s1", "s2", "s3"]  # s4 once: the copy outside is not read
    assert skipped == [(rel, "shard path lies outside the dataset folder (not read)")]


def _rewrite(out, rel, fn):
    """Shard ``rel`` rewritten as ``fn(its table)``, its manifest sha256 and rows updated to match."""
    import hashlib

    import pyarrow.parquet as pq

    table = fn(pq.read_table(out / rel))
    pq.write_table(table, out / rel)
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["shards"]:
        if entry["path"] == rel:
            entry["sha256"] = hashlib.sha256((out / rel).read_bytes()).hexdigest()
            entry["rows"] = table.num_rows
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_check_names_a_shard_repeating_a_sample_id(tmp_path):
    """`textureade check` found no problem in a dataset holding one sample id in two shards (a
    reader skips the second row as a duplicate: the dataset has a sample less than it claims)."""
    import pyarrow as pa

    from textureade.store.schema import SCHEMA

    out = _write(tmp_path / "d", _samples())

    def repeat(table):
        rows = table.to_pylist()
        rows[0]["id"] = "s0"  # s2 -> s0, which train-00000 holds
        rows[1]["id"] = "s0"  # and again within this shard
        return pa.Table.from_pylist(rows, schema=SCHEMA)

    _rewrite(out, "data/validation-00000.parquet", repeat)
    assert check_dataset(out) == [
        "data/validation-00000.parquet: duplicate sample ids s0 (first in data/train-00000.parquet row 0), "
        "s0 (first in data/train-00000.parquet row 0)"
    ]


def test_check_names_a_shard_whose_columns_hold_another_type(tmp_path):
    """A shard with height stored as strings (and its sha256 in the manifest) passed `textureade
    check`; now each wrong column is named. Integer widths do not count: int64 reads as int32 does."""
    import pyarrow as pa

    out = _write(tmp_path / "d", _samples())

    def retype(table):
        for name, kind in (("height", pa.string()), ("descriptions", pa.string()), ("width", pa.int64())):
            i = table.schema.get_field_index(name)
            values = table.column(name).to_pylist()
            table = table.set_column(
                i, name, pa.array([v if kind == pa.int64() else str(v) for v in values], kind)
            )
        return table

    _rewrite(out, "data/train-00000.parquet", retype)
    assert check_dataset(out) == [
        "data/train-00000.parquet: column descriptions is string, not list<item: string>; "
        "column height is string, not int32"
    ]
