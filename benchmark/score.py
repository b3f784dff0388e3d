"""`bench score`: score a folder of predicted label maps against a dataset's ground truth.

Predictions: ``<sample id>.png`` label maps (8- or 16-bit single channel; 0 = unassigned; ids
need not be contiguous) and optional ``<sample id>.json`` ``{"descriptions": [...]}`` in region
order. An id holding path separators is looked up as given, then under the runner's file name
(separators -> ``__``). A missing, unreadable, multi-channel or wrongly sized prediction is a
FAILED record scored with :func:`benchmark.metrics.score_failure` (0 for every higher-is-better
metric), never skipped.

Outputs in ``out_dir``: ``records.parquet`` (``id``, every key of ``score_partition``, ``status``,
``reason``, ``n_descriptions``, ``descriptions_note``), ``summary.json`` (per-image means with
95% percentile-bootstrap intervals, pooled dataset-level variants, counts, failures, GT samples
the reader rejected) and a ``run.json`` that ``bench leaderboard`` reads.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.metrics import (
    COUNT_KEYS,
    HIGHER_IS_BETTER,
    METRIC_KEYS,
    PartitionAccumulator,
    bootstrap_ci,
    partition_stats,
    score_failure,
)
from benchmark.records import write_records_parquet
from textureade.errors import UserError
from textureade.types import ValidationError


class PredictionProblem(Exception):
    """A prediction file that cannot be scored (one-line reason)."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _prediction_path(pred_dir: Path, sample_id: str, suffix: str) -> Path | None:
    from benchmark.predictions import safe_name

    base = pred_dir.resolve()
    for name in (sample_id, safe_name(sample_id)):
        p = (base / f"{name}{suffix}").resolve()
        if p.is_relative_to(base) and p.is_file():
            return p
    return None


def load_prediction(pred_dir: Path, sample_id: str, shape: tuple[int, int]) -> np.ndarray:
    """The H x W label map ``<id>.png`` (uint8/uint16/int32), or PredictionProblem."""
    from PIL import Image

    path = _prediction_path(pred_dir, sample_id, ".png")
    if path is None:
        raise PredictionProblem(f"no prediction {sample_id}.png")
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode not in ("L", "P", "1", "I", "I;16", "I;16B", "I;16L"):
                raise PredictionProblem(
                    f"prediction {path.name} has mode {mode}; it must be a single-channel 8- or 16-bit label map"
                )
            arr = np.array(im)
    except PredictionProblem:
        raise
    except Exception as exc:
        raise PredictionProblem(f"cannot read prediction {path.name}: {_one_line(exc)}") from None
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise PredictionProblem(f"prediction {path.name} is not a 2-D integer label map")
    if arr.size and int(arr.min()) < 0:
        raise PredictionProblem(f"prediction {path.name} has negative ids")
    if arr.shape != tuple(shape):
        raise PredictionProblem(
            f"prediction {path.name} is {arr.shape[1]}x{arr.shape[0]} but the ground truth is {shape[1]}x{shape[0]}"
        )
    return arr


def load_descriptions(pred_dir: Path, sample_id: str) -> tuple[int | None, str | None]:
    """(number of descriptions, note) from the optional ``<id>.json``; (None, None) when absent."""
    path = _prediction_path(pred_dir, sample_id, ".json")
    if path is None:
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"unreadable {path.name}: {_one_line(exc)}"
    descs = data.get("descriptions") if isinstance(data, dict) else None
    if not isinstance(descs, list) or not all(isinstance(d, str) for d in descs):
        return None, f"{path.name} has no list of strings under 'descriptions'"
    return len(descs), None


def _open(dataset: str | Path) -> tuple[Any, dict[str, Any]]:
    """The dataset handle (``benchmark.datasets.open_dataset``) and what the summary says of it."""
    from benchmark.datasets import open_dataset

    handle = open_dataset(str(dataset))
    info = {"name": handle.name, "form": handle.form, "scoring": dict(handle.scoring)}
    try:
        info["fingerprint"] = handle.fingerprint
    except Exception as exc:  # a fingerprint is provenance, not a reason to stop scoring
        info["fingerprint"] = f"unavailable: {_one_line(exc)}"
    return handle, info


