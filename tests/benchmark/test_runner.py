"""Runner: records, failures (listed, scored as failures), timeouts, provenance, resume in-process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.datasets import DatasetHandle
from benchmark.records import OPTIONAL_METRIC_KEYS, columns
from benchmark.registry import MethodSpec
from benchmark.runinfo import Counts, Given, RunInfo
from benchmark.runner import RunConfig, run
from textureade.errors import UserError

sys.path.insert(0, str(Path(__file__).parent))
import runner_toys  # noqa: E402


def handle(n: int = 12, size: int = 24) -> DatasetHandle:
    return DatasetHandle(
        name="toy",
        form="python",
        factory=lambda: runner_toys.toy_stream(n, size),
        fingerprint_fn=lambda: f"toy:{n}:{size}",
        count_fn=lambda: n,
    )


def spec(cls: str = "Threshold", **params) -> MethodSpec:
    return MethodSpec(name=cls.lower(), entry=f"runner_toys:{cls}", params=params)


def records(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "records.parquet")


def test_records_scores_and_run_json(tmp_path):
    from benchmark.metrics import METRIC_KEYS, score_partition

    s = run(
        RunConfig(method=spec(), dataset=handle(6), out=tmp_path / "r", progress=False, save_predictions=True)
    )
    assert (s.n_records, s.n_ok, s.n_failed) == (6, 6, 0)
    df = records(tmp_path / "r")
    assert list(df["id"]) == [f"toy{i:05d}" for i in range(6)] and list(df["index"]) == list(range(6))
    assert list(df.columns) == list(columns())  # the one schema, in its order
    assert df[list(OPTIONAL_METRIC_KEYS)].notna().all().all()  # score maps: the authors' columns filled
    assert df["resized"].all() and (df["pred_height"] == 12).all() and (df["height"] == 24).all()
    assert (df["k_given"] == 2).all() and (df["n_gt"] == 2).all()
    # the recorded scores are the metrics of the saved partition against the ground truth
    from PIL import Image

    sample = next(runner_toys.toy_stream(1, 24))
    saved = np.asarray(Image.open(tmp_path / "r" / "predictions" / "toy00000.png")).astype(np.int32)
    assert saved.shape == (24, 24) and set(np.unique(saved)) <= {0, 1, 2}
    expected = score_partition(saved, sample.label_map, n_pred=2)  # score maps of K = 2 channels
    for key in (*METRIC_KEYS, *OPTIONAL_METRIC_KEYS):
        assert df.loc[0, key] == pytest.approx(expected[key], nan_ok=True)
    desc = json.loads((tmp_path / "r" / "predictions" / "toy00000.json").read_text())
    assert desc == {"descriptions": ["Texture of dark", "Texture of bright"], "channels": 2}
    info = RunInfo.read(tmp_path / "r" / "run.json")
    assert info.kind == "run" and info.status == "complete" and info.counts == Counts(6, 6, 0)
    assert info.identity.dataset_fingerprint == "toy:6:24" and info.dataset.name == "toy"
    assert info.identity.protocol == "oracle-k" and info.method.manifest["entry"] == "runner_toys:Threshold"
    assert info.given == Given(k="gt", gt_descriptions=True, prompts=[])
    assert info.config["save_predictions"] is True and info.columns == list(columns())
    assert "numpy" in info.environment.packages and info.environment.host["python"]


def test_failures_are_recorded_with_failure_scores_and_listed(tmp_path):
    from benchmark.metrics import METRIC_KEYS, score_failure

    s = run(RunConfig(method=spec(fail_mod=3), dataset=handle(12), out=tmp_path / "r", progress=False))
    df = records(tmp_path / "r")
    failed = df[df["status"] == "failed"]
    assert s.n_failed == len(failed) > 0 and s.n_ok + s.n_failed == 12 == len(df)
    assert [sid for sid, _ in s.failures] == list(failed["id"])
    assert all(r.startswith("RuntimeError: toy failure") and "\n" not in r for r in failed["reason"])
    gt = next(runner_toys.toy_stream(1)).label_map
    for key, value in score_failure(gt).items():
        assert (failed[key] == value).all()
    assert set(METRIC_KEYS) <= set(score_failure(gt))
    assert (failed["n_pred"] == 0).all() and (failed["n_gt"] == 2).all() and failed["n_desc"].isna().all()


def test_failures_are_scored_with_the_datasets_scoring_options(tmp_path):
    """A dataset whose GT 0 is background inside the domain (the Detecture sets: ``gt_zero:
    background``): a failed image's N counts those pixels too (vi = ln of every pixel, not of the
    labelled ones), as ``bench score`` counts it."""
    from benchmark.metrics import score_failure

    def with_background():  # the toy samples with their first 4 columns GT 0
        for sample in runner_toys.toy_stream(6):
            sample.label_map[:, :4] = 0
            yield sample

    data = DatasetHandle(name="toy0", form="python", factory=with_background, fingerprint_fn=lambda: "toy0",
                         count_fn=lambda: 6, scoring={"gt_zero": "background"})  # fmt: skip
    run(RunConfig(method=spec(fail_mod=3), dataset=data, out=tmp_path / "r", progress=False))
    failed = records(tmp_path / "r").query("status == 'failed'")
    gt = next(with_background()).label_map
    assert len(failed) > 0 and score_failure(gt, gt_zero="background") != score_failure(gt)
    for key, value in score_failure(gt, gt_zero="background").items():
        assert (failed[key] == value).all(), key
    assert np.allclose(failed["vi"], np.log(24 * 24))  # void would give ln(24 * 20)


def test_timeout_and_malformed_prediction_fail(tmp_path):
    s = run(
        RunConfig(
            method=spec("Sleeper", seconds=3.0),
            dataset=handle(2),
            out=tmp_path / "t",
            timeout=0.2,
            progress=False,
        )
    )
    df = records(tmp_path / "t")
    assert s.n_failed == 2 and all("timeout" in r for r in df["reason"])
    assert (df["time_predict"] < 2.0).all()  # the alarm cut predict short
    s = run(RunConfig(method=spec("NotAPrediction"), dataset=handle(2), out=tmp_path / "n", progress=False))
    assert s.n_failed == 2 and "not a Prediction" in records(tmp_path / "n")["reason"][0]


class _Crash(BaseException):
    pass


def test_resume_after_crash_gives_identical_records(tmp_path):
    full = tmp_path / "full"
    run(RunConfig(method=spec(fail_mod=4), dataset=handle(10), out=full, progress=False))

    part = tmp_path / "part"
    calls = {"n": 0}

    def crashing():
        for i, sample in enumerate(runner_toys.toy_stream(10, 24)):
            if i == 6:
                raise _Crash()  # like a kill between two images
            calls["n"] += 1
            yield sample

    h = handle(10)
    h.factory = crashing
    with pytest.raises(_Crash):
        run(RunConfig(method=spec(fail_mod=4), dataset=h, out=part, progress=False))
    with open(part / "records.jsonl", "a") as fh:
        fh.write('{"index": 6, "id": "toy000')  # a torn last line, as after kill -9 mid-write
    assert not (part / "records.parquet").exists()
    s = run(RunConfig(method=spec(fail_mod=4), dataset=handle(10), out=part, progress=False))
    assert s.n_resumed == 6 and s.n_records == 10
    a, b = records(full), records(part)
    keep = [c for c in a.columns if not c.startswith("time_")]
    pd.testing.assert_frame_equal(a[keep], b[keep])
    # a finished run re-run is a no-op that keeps the records
    s = run(RunConfig(method=spec(fail_mod=4), dataset=handle(10), out=part, progress=False))
    assert s.n_resumed == 10 and len(records(part)) == 10


def test_resume_refuses_another_configuration(tmp_path):
    run(RunConfig(method=spec(), dataset=handle(3), out=tmp_path / "r", progress=False))
    with pytest.raises(UserError, match="holds a run with other params"):
        run(RunConfig(method=spec(half=False), dataset=handle(3), out=tmp_path / "r", progress=False))
    with pytest.raises(UserError, match="protocol"):
        run(
            RunConfig(
                method=spec(),
                dataset=handle(3),
                out=tmp_path / "r",
                protocol="oracle-k-blind",
                progress=False,
            )
        )


def test_protocol_the_method_does_not_support_is_a_user_error(tmp_path):
    s = MethodSpec(name="t", entry="runner_toys:Threshold", protocols=["oracle-k"])
    with pytest.raises(UserError, match="does not support protocol 'autonomous'"):
        run(RunConfig(method=s, dataset=handle(2), out=tmp_path / "r", protocol="autonomous", progress=False))


def test_a_method_refused_at_build_leaves_no_run_json(tmp_path):
    # a refusal (missing weights, bad option) exits before any sample: no run.json stuck at "running"
    with pytest.raises(
        UserError, match=r"^threshold: unknown option\(s\) no_such_param; it takes .*fail_mod"
    ):
        run(RunConfig(method=spec(no_such_param=1), dataset=handle(2), out=tmp_path / "r", progress=False))
    assert not (tmp_path / "r" / "run.json").exists()
    assert not list((tmp_path / "r").glob("records.*"))


def test_method_unavailable_in_predict_stops_the_run_keeping_records(tmp_path):
    from benchmark.method import MethodUnavailable

    with pytest.raises(MethodUnavailable, match="cannot load"):
        run(RunConfig(method=spec("LazyWeights"), dataset=handle(5), out=tmp_path / "r", progress=False))
    info = RunInfo.read(tmp_path / "r" / "run.json")
    assert info.status == "stopped" and "cannot load" in info.error
    lines = (tmp_path / "r" / "records.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(x)["status"] == "ok" for x in lines)


def test_limit_and_options_override(tmp_path):
    s = run(
        RunConfig(
            method=spec(),
            dataset=handle(12),
            out=tmp_path / "r",
            options={"half": False},
            limit=4,
            progress=False,
        )
    )
    df = records(tmp_path / "r")
    assert s.n_records == 4 and not df["resized"].any()
    assert RunInfo.read(tmp_path / "r" / "run.json").method.params["half"] is False
    # the same run with a larger limit continues it; with a smaller one it reports the first rows
    s = run(
        RunConfig(
            method=spec(),
            dataset=handle(12),
            out=tmp_path / "r",
            options={"half": False},
            limit=6,
            progress=False,
        )
    )
    assert (s.n_resumed, s.n_records) == (4, 6)
    s = run(
        RunConfig(
            method=spec(),
            dataset=handle(12),
            out=tmp_path / "r",
            options={"half": False},
            limit=2,
            progress=False,
        )
    )
    assert s.n_records == 2 and list(records(tmp_path / "r")["id"]) == ["toy00000", "toy00001"]


def test_saved_predictions_rescore_to_the_same_records(tmp_path, monkeypatch):
    """`bench score` on the runner's --save-predictions output reproduces the runner's scores.

    By path the folder is scored with GT 0 as void; by the name ``rwtd`` with its manifest's
    ``gt_zero: background``: both tools must follow the dataset's scoring rule.
    """
    from test_datasets import write_detecture

    from benchmark.metrics import METRIC_KEYS
    from benchmark.score import score_folder

    folder = write_detecture(tmp_path / "data" / "RWTD", n=4, gap=6)
    monkeypatch.setenv("TEXTUREADE_DATA", str(tmp_path / "data"))
    scored_as = {}
    for dataset in (str(folder), "rwtd"):
        out = tmp_path / dataset.replace("/", "_")
        run(RunConfig(method=spec(), dataset=dataset, out=out / "run", save_predictions=True, progress=False))
        score_folder(dataset, out / "run" / "predictions", out / "scored")
        a = records(out / "run").set_index("id")
        b = pd.read_parquet(out / "scored" / "records.parquet").set_index("id").loc[a.index]
        assert len(a) == 4 and (a["status"] == "ok").all() and (b["status"] == "ok").all()
        pd.testing.assert_frame_equal(a[list(METRIC_KEYS)], b[list(METRIC_KEYS)], check_dtype=False)
        scored_as[dataset] = a[list(METRIC_KEYS)]
    # the GT-0 gap makes the two rules differ, so the rule really was applied by both tools
    assert not scored_as["rwtd"].equals(scored_as[str(folder)])


def test_timeout_outside_the_main_thread_is_checked_after_predict(tmp_path):
    """SIGALRM only reaches the main thread: elsewhere a slow image still fails, once predict returns."""
    import threading

    result = {}

    def work():
        result["s"] = run(
            RunConfig(
                method=spec("Sleeper", seconds=0.4),
                dataset=handle(2),
                out=tmp_path / "t",
                timeout=0.1,
                progress=False,
            )
        )

    t = threading.Thread(target=work)
    t.start()
    t.join(30)
    assert result["s"].n_failed == 2
    df = records(tmp_path / "t")
    assert all(r.startswith("SampleTimeout: timeout: predict took") for r in df["reason"])
    assert (df["time_predict"] >= 0.4).all()


def test_weights_provenance_of_a_local_path_has_no_hub_revision_and_a_fingerprint(tmp_path):
    from dataclasses import replace

    from benchmark.provenance import weights_info
    from benchmark.registry import resolve_params

    s = MethodSpec(
        name="w",
        entry="runner_toys:Threshold",
        params={"model_revision": "main"},
        weights={"model": {"id": "org/model", "revision": "abc123", "param": "model"}},
    )
    assert weights_info(s, {"model_revision": "main"})["model"] == {
        "id": "org/model",
        "revision": "main",
        "overridden": False,
        "commit": None,
    }  # fmt: skip  (the revision the method is given, not the manifest's pin it overrides)
    assert weights_info(s, resolve_params(replace(s, params={})))["model"]["revision"] == "abc123"
    assert weights_info(s, {"model": "org/other", "model_revision": "v2"})["model"]["revision"] == "v2"
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 32}')
    (folder / "model.safetensors").write_bytes(b"\0" * 10)
    got = weights_info(s, {"model": str(folder), "model_revision": "main"})["model"]
    assert got["revision"] is None and got["overridden"] is True
    assert got["local"]["files"] == 2 and got["local"]["bytes"] == 10 + len('{"hidden_size": 32}')
    before = got["local"]["sha256"]
    (folder / "config.json").write_text('{"hidden_size": 64}')  # same size, other config
    after = weights_info(s, {"model": str(folder)})["model"]["local"]["sha256"]
    assert after != before
    (folder / "model.safetensors").write_bytes(b"\1" * 10)  # new weights of the same shape
    assert weights_info(s, {"model": str(folder)})["model"]["local"]["sha256"] != after


def test_weights_provenance_records_the_commit_a_hub_revision_resolves_to(tmp_path, monkeypatch):
    import huggingface_hub.constants

    from benchmark.provenance import weights_info

    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--org--model"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(sha)
    (repo / "snapshots" / sha).mkdir(parents=True)
    (repo / "snapshots" / sha / "config.json").write_text("{}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    s = MethodSpec(
        name="w", entry="runner_toys:Threshold", weights={"model": {"id": "org/model", "revision": "main"}}
    )
    got = weights_info(s, {})["model"]
    assert got["revision"] == "main" and got["commit"] == sha


def test_a_manifest_revision_pin_is_what_the_method_is_given():
    from benchmark.registry import resolve_params

    s = MethodSpec(
        name="w", entry="runner_toys:Threshold", weights={"model": {"id": "org/m", "revision": "abc123"}}
    )
    assert resolve_params(s) == {"model": "org/m", "model_revision": "abc123"}
    assert resolve_params(s, {"model": "org/other"}) == {"model": "org/other"}  # another id: no pin
    assert resolve_params(s, {"model_revision": "v2"})["model_revision"] == "v2"
