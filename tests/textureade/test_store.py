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
