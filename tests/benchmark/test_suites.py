"""Suites that ARE the published Detecture protocols (issue #11 item 2): each method family's inputs
per dataset come from the suite YAML, reach the method exactly, and are recorded in run.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.registry import MethodSpec, get_method_spec, load_method_specs
from benchmark.runinfo import Given, RunInfo
from benchmark.runner import RunConfig, run
from benchmark.suites import Suite, get_suite, load_suites
from textureade.errors import UserError

sys.path.insert(0, str(Path(__file__).parent))

DETECTURE_SUITES = ("detecture", "detecture-2026-04")
FOLDERS = {"rwtd": "RWTD", "stld": "STLD", "ade20k-detecture": "ADE20k_Detecture", "caid": "CAID"}
REGION_COUNTS = [2, 1, 3]  # per image of every folder: K_GT differs from the datasets' fixed K


def write_folder(folder: Path, counts: list[int]) -> None:
    """A Detecture-form folder: image i has counts[i] vertical-stripe textures (0/255 masks)."""
    (folder / "masks").mkdir(parents=True)
    meta = []
    for i, n in enumerate(counts):
        Image.fromarray(np.full((12, 18, 3), 40 * i, np.uint8)).save(folder / f"im{i}.png")
        textures = []
        for t in range(n):
            m = np.zeros((12, 18), np.uint8)
            m[:, t * 18 // n : (t + 1) * 18 // n] = 255
            Image.fromarray(m).save(folder / "masks" / f"im{i}_{t}.png")
            textures.append(
                {"description": f"Texture of GT secret {i}.{t}", "mask_path": f"masks/im{i}_{t}.png"}
            )
        meta.append({"id": f"im{i}", "image_path": f"im{i}.png", "textures": textures})
    (folder / "metadata.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for folder in FOLDERS.values():
        write_folder(root / folder, REGION_COUNTS)
    return root


def recorder_as(name: str) -> MethodSpec:
    """The Recorder toy under a real method's name, protocols and params (the suite keys on the name)."""
    real = get_method_spec(name)
    return MethodSpec(
        name=name, entry="runner_toys:Recorder", protocols=list(real.protocols), params=dict(real.params)
    )


def given_per_image(out: Path) -> list[dict]:
    import pandas as pd

    return [json.loads(e) for e in pd.read_parquet(out / "records.parquet")["extras"]]


def test_the_detecture_suites_never_give_gt_text_and_name_real_methods_and_params():
    methods = load_method_specs()
    for name in DETECTURE_SUITES:
        suite = get_suite(name)
        assert not suite.gt_text and suite.source and set(suite.datasets) == set(FOLDERS)
        assert set(suite.methods) <= set(methods)
        for ds, entry in suite.datasets.items():
            for method in entry.get("methods") or {}:
                assert method in methods, (name, ds, method)
                setting = suite.for_method(ds, method)
                assert setting.protocol != "oracle-k"
                unknown = set(setting.options) - set(methods[method].params)
                assert not unknown, (name, ds, method, unknown)  # every option is a manifest param
                assert setting.protocol in methods[method].protocols, (name, ds, method)


def test_final_regime_is_the_authors_dispatch_table():
    s = get_suite("detecture")
    for ds in ("rwtd", "stld"):
        assert (
            s.for_method(ds, "detecture").protocol == "oracle-k-blind"
            and s.for_method(ds, "detecture").k == 2
        )
        assert s.for_method(ds, "sam3").options == {"mode": "inverse", "prompts": ["texture"]}
        g = s.for_method(ds, "grounded-sam3").options
        assert g["inverse_k2"] is True and g["prompts"] == ["foreground texture", "background texture"]
    ade = s.for_method("ade20k-detecture", "sam3")
    assert (ade.protocol, ade.k) == ("oracle-k-blind", "gt")  # the only method told K there
    assert ade.options == {"mode": "proposal", "prompts": ["texture regions"], "proposal_threshold": 0.0}
    for m in ("detecture", "grounded-sam3", "sa2va", "texture-kmeans"):
        assert s.for_method("ade20k-detecture", m).protocol == "autonomous"
    assert s.for_method("ade20k-detecture", "grounded-sam3").options["max_n"] == 6
    assert s.for_method("caid", "sam3").options == {"mode": "static", "prompts": ["water surface"]}
    # the authors' scripts: Detecture is prompted for a fixed N, the baselines take len(gt_masks)
    assert s.for_method("caid", "detecture").k == 1 and s.for_method("caid", "sam3").k == "gt"
    assert s.for_method("rwtd", "sa2va").k == "gt" and s.for_method("caid", "grounded-sam3").k == "gt"
    old = get_suite("detecture-2026-04")
    assert all(
        old.for_method(ds, m).k == "gt" for ds in FOLDERS for m in ("sam3", "sa2va", "qwen2sam-zs", "x")
    )
    assert old.for_method("rwtd", "grounded-sam3").options["inverse_k2"] is False
    assert old.for_method("caid", "qwen2sam-zs").options == {"task": "water"}


