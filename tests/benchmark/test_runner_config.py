"""RunConfig (CLI > YAML > defaults, saved in run.json) and the one record schema (RecordRow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from benchmark.records import OPTIONAL_METRIC_KEYS, RecordRow, RowContext, columns, metric_columns, schema
from benchmark.runconfig import RunConfig, resolve_run_config
from benchmark.runinfo import Given, RunInfo
from textureade.errors import UserError

sys.path.insert(0, str(Path(__file__).parent))
from test_runner_resume import _env  # noqa: E402


def test_cli_over_yaml_over_defaults(tmp_path):
    yaml_path = tmp_path / "run.yaml"
    yaml_path.write_text(
        "method: threshold\ndataset: toy\nout: from-yaml\nlimit: 5\noptions: {delay: 0.5, half: false}\n"
    )
    cfg = resolve_run_config({"out": "from-cli", "limit": None, "options": {"delay": 0.0}}, yaml_path)
    assert (cfg.method, cfg.dataset, cfg.out, cfg.limit) == ("threshold", "toy", "from-cli", 5)
    assert cfg.options == {"delay": 0.0, "half": False}  # --option pairs override the YAML's one by one
    assert cfg.timeout is None and cfg.progress is True and cfg.save_predictions is False  # defaults
    with pytest.raises(UserError, match="unknown key"):
        yaml_path.write_text("method: threshold\nlimt: 3\n")
        resolve_run_config({}, yaml_path)
    with pytest.raises(UserError, match="no out given"):
        resolve_run_config({"method": "threshold", "dataset": "toy"})
    with pytest.raises(UserError, match="--k must be a positive"):
        resolve_run_config({"method": "m", "dataset": "d", "out": "o", "k": 0})
    with pytest.raises(UserError, match=r"^--limit must be >= 1, got 0$"):  # as textureade build
        resolve_run_config({"method": "m", "dataset": "d", "out": "o", "limit": 0})


def test_bench_run_config_file_is_resolved_and_saved(tmp_path):
    env = _env(tmp_path)
    (tmp_path / "run.yaml").write_text(f"method: threshold\ndataset: toy\nout: {tmp_path / 'o'}\nlimit: 3\n")
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--config", str(tmp_path / "run.yaml"), "--limit", "2",
           "--option", "delay=0", "--no-progress"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 images" in done.stdout
    info = RunInfo.read(tmp_path / "o" / "run.json")
    assert (
        info.config["limit"] == 2
        and info.config["options"] == {"delay": 0}
        and info.config["progress"] is False
    )
    assert info.method.params["delay"] == 0 and info.given == Given("gt", True, [])


def test_given_from_the_protocol():
    assert Given.of("oracle-k", None) == Given("gt", True, [])
    assert Given.of("oracle-k-blind", None) == Given("gt", False, [])
    assert Given.of("oracle-k", 2) == Given("dataset", True, [])
    assert Given.of("autonomous", 2) == Given("none", False, [])
    assert Given.of("oracle-k-blind", 2, {"prompts": ["a", "b"]}).prompts == ["a", "b"]


def test_the_schema_carries_every_score_key():
    from benchmark.metrics import COUNT_KEYS, METRIC_KEYS

    assert set(METRIC_KEYS) | set(COUNT_KEYS) | set(OPTIONAL_METRIC_KEYS) <= set(columns())
    assert metric_columns()[: len(METRIC_KEYS)] == METRIC_KEYS
    types = dict(zip(schema().names, schema().types))
    assert types["n_desc"] == pa.int64() and types["resized"] == pa.bool_() and types["id"] == pa.string()
    assert all(types[k] == pa.float64() for k in metric_columns())


def test_one_constructor_validates_records():
    import numpy as np

    from benchmark.metrics import score_partition

    gt = np.ones((4, 4), np.int32)
    ctx = RowContext("m", "d", "oracle-k")
    kw = dict(index=0, sample_id="a", base_id=None, gt_shape=gt.shape, context=ctx)
    scores = score_partition(gt, gt)
    row = RecordRow.build(
        **kw, scores={**scores, "dustbin_share": 0.25}, timings={"load": 1.0, "predict": 2.0}
    )
    assert (
        row.n_gt == 1 and isinstance(row.n_gt, int) and row.dustbin_share == 0.25 and row.dice_matched is None
    )
    assert row.time_total == 3.0 and RecordRow.from_json(row.to_json()) == row
    assert RecordRow.build(**kw, scores=scores, timings={"load": 1.0}).time_total is None  # no predict time
    with pytest.raises(ValueError, match="lacks"):
        RecordRow.build(**kw, scores={**scores, "new_metric": 1.0})
    with pytest.raises(ValueError, match="needs a reason"):
        RecordRow.build(**kw, scores=scores, status="failed")
    with pytest.raises(UserError, match="unexpected columns"):
        RecordRow.from_json({**row.to_json(), "n_descriptions": 3})


def test_run_config_to_json_names_specs_and_handles(tmp_path):
    from benchmark.datasets import DatasetHandle
    from benchmark.registry import MethodSpec

    h = DatasetHandle(name="toy", form="python", factory=lambda: iter(()))
    cfg = RunConfig(method=MethodSpec(name="t", entry="x:Y"), dataset=h, out=tmp_path)
    assert cfg.to_json()["method"] == "t" and cfg.to_json()["dataset"] == "toy"
