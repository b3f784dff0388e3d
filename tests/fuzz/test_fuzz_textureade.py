"""Damaged TextureADE folders (issue #15): a one-line error naming the shard, or the good shards intact.

Hypothesis damages shards (truncated, a byte flipped, emptied, replaced, appended to, deleted, a
directory in their place, a stray unlisted copy) and manifest.json (a shard's sha256 changed, a
shard's entry dropped, not JSON, no shard list, deleted). Properties, with and without
verification and --skip-bad-shards: only a one-line UserError naming a damaged shard (or
manifest.json) and saying what to do ever escapes; verified with skipping, the samples are exactly
those of the undamaged shards; unverified, every undamaged shard's samples still come through;
`bench run` exits 2 with one line on a damaged folder and, with --skip-bad-shards, exits 0 and
records exactly what a run on the undamaged shards alone records.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fuzzkit import BYTE_DAMAGE, assert_clean, budget, damage_bytes, deep, run_main
from hypothesis import given
from hypothesis import strategies as st

from textureade.errors import UserError
from textureade.store import DatasetWriter, read_textureade
from textureade.types import Sample

SHARD_DAMAGE = (*BYTE_DAMAGE, "missing", "dir", "sha_in_manifest", "dropped_from_manifest")
MANIFEST_DAMAGE = ("none", "none", "none", "not_json", "no_shard_list", "deleted", "stray_shard")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    """(a TextureADE folder of 4 shards, {shard: ids in it})."""
    out = tmp_path_factory.mktemp("tade") / "ds"
    rng = np.random.default_rng(3)
    with DatasetWriter(out, name="fuzz", card={}, config={}, shard_size=2) as w:
        for i in range(7):
            lm = np.ones((10, 12), np.int32)
            lm[5:] = 2
            w.add(
                Sample(
                    id=f"s{i}",
                    image=rng.integers(0, 256, (10, 12, 3), dtype=np.uint8),
                    label_map=lm,
                    descriptions=[f"Texture of a {i}", f"Texture of b {i}"],
                    split=["train", "train", "train", "validation", "validation", "test", "test"][i],
                )
            )
    import pyarrow.parquet as pq

    shards = {}
    for p in sorted((out / "data").glob("*.parquet")):
        shards[p.relative_to(out).as_posix()] = pq.read_table(p, columns=["id"]).column("id").to_pylist()
    assert len(shards) >= 4
    return out, shards


case = st.tuples(
    st.dictionaries(st.integers(0, 3), st.tuples(st.sampled_from(SHARD_DAMAGE), st.floats(0, 1), st.integers(0, 255)), max_size=2),
    st.sampled_from(MANIFEST_DAMAGE),
)  # fmt: skip


def make(base, dest: Path, damages: dict, manifest: str) -> tuple[Path, set[str], bool]:
    """(damaged copy, shards that must be refused or skipped, whether manifest.json is unusable)."""
    src, shards = base
    shutil.copytree(src, dest)
    names = sorted(shards)
    meta_path = dest / "manifest.json"
    meta = json.loads(meta_path.read_text())
    bad: set[str] = set()
    for i, (kind, at, value) in damages.items():
        rel = names[i]
        path = dest / rel
        bad.add(rel)
        if kind in BYTE_DAMAGE:
            path.write_bytes(damage_bytes(path.read_bytes(), kind, at, value))
        elif kind == "missing":
            path.unlink()
        elif kind == "dir":
            path.unlink()
            path.mkdir()
        elif kind == "sha_in_manifest":
            entry = next(s for s in meta["shards"] if s["path"] == rel)
            entry["sha256"] = "0" * 64
        elif kind == "dropped_from_manifest":
            meta["shards"] = [s for s in meta["shards"] if s["path"] != rel]
    if manifest == "stray_shard":
        shutil.copy(src / names[0], dest / "data" / "train-00042.parquet")
        bad.add("data/train-00042.parquet")
    meta_path.write_text(json.dumps(meta))
    unusable = manifest in ("not_json", "no_shard_list")
    if manifest == "not_json":
        meta_path.write_text("{ not json")
    elif manifest == "no_shard_list":
        meta_path.write_text(json.dumps({**meta, "shards": "all of them"}))
    elif manifest == "deleted":
        meta_path.unlink()
    return dest, bad, unusable


class Pairs(list):
    """(path or id, reason) pairs a reader reports."""

    def append_pair(self, key: str, reason: str) -> None:
        self.append((key, reason))


def _ids(samples) -> list[str]:
    return [s.id for s in samples]


def check_reader(base, tmp: Path, damages: dict, manifest: str) -> None:
    _, shards = base
    folder, bad, unusable = make(base, tmp / "ds", damages, manifest)
    unverifiable = manifest == "deleted"
    # a shard whose bytes are intact reads alike unverified, so only byte damage counts there
    good_order = [i for rel in sorted(shards) if rel not in bad for i in shards[rel]]
    for verify in (True, False):
        for skip in (True, False):
            skipped, rejects = Pairs(), Pairs()
            try:
                got = _ids(
                    read_textureade(
                        folder,
                        verify=verify,
                        on_reject=rejects.append_pair,
                        on_bad_shard=skipped.append_pair if skip else None,
                    )
                )
            except UserError as exc:
                msg = str(exc)
                assert "\n" not in msg and ("textureade check" in msg or "manifest.json" in msg), msg
                assert not skip or (verify and unusable), msg  # skipping refuses only an unusable manifest
                assert unusable or bad, msg
                continue
            for _, reason in skipped + rejects:
                assert reason and "\n" not in reason
            if verify and not unverifiable:
                assert not unusable
                assert {p for p, _ in skipped} == (bad if skip else set())
                assert got == good_order
            else:  # unverified: every intact shard still reads in order, damaged ones may yield rows
                rest = iter(got)
                assert all(i in rest for i in good_order), (got, good_order)  # a subsequence


FAST, DEEP = budget(25, 500)


@FAST
@given(case)
def test_damaged_textureade_folders_fail_in_one_line_or_keep_the_good_shards(base, tmp_path_factory, c):
    check_reader(base, tmp_path_factory.mktemp("t"), *c)


@deep
@DEEP
@given(case)
def test_damaged_textureade_folders_deep(base, tmp_path_factory, c):
    check_reader(base, tmp_path_factory.mktemp("t"), *c)


# -- bench run, end to end ----------------------------------------------------------------------


def _records(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = pq.read_table(out / "records.parquet").to_pylist()
    return [{k: v for k, v in r.items() if not k.startswith("time_")} for r in rows]


byte_case = st.dictionaries(
    st.integers(0, 3), st.tuples(st.sampled_from((*BYTE_DAMAGE, "missing")), st.floats(0, 1), st.integers(0, 255)),
    min_size=1, max_size=2,
)  # fmt: skip


def check_bench(base, tmp: Path, damages: dict) -> None:
    from benchmark.cli import main

    src, shards = base
    folder, bad, _ = make(base, tmp / "a" / "ds", damages, "none")
    alone = tmp / "b" / "ds"  # the undamaged shards alone, with their manifest entries
    shutil.copytree(src, alone)
    meta = json.loads((alone / "manifest.json").read_text())
    for rel in bad:
        (alone / rel).unlink()
    meta["shards"] = [s for s in meta["shards"] if s["path"] not in bad]
    (alone / "manifest.json").write_text(json.dumps(meta))
    args = ["bench", "run", "--method", "one-region", "--protocol", "oracle-k", "--no-progress", "--dataset"]
    code, _, err = run_main(main, [*args, str(folder), "--out", str(tmp / "r0")])
    assert_clean(code, err, (2,))
    assert any(rel in err for rel in bad) and "textureade check" in err
    code, _, err = run_main(main, [*args, str(folder), "--out", str(tmp / "r1"), "--skip-bad-shards"])
    assert_clean(code, err, (0,))
    assert err.count("skipped shard") == len(bad)
    info = json.loads((tmp / "r1" / "run.json").read_text())
    assert sorted(p for p, _ in info["skipped_shards"]) == sorted(bad)
    code, _, err = run_main(main, [*args, str(alone), "--out", str(tmp / "r2")])
    assert_clean(code, err, (0,))
    assert _records(tmp / "r1") == _records(tmp / "r2")


FAST_BENCH, DEEP_BENCH = budget(3, 40)


@FAST_BENCH
@given(byte_case)
def test_bench_run_on_damaged_shards_one_line_or_skips_them(base, tmp_path_factory, damages):
    check_bench(base, tmp_path_factory.mktemp("r"), damages)


@deep
@DEEP_BENCH
@given(byte_case)
def test_bench_run_on_damaged_shards_deep(base, tmp_path_factory, damages):
    check_bench(base, tmp_path_factory.mktemp("r"), damages)
