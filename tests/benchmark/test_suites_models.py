"""The real methods of the Detecture suites (tiny random weights) through `bench run --suite`: every
image scored with the suite's options, and run.json says what each method was given."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("transformers")

from baselines.testing import smoke, smoke_detecture  # noqa: E402
from benchmark.runinfo import RunInfo  # noqa: E402
from benchmark.runner import RunConfig, run  # noqa: E402
from benchmark.suites import get_suite  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_suites import FOLDERS, REGION_COUNTS, write_folder  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.usefixtures("one_torch_thread")]

HOOKS = {
    "detecture": smoke.detecture,
    "sam3": smoke.sam3,
    "grounded-sam3": smoke_detecture.grounded_sam3,
    "sa2va": smoke_detecture.sa2va,
    "qwen2sam-zs": smoke_detecture.qwen2sam_zs,
}
CASES = [("detecture", m, ds) for m in ("detecture", "sam3", "grounded-sam3", "sa2va") for ds in FOLDERS]
CASES += [("detecture-2026-04", m, ds) for m in ("grounded-sam3", "qwen2sam-zs") for ds in ("rwtd", "caid")]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for folder in FOLDERS.values():
        write_folder(root / folder, REGION_COUNTS)
    return root


@pytest.mark.parametrize("suite_name,method,dataset", CASES)
def test_suite_runs_the_real_method_with_its_declared_inputs(
    suite_name, method, dataset, data_root, tiny_weights, tmp_path, monkeypatch
):
    monkeypatch.setenv("TEXTUREADE_DATA", str(data_root))
    weights = HOOKS[method](tiny_weights.root)  # weights and device only: the suite sets the rest
    setting = get_suite(suite_name).for_method(dataset, method)
    assert not set(weights) & set(setting.options)
    out = tmp_path / "r"
    s = run(
        RunConfig(method=method, dataset=dataset, out=out, suite=suite_name, options=weights, progress=False)
    )
    assert s.n_ok == len(REGION_COUNTS), s.failures
    info = RunInfo.read(out / "run.json")
    assert info.given.gt_descriptions is False
    assert info.given.k == (
        "none" if setting.protocol == "autonomous" else "gt" if setting.k == "gt" else "dataset"
    )
    for key, value in setting.options.items():
        assert info.method.params[key] == value
    df = pd.read_parquet(out / "records.parquet")
    expect_k = {"none": [None] * 3, "gt": REGION_COUNTS, "dataset": [setting.k] * 3}[info.given.k]
    assert [None if pd.isna(k) else int(k) for k in df["k_given"]] == expect_k
    assert df["dice_matched"].notna().all()  # score maps: scored over all their channels
    if method == "sam3":
        assert {json.loads(e)["mode"] for e in df["extras"]} <= {"inverse", "proposal", "fixed-prompts"}
