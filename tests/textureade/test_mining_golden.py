"""Golden decisions of the miner: the regression corpus, checked by ``make test``.

Each case is one scene mined with one seed. Its record holds what the miner decided -- the
selection (kept or the skip reason), the merges (keep, absorb, why), the accepted splits (group,
new group), the rejected split tests (group, what failed), the dropped groups, the kept regions
(group, class ids, full-size area) -- plus the sha256 of the full-size region label map and of
the whole provenance (every J, valley and coherence value as the dataset records it). The corpus:

- synthetic scenes, built here without ../shared: 24 ADEChallengeData2016 and 24 full-form scenes
  from ``textureade.testing.synthetic_ade`` (instances and parts), and the known-answer scenes of the
  mining tests (brick / grass / gravel merges, splits, a smooth gradient, drops, max_regions,
  instances and parts) mined with two seeds and ``min_score`` 0 so that every one reaches regions,
  and once with the default ``min_score`` (the selection keeps or drops them);
- the genuine ADE20K samples in ../shared (read in place) with seeds 0, 1 and 2, and an end-to-end
  ``textureade build`` of them whose shard and rejects sha256s are recorded (skipped with a reason
  when ../shared is absent).

Regenerate with ``TEXTUREADE_REGEN_GOLDEN=1 pytest tests/textureade/test_mining_golden.py`` (needs
the genuine samples, so no case is lost). Regenerating is a decision change: the commit that does it
must say, per changed case, what changed and why that is acceptable (``git diff`` of
``tests/textureade/golden/mining.json`` shows one line per case).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skimage.data as skd

from textureade.config import load_mining_config, resolve_build_config
from textureade.mining import mine_scene
from textureade.pipeline import build
from textureade.readers import open_ade20k
from textureade.testing.synthetic_ade import write_synthetic_ade
from textureade.types import Scene, SceneObject

GOLDEN = Path(__file__).parent / "golden" / "mining.json"
REGEN = os.environ.get("TEXTUREADE_REGEN_GOLDEN") == "1"
NAMES = {1: "wall", 2: "floor", 3: "grass", 4: "earth, ground", 5: "sky", 6: "person"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rejected_because(entry: dict[str, Any], cfg: Any) -> str:
    if "why" in entry:
        return entry["why"]
    failed = []
    if entry["J"] <= cfg.split_separability:
        failed.append("J")
    if min(entry["coherence"]) < cfg.split_coherence:
        failed.append("coherence")
    return "+".join(failed) or "?"


def decisions(scene: Scene, cfg: Any, seed: int) -> dict[str, Any]:
    """The golden record of one scene mined with ``seed`` (see the module docstring)."""
    mined = mine_scene(scene, cfg, seed=seed)
    prov = mined.provenance()
    skip = mined.skip.reason if mined.skip is not None else None
    rec: dict[str, Any] = {"skip": skip, "score": prov["selection"]["score"]}
    if mined.regions is not None:
        rp = mined.regions.provenance
        rec["merges"] = [[m["keep"], m["absorb"], m["why"]] for m in rp["merges"]]
        rec["splits"] = [[s["group"], s["new"]] for s in rp["splits"]]
        rec["rejected_splits"] = [[s["group"], _rejected_because(s, cfg)] for s in rp["split_tests_rejected"]]
        rec["dropped"] = [[d["group"], d["why"]] for d in rp["dropped"]]
        rec["regions"] = [
            [r["group"], r["class_ids"], info.area] for r, info in zip(rp["regions"], mined.regions.regions)
        ]
        lm = np.ascontiguousarray(mined.regions.label_map, dtype=np.int32)
        rec["label_map"] = _sha(str(lm.shape).encode() + lm.tobytes())
    rec["provenance"] = _sha(json.dumps(prov, sort_keys=True).encode())
    return rec


# ---- the corpus ----------------------------------------------------------------------------------


def _rgb(a: np.ndarray) -> np.ndarray:
    return np.repeat(a[..., None], 3, 2) if a.ndim == 2 else a[..., :3]


def known_answer_scenes() -> dict[str, Scene]:
    """The scenes of ``test_mining_regions`` whose right answers are known."""
    brick = _rgb(skd.brick())[:384, :512].copy()
    grass = _rgb(skd.grass())[:384, :512].copy()
    gravel = _rgb(skd.gravel())[:384, :512].copy()
    out: dict[str, Scene] = {}

    img = brick.copy()
    img[256:] = grass[256:]
    lab = np.zeros((384, 512), np.int32)
    lab[:256, :256], lab[:256, 256:], lab[256:] = 1, 2, 3
    out["merge-brick-brick-grass"] = Scene("merge", img, lab, class_names=NAMES)

    img = brick.copy()
    img[:, 256:] = grass[:, 256:]
    lab = np.zeros((384, 512), np.int32)
    lab[:, :256], lab[:, 256:] = 1, 2
    out["no-merge-brick-grass"] = Scene("nomerge", img, lab, class_names=NAMES)

    img = brick.copy()
    img[:, 256:] = grass[:, 256:]
    img[288:] = gravel[288:]
    lab = np.zeros((384, 512), np.int32)
    lab[:288], lab[288:] = 1, 4
    out["split-brick-grass-over-gravel"] = Scene("split", img, lab, class_names=NAMES)

    ramp = np.linspace(40, 230, 256)[:, None, None] * np.ones((1, 384, 1))
    img = np.concatenate([ramp * 0.6, ramp * 0.8, ramp], axis=2).astype(np.uint8)
    img[192:] = grass[192:256, :384]
    lab = np.full((256, 384), 5, np.int32)
    lab[192:] = 3
    out["gradient-sky-grass"] = Scene("gradient", img, lab, class_names=NAMES)

    img = brick.copy()
    img[:, 256:] = grass[:, 256:]
    lab = np.full((384, 512), 1, np.int32)
    lab[:, 256:] = 3
    lab[:10, :10] = 6
    out["drop-tiny-person"] = Scene("drop", img, lab, class_names=NAMES)
    out["skip-one-class"] = Scene("one", brick, np.full((384, 512), 1, np.int32), class_names=NAMES)

    rng = np.random.default_rng(0)
    lab = np.zeros((240, 320), np.int32)
    img = np.zeros((240, 320, 3), np.uint8)
    x = 0
    for i, bw in enumerate([80, 60, 50, 40, 30, 25, 20, 15], start=1):
        lab[:, x : x + bw] = i
        img[:, x : x + bw] = rng.integers(0, 256, 3)
        x += bw
    out["max-regions-bands"] = Scene("bands", img, lab, class_names={i: f"wall {i}" for i in range(1, 9)})

    img = brick.copy()
    img[:, 128:384] = grass[:, 128:384]
    img[:, 384:] = brick[:, :128]
    img[96:288, 176:336] = gravel[96:288, 176:336]
    lab = np.full((384, 512), 1, np.int32)
    lab[:, 128:384] = 3
    inst = np.zeros((384, 512), np.int32)
    inst[:, :128], inst[:, 384:], inst[:, 128:384] = 1, 2, 3
    parts = np.zeros((384, 512), np.int32)
    parts[96:288, 176:336] = 4
    objects = [
        SceneObject("wall", 1, instance_id=1, attributes=["brick"]),
        SceneObject("wall", 1, instance_id=2),
        SceneObject("grass", 3, instance_id=3),
        SceneObject("earth", 4, part_level=1, attributes=["gravel"]),
    ]
    out["instances-and-parts"] = Scene(
        "inst", img, lab, instances=inst, parts=[parts], objects=objects, class_names=NAMES
    )
    return out


def synthetic_cases(tmp: Path) -> dict[str, dict[str, Any]]:
    cfg = load_mining_config()
    open_cfg = dataclasses.replace(cfg, min_score=0.0)  # known-answer scenes all reach regions
    out: dict[str, dict[str, Any]] = {}
    for name, scene in known_answer_scenes().items():
        for seed in (0, 1):
            out[f"known/{name}/seed{seed}"] = decisions(scene, open_cfg, seed)
        out[f"known-selection/{name}/seed0"] = decisions(scene, cfg, 0)  # the default min_score
    for form in ("challenge", "full"):
        src = open_ade20k(write_synthetic_ade(tmp / form, n=24, form=form, seed=0))
        for ref in src.items():
            out[f"synthetic-{form}/{ref.id}/seed0"] = decisions(src.load(ref), cfg, 0)
    return out


def genuine_cases(ade_samples: Path) -> dict[str, dict[str, Any]]:
    cfg = load_mining_config()
    src = open_ade20k(ade_samples / "ADEChallengeData2016")
    out: dict[str, dict[str, Any]] = {}
    for ref in src.items():
        scene = src.load(ref)
        for seed in (0, 1, 2):
            out[f"genuine/{ref.id}/seed{seed}"] = decisions(scene, cfg, seed)
    return out


def genuine_build(ade_samples: Path, out: Path) -> dict[str, Any]:
    """sha256s of an end-to-end build (offline describer) of the genuine samples."""
    build(resolve_build_config({"ade20k": str(ade_samples), "out": str(out), "progress": False}))
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "shards": {s["path"]: s["sha256"] for s in manifest["shards"]},
        "rejects_sha256": manifest["rejects_sha256"],
        "counts": manifest["counts"],
    }


# ---- golden file ---------------------------------------------------------------------------------


def _load() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}


def _dump(doc: dict[str, Any]) -> str:
    """One line per case, so that ``git diff`` shows which cases changed."""
    lines = ["{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        if key == "cases":
            lines.append('  "cases": {')
            ck = sorted(doc["cases"])
            for j, c in enumerate(ck):
                sep = "," if j < len(ck) - 1 else ""
                lines.append(f"    {json.dumps(c)}: {json.dumps(doc['cases'][c], sort_keys=True)}{sep}")
            lines.append("  }" + comma)
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(doc[key], sort_keys=True)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _compare(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]], what: str) -> None:
    problems = []
    for case in sorted(set(got) | set(want)):
        if case not in want:
            problems.append(f"{case}: not in the golden file")
        elif case not in got:
            problems.append(f"{case}: in the golden file but not mined")
        else:
            fields = sorted(
                k for k in set(got[case]) | set(want[case]) if got[case].get(k) != want[case].get(k)
            )
            for k in fields:
                problems.append(f"{case}: {k} {want[case].get(k)!r} -> {got[case].get(k)!r}")
    assert not problems, (
        f"{len(problems)} {what} decision(s) differ from {GOLDEN.name} (if intended, regenerate with "
        "TEXTUREADE_REGEN_GOLDEN=1 and explain every change in the commit):\n" + "\n".join(problems[:40])
    )


def test_regenerate_golden(tmp_path, ade_samples):
    """With TEXTUREADE_REGEN_GOLDEN=1: rewrite the golden file from the current miner."""
    if not REGEN:
        pytest.skip("set TEXTUREADE_REGEN_GOLDEN=1 to regenerate the golden file")
    cases = {**synthetic_cases(tmp_path / "syn"), **genuine_cases(ade_samples)}
    doc = {
        "about": "golden mining decisions; see tests/textureade/test_mining_golden.py (regenerate only "
        "with an explanation of every change in the commit)",
        "build": genuine_build(ade_samples, tmp_path / "build"),
        "cases": cases,
    }
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(_dump(doc))


@pytest.mark.skipif(REGEN, reason="regenerating")
def test_synthetic_decisions_match_golden(tmp_path):
    want = {k: v for k, v in _load().get("cases", {}).items() if not k.startswith("genuine/")}
    got = synthetic_cases(tmp_path)
    assert len(got) >= 60
    _compare(got, want, "synthetic")


@pytest.mark.skipif(REGEN, reason="regenerating")
def test_genuine_decisions_match_golden(ade_samples):
    want = {k: v for k, v in _load().get("cases", {}).items() if k.startswith("genuine/")}
    _compare(genuine_cases(ade_samples), want, "genuine")


@pytest.mark.skipif(REGEN, reason="regenerating")
def test_genuine_build_bytes_match_golden(ade_samples, tmp_path):
    assert genuine_build(ade_samples, tmp_path / "ds") == _load().get("build"), (
        "the build's bytes changed: if the mining or the describer changed on purpose, regenerate with "
        "TEXTUREADE_REGEN_GOLDEN=1 and explain the change in the commit"
    )
