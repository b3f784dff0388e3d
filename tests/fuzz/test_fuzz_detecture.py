"""Broken Detecture ``metadata.json`` (issue #15): every entry a sample or a reason, good ones unchanged.

Good entries come first; hypothesis appends entries with every field missing, null, of the wrong
JSON type, huge, not valid Unicode, paths escaping the folder or naming directories, non-images,
masks of another size or not binary, duplicate ids, empty texture lists, and arbitrary JSON values.
Properties: reading never raises; samples + rejects = entries; the good samples are exactly those
of the good entries alone; the fingerprint (computed first by `bench run`) never raises; `bench run`
exits 0 (1 under --strict when anything was rejected), never with a traceback, and records the
good samples exactly as a run on the good entries alone (time columns aside).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fuzzkit import assert_clean, budget, deep, run_main
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from textureade.detecture_format import detecture_fingerprint, read_detecture_folder

N_GOOD = 3


def _write(folder: Path, rel: str, arr: np.ndarray) -> None:
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(folder / rel)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, list[dict], list]:
    """(folder with files, the good entries, their samples read alone)."""
    folder = tmp_path_factory.mktemp("det")
    rng = np.random.default_rng(2)
    good = []
    for i in range(N_GOOD):
        _write(folder, f"images/im{i}.png", rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
        textures = []
        for t in range(2):
            m = np.zeros((12, 16), np.uint8)
            m[:, t * 8 : t * 8 + 8] = 255
            _write(folder, f"masks/im{i}_{t}.png", m)
            textures.append({"description": f"Texture of thing {t}", "mask_path": f"masks/im{i}_{t}.png"})
        good.append({"image_path": f"images/im{i}.png", "id": f"im{i}", "textures": textures})
    _write(folder, "odd/small.png", np.full((3, 4), 255, np.uint8))  # another size: resized
    _write(folder, "odd/grey.png", np.tile(np.arange(0, 256, 16, dtype=np.uint8), (12, 1)))  # not 0/255
    _write(folder, "odd/empty.png", np.zeros((12, 16), np.uint8))
    _write(folder, "odd/rgb.png", rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    Image.fromarray(np.ones((12, 16), bool)).save(folder / "odd" / "bits.png")  # mode "1"
    (folder / "odd" / "text.png").write_text("not an image")
    (folder / "odd" / "dir.png").mkdir()
    (folder / "odd" / "link.png").symlink_to("nowhere.png")
    (folder / "metadata.json").write_text(json.dumps(good))
    alone = list(read_detecture_folder(folder))
    assert [s.id for s in alone] == [e["id"] for e in good]
    return folder, good, alone


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
GOOD_FILES = [f"images/im{i}.png" for i in range(N_GOOD)] + [
    f"masks/im{i}_{t}.png" for i in range(N_GOOD) for t in (0, 1)
]
ODD_FILES = ["odd/small.png", "odd/grey.png", "odd/empty.png", "odd/rgb.png", "odd/bits.png", "odd/text.png", "odd/dir.png", "odd/link.png"]  # fmt: skip
path = st.one_of(
    st.sampled_from(GOOD_FILES + ODD_FILES),
    st.sampled_from(
        [
            "",
            " ",
            "images",
            "nope.png",
            "../outside.png",
            "/etc/hostname",
            "images/../../x.png",
            "a\x00b.png",
            "\ud800.png",
            "é/ü.png",
            "metadata.json",
            "x" * 5000,
        ]
    ),  # fmt: skip
    junk,
)
text = st.one_of(st.text(max_size=30), st.just("\udcff"), st.just("w" * 20000), junk)
texture = st.one_of(
    junk,
    st.fixed_dictionaries({}, optional={"description": text, "mask_path": path, "extra": junk}),
)
entry = st.one_of(
    junk,
    st.fixed_dictionaries(
        {},
        optional={
            "image_path": path,
            "id": st.one_of(
                st.text(max_size=8).map(lambda t: "z" + t), st.sampled_from(["im0", "im2"]), text
            ),
            "textures": st.one_of(junk, st.lists(texture, max_size=4)),
        },
    ),
)
case = st.lists(entry, max_size=6)


def _copy(base, tmp: Path, entries: list) -> Path:
    """A copy of the base folder (links kept as links) with ``entries`` as its metadata.json."""
    import shutil

    shutil.copytree(base[0], tmp, symlinks=True, dirs_exist_ok=True)
    (tmp / "metadata.json").write_text(json.dumps(entries))
    return tmp


def check_reader(base, tmp: Path, extra: list, strict: bool) -> None:
    _, good, alone = base
    meta = _copy(base, tmp, good + extra) / "metadata.json"
    rejects: list[tuple[str, str]] = []
    warnings: list[tuple[str, str, str]] = []
    got = list(
        read_detecture_folder(
            meta,
            strict=strict,
            on_reject=lambda *r: rejects.append(r),
            on_warning=lambda *w: warnings.append(w),
        )
    )
    assert len(got) + len(rejects) == len(good) + len(extra)
    for sid, reason in rejects:
        assert reason and "\n" not in reason and sid.encode("utf-8") and reason.encode("utf-8")
    for _sid, kind, message in warnings:
        assert kind == "non_binary_mask" and "thresholded at > 127" in message and not strict
    for a, b in zip(got[:N_GOOD], alone, strict=True):
        assert a.id == b.id and a.descriptions == b.descriptions
        assert np.array_equal(a.image, b.image) and np.array_equal(a.label_map, b.label_map)
    assert detecture_fingerprint(meta.parent).startswith("sha256:")


FAST, DEEP = budget(40, 1000)


@FAST
@given(case, st.booleans())
def test_broken_metadata_json_every_entry_a_sample_or_a_reason(base, tmp_path_factory, extra, strict):
    check_reader(base, tmp_path_factory.mktemp("m"), extra, strict)


@deep
@DEEP
@given(case, st.booleans())
def test_broken_metadata_json_deep(base, tmp_path_factory, extra, strict):
    check_reader(base, tmp_path_factory.mktemp("m"), extra, strict)


# -- bench run, end to end ----------------------------------------------------------------------


def _records(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = pq.read_table(out / "records.parquet").to_pylist()
    return [{k: v for k, v in r.items() if not k.startswith("time_")} for r in rows]


def check_bench(base, tmp: Path, extra: list) -> None:
    from benchmark.cli import main

    _, good, _ = base
    fuzzed = _copy(base, tmp / "a" / "ds", good + extra)  # one folder name: records name the dataset
    alone = _copy(base, tmp / "b" / "ds", good)
    args = ["bench", "run", "--method", "one-region", "--no-progress", "--dataset"]
    code, _, err = run_main(main, [*args, str(fuzzed), "--out", str(tmp / "r1"), "--strict"])
    assert_clean(code, err, (0, 1))
    info = json.loads((tmp / "r1" / "run.json").read_text())
    n_records, n_rejected = info["counts"]["records"], info["rejected_samples"]["count"]
    assert n_records + n_rejected == len(good) + len(extra)
    assert (code == 1) == (n_rejected > 0 or info["counts"]["failed"] > 0)
    code2, _, err2 = run_main(main, [*args, str(alone), "--out", str(tmp / "r2")])
    assert_clean(code2, err2, (0,))
    assert _records(tmp / "r1")[:N_GOOD] == _records(tmp / "r2")


FAST_BENCH, DEEP_BENCH = budget(4, 60)


@FAST_BENCH
@given(case)
def test_bench_run_on_broken_metadata_keeps_the_good_records(base, tmp_path_factory, extra):
    check_bench(base, tmp_path_factory.mktemp("r"), extra)


@deep
@DEEP_BENCH
@given(case)
def test_bench_run_on_broken_metadata_deep(base, tmp_path_factory, extra):
    check_bench(base, tmp_path_factory.mktemp("r"), extra)
