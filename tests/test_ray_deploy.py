"""deploy/raycluster.yaml (the KubeRay example the README's cluster recipe points to) stays in step
with the project: Ray's version is the pinned one, GPU workers tell Ray the GPUs Kubernetes gives
them, and no pod downloads weights at run time."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_raycluster_example_matches_the_pins():
    doc = yaml.safe_load((ROOT / "deploy" / "raycluster.yaml").read_text())
    assert doc["apiVersion"] == "ray.io/v1" and doc["kind"] == "RayCluster"
    pinned = re.search(r"^ray==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)
    assert pinned and doc["spec"]["rayVersion"] == pinned.group(1)
    groups = [doc["spec"]["headGroupSpec"], *doc["spec"]["workerGroupSpecs"]]
    gpu_groups = 0
    for group in groups:
        (container,) = group["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
        assert env["HF_HUB_OFFLINE"] == "1" and env["HF_HOME"].startswith("/shared/")
        # one token on every pod (Ray 2.60 token authentication); the SQLite cache never on /shared
        assert env["RAY_AUTH_MODE"] == "token" and "secretKeyRef" in env["RAY_AUTH_TOKEN"]
        assert not env["TEXTUREADE_CACHE"].startswith("/shared")
        assert any(m["mountPath"] == "/shared" for m in container["volumeMounts"])
        gpus = container["resources"]["limits"].get("nvidia.com/gpu", 0)
        assert float(group["rayStartParams"].get("num-gpus", gpus)) == gpus
        gpu_groups += gpus > 0
    assert gpu_groups >= 1