@pytest.mark.parametrize("suite_name", DETECTURE_SUITES)
def test_each_method_sees_exactly_the_declared_inputs(suite_name, data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTUREADE_DATA", str(data_root))
    suite = get_suite(suite_name)
    for ds in FOLDERS:
        for method in [*suite.methods, "detecture-zs"]:  # + one the suite does not name
            setting = suite.for_method(ds, method)
            out = tmp_path / f"{method}-{ds}"
            s = run(
                RunConfig(method=recorder_as(method), dataset=ds, out=out, suite=suite_name, progress=False)
            )
            assert s.n_ok == len(REGION_COUNTS)
            expect_k = {"gt": REGION_COUNTS, None: [None] * 3}.get(setting.k, [setting.k] * 3)
            if setting.protocol == "autonomous":
                expect_k = [None] * 3
            seen = given_per_image(out)
            assert [g["k"] for g in seen] == expect_k, (suite_name, ds, method)
            assert all(g["descriptions"] is None for g in seen)  # never GT text
            for key, value in setting.options.items():
                assert all(g["params"][key] == value for g in seen), (suite_name, ds, method, key)
            info = RunInfo.read(out / "run.json")
            k_source = (
                "none" if setting.protocol == "autonomous" else "gt" if setting.k == "gt" else "dataset"
            )
            prompts = setting.options.get("prompts", get_method_spec(method).params.get("prompts")) or []
            assert info.given == Given(k=k_source, gt_descriptions=False, prompts=prompts), (
                suite_name,
                ds,
                method,
            )
            assert info.config["suite"] == suite_name


def test_explicit_values_still_win_but_never_gt_text_under_a_no_gt_text_suite(
    data_root, tmp_path, monkeypatch
):
    monkeypatch.setenv("TEXTUREADE_DATA", str(data_root))
    out = tmp_path / "o"
    run(RunConfig(method=recorder_as("sam3"), dataset="caid", out=out, suite="detecture",
                  options={"prompts": ["lake"]}, k=3, progress=False))  # fmt: skip
    seen = given_per_image(out)
    assert [g["k"] for g in seen] == [3, 3, 3] and seen[0]["params"]["prompts"] == ["lake"]
    assert seen[0]["params"]["mode"] == "static"  # the suite's other option stays
    assert RunInfo.read(out / "run.json").given.k == "cli"  # the K source as it was: --k, not the dataset
    with pytest.raises(UserError, match="never gives the ground-truth descriptions"):
        run(RunConfig(method=recorder_as("sam3"), dataset="caid", out=tmp_path / "x", suite="detecture",
                      protocol="oracle-k", progress=False))  # fmt: skip


def test_cli_bench_run_suite_detecture_records_no_gt_text(data_root, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from benchmark.cli import cli

    monkeypatch.setenv("TEXTUREADE_DATA", str(data_root))
    res = CliRunner().invoke(
        cli, ["run", "--method", "one-region", "--dataset", "ade20k-detecture", "--suite", "detecture",
              "--out", str(tmp_path / "r"), "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    info = RunInfo.read(tmp_path / "r" / "run.json")
    assert (
        info.given == Given(k="none", gt_descriptions=False, prompts=[])
        and info.identity.protocol == "autonomous"
    )
    res = CliRunner().invoke(
        cli, ["run", "--method", "one-region", "--dataset", "rwtd", "--suite", "detecture", "--protocol",
              "oracle-k", "--out", str(tmp_path / "x")],
    )  # fmt: skip
    assert isinstance(res.exception, UserError)  # `bench` prints it as one line, exit 2
    assert "never gives the ground-truth descriptions" in str(res.exception)


def test_a_run_k_equal_to_the_suites_is_on_suite_and_another_is_named(data_root, tmp_path, monkeypatch):
    """given.k says where K came from (the suite's, or --k); bench table compares the K itself."""
    from benchmark.leaderboard import given_text
    from benchmark.table import off_suite

    monkeypatch.setenv("TEXTUREADE_DATA", str(data_root))
    setting = get_suite("detecture").for_method("rwtd", "sam3")
    for k, source in ((None, "dataset"), (2, "cli"), (3, "cli")):
        out = tmp_path / f"k{k}"
        run(
            RunConfig(
                method=recorder_as("sam3"), dataset="rwtd", out=out, suite="detecture", k=k, progress=False
            )
        )
        info = RunInfo.read(out / "run.json")
        assert info.given.k == source and info.identity.k == (k or 2)
        assert off_suite(info, setting) == (None if k != 3 else "K 3 (suite: 2)")
        assert given_text(info.given).startswith("K fixed (--k)" if k else "K fixed;")


def test_suite_manifests_are_checked():
    with pytest.raises(UserError, match="gt_text: false"):
        Suite(name="s", gt_text=False, datasets={"rwtd": {"protocol": "oracle-k-blind", "methods": {
            "sam3": {"protocol": "oracle-k"}}}})  # fmt: skip
    with pytest.raises(UserError, match="k must be a positive integer or 'gt'"):
        Suite(name="s", datasets={"rwtd": {"protocol": "oracle-k-blind", "k": "all"}})
    with pytest.raises(UserError, match="unknown keys"):
        Suite(
            name="s", datasets={"rwtd": {"protocol": "autonomous", "methods": {"sam3": {"prompts": ["x"]}}}}
        )
    with pytest.raises(UserError, match="options must map"):
        Suite(
            name="s", datasets={"rwtd": {"protocol": "autonomous", "methods": {"sam3": {"options": ["x"]}}}}
        )
    s = Suite(name="s", datasets={"rwtd": {"protocol": "oracle-k-blind", "k": "gt"}})
    assert s.for_method("rwtd", "any").resolve_k(2) is None and s.setting("rwtd") == ("oracle-k-blind", None)
    assert set(load_suites()) >= {"demo", "textureade", *DETECTURE_SUITES}


def test_leaderboard_labels_oracle_runs_and_our_designs(data_root, tmp_path, monkeypatch):
    from benchmark.leaderboard import ORACLE_TAG, OURS_TAG, build_leaderboard
    from benchmark.report import to_markdown, write_leaderboard

    monkeypatch.setenv("TEXTUREADE_DATA", str(data_root))
    ours = MethodSpec(name="detecture-zs", entry="runner_toys:Recorder", provenance={"design": "ours"})
    run(RunConfig(method=ours, dataset="rwtd", out=tmp_path / "r" / "zs", suite="detecture", progress=False))
    run(RunConfig(method=recorder_as("sam3"), dataset="rwtd", out=tmp_path / "r" / "oracle", protocol="oracle-k",
                  progress=False))  # fmt: skip
    run(RunConfig(method=recorder_as("sam3"), dataset="rwtd", out=tmp_path / "r" / "suite", suite="detecture",
                  progress=False))  # fmt: skip
    df = build_leaderboard([tmp_path / "r"], n_boot=100).set_index(["method", "protocol"])
    assert df.loc[("detecture-zs", "oracle-k-blind"), "design"] == "ours"
    assert df.loc[("sam3", "oracle-k"), "oracle"] and df.loc[("sam3", "oracle-k"), "given"].startswith(
        "K fixed + GT"
    )
    assert not df.loc[("sam3", "oracle-k-blind"), "oracle"]
    assert df.loc[("sam3", "oracle-k-blind"), "given"] == "K fixed; prompts: texture"
    md = to_markdown(df.reset_index())
    lines = {line.split("|")[1].strip() + "|" + line.split("|")[3].strip() for line in md.splitlines()[2:5]}
    assert lines == {
        f"detecture-zs {OURS_TAG}|oracle-k-blind",
        f"sam3|oracle-k {ORACLE_TAG}",
        "sam3|oracle-k-blind",
    }
    paths = write_leaderboard(df.reset_index(), tmp_path / "board.csv")
    assert paths["png"].stat().st_size > 0