def _atomic_json(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False))
    os.replace(tmp, path)


def _finite(x: float) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def score_folder(
    dataset_path: str | Path,
    predictions_dir: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Score ``<id>.png`` predictions against a dataset; write records, summary and run.json.

    dataset_path: a Detecture-form folder, a TextureADE parquet folder or a dataset name (what
    ``benchmark.datasets.open_dataset`` accepts); its manifest's ``scoring`` options are passed
    to ``score_partition``. Returns the summary dict (also written to ``summary.json``).
    """
    pred_dir = Path(predictions_dir)
    if not pred_dir.is_dir():
        raise UserError(
            f"predictions folder {pred_dir} does not exist; pass the folder holding <id>.png files"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    handle, info = _open(dataset_path)
    scoring = dict(info.get("scoring") or {})
    fail_kw = {k: v for k, v in scoring.items() if k in ("ignore_index", "gt_zero")}
    acc = PartitionAccumulator()
    rows: list[dict[str, Any]] = []
    per_key: dict[str, list[float]] = {k: [] for k in METRIC_KEYS}
    for sample in handle.iter_samples():
        gt = sample.label_map
        row: dict[str, Any] = {"id": sample.id}
        try:
            pred = load_prediction(pred_dir, sample.id, gt.shape)
            stats = partition_stats(pred, gt, **scoring)
            scores, status, reason = stats.scores, "ok", None
            acc.add(stats)
        except (PredictionProblem, ValidationError) as exc:
            scores, status, reason = score_failure(gt, **fail_kw), "failed", _one_line(exc)
            acc.add_failure(scores, partition_stats(np.zeros(gt.shape, np.uint8), gt, **scoring))
        n_desc, note = load_descriptions(pred_dir, sample.id)
        for k in METRIC_KEYS:
            row[k] = float(scores[k])
            per_key[k].append(float(scores[k]))
        row.update({k: int(scores[k]) for k in COUNT_KEYS})
        row.update(status=status, reason=reason, n_descriptions=n_desc, descriptions_note=note)
        rows.append(row)
    n_rejected = int(getattr(handle, "n_rejected", 0))
    rejected = [{"id": i, "reason": r} for i, r in getattr(handle, "rejected", [])]
    if not rows:
        raise UserError(f"no scorable ground-truth samples in {dataset_path} ({n_rejected} rejected)")
    write_records_parquet(rows, out / "records.parquet")
    failures = [{"id": r["id"], "reason": r["reason"]} for r in rows if r["status"] == "failed"]
    metrics = {}
    for k in METRIC_KEYS:
        lo, hi = bootstrap_ci(per_key[k], n=n_boot, seed=seed)
        metrics[k] = {
            "mean": float(np.mean(per_key[k])),
            "ci95": [lo, hi],
            "higher_is_better": HIGHER_IS_BETTER[k],
        }
    pooled = {k: _finite(v) for k, v in acc.result().items() if k.startswith("pooled_")}
    summary: dict[str, Any] = {
        "dataset": str(dataset_path),
        "dataset_info": info,
        "predictions": str(pred_dir),
        "n_images": len(rows),
        "n_ok": len(rows) - len(failures),
        "n_failed": len(failures),
        "n_rejected_gt": n_rejected,
        "metrics": metrics,
        "pooled": pooled,
        "bootstrap": {"n": n_boot, "seed": seed, "alpha": 0.05, "over": "images (per-image scores)"},
        "conventions": "failed images count with score_failure scores (0; vi = log N); see benchmark.metrics",
        "failures": failures,
        "rejected_gt": rejected,  # the first 20
    }
    _atomic_json(summary, out / "summary.json")
    run_info = {
        "status": "complete",
        "config": {
            "method": name or pred_dir.resolve().name,
            "dataset": info.get("name"),
            "protocol": "external",
        },
        "metric_keys": list(METRIC_KEYS),
        "identity": {"dataset_fingerprint": info.get("fingerprint")},
        "method": {"predictions": str(pred_dir.resolve())},
        "environment": {},
    }
    _atomic_json(run_info, out / "run.json")
    return summary
