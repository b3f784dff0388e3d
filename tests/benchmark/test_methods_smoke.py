"""Every registered method runs through the runner on a tiny input (under its first declared protocol).

Methods come from ``manifests/methods/*.yaml``; those that need weights get tiny random ones from
their manifest's ``smoke`` function (``registry.smoke_params``, over the session's ``tiny_weights``
folder), so a new method needs no edit here.
One protocol per method keeps this affordable on CPU; each method's own tests cover its protocols.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.datasets import DatasetHandle
from benchmark.registry import availability, load_method_specs, smoke_params
from benchmark.runner import RunConfig, run

sys.path.insert(0, str(Path(__file__).parent))
import runner_toys  # noqa: E402

SPECS = load_method_specs()


@pytest.mark.parametrize("name", list(SPECS))
def test_method_runs_through_the_runner(name, tmp_path, tiny_weights):
    from benchmark.metrics import METRIC_KEYS

    spec = SPECS[name]
    params = smoke_params(spec, tiny_weights.root)  # tiny models built once per session
    reason = availability(spec, params)
    assert reason is None, f"{name} cannot run with its smoke params: {reason}"
    handle = DatasetHandle(
        name="tiny",
        form="python",
        factory=lambda: runner_toys.toy_stream(2, 40),
        fingerprint_fn=lambda: "tiny",
    )
    for protocol in spec.protocols[:1]:
        out = tmp_path / protocol
        summary = run(
            RunConfig(
                method=spec,
                dataset=handle,
                out=out,
                protocol=protocol,
                options=params,
                progress=False,
                save_predictions=True,
            )
        )
        assert summary.n_records == 2
        assert summary.n_failed == 0, f"{name} ({protocol}) failed: {summary.failures}"
        df = pd.read_parquet(out / "records.parquet")
        assert (df["status"] == "ok").all() and np.isfinite(df[list(METRIC_KEYS)].to_numpy()).all()
        assert (df["n_pred"] >= 0).all() and len(list((out / "predictions").glob("*.png"))) == 2
        info = json.loads((out / "run.json").read_text())
        assert info["method"]["manifest"]["name"] == name and set(info["method"]["weights"]) == set(
            spec.weights
        )
