"""`bench score`: score a folder of predicted label maps against a dataset's ground truth.

Predictions: ``<sample id>.png`` label maps (8- or 16-bit single channel; 0 = unassigned; ids
need not be contiguous) and optional ``<sample id>.json`` ``{"descriptions": [...]}`` in region
order, optionally with ``"channels": K``.

Channels: a label map alone does not say how many channels the method produced, so it is scored
over the regions present (our convention). When K is known (``channels=K`` / ``bench score
--channels K`` for every image, else the image's ``"channels"`` in ``<id>.json``, which
`bench run --save-predictions` writes for score maps), labels 1..K are the method's channels and
0 its dustbin and the image is scored with ``n_pred=K``: the Detecture authors' convention
(matching over all K channels, absent ones included; ``dice_matched``, ``dice_panoptic``,
``dustbin_share`` filled; :mod:`benchmark.metrics.detecture`). A label above K fails the image. An id holding path separators is looked up as given, then under the runner's file name
(separators -> ``__``). A missing, unreadable, multi-channel or wrongly sized prediction is a
FAILED record scored with :func:`benchmark.metrics.score_failure` (0 for every higher-is-better
metric), never skipped.

It is `bench run` with the method replaced by the prediction files: the same records journal,
schema and finalisation (:func:`benchmark.runner.stream_records`, :mod:`benchmark.journal`), so
``out_dir`` gets ``records.jsonl`` (flushed per record, fsynced at most once a second; a killed
score resumes), ``records.parquet`` (the RecordRow columns; protocol ``external``, ``n_desc`` from
``<id>.json``, ``time_total`` null as no predict time is known; ``extras``: the pooled-metric sums
of the image and a ``descriptions_note`` when ``<id>.json`` is unusable; ``desc_*`` from
``<id>.json``'s descriptions, :mod:`benchmark.metrics.descriptions`) and a ``run.json`` (RunInfo,
kind ``score``) that ``bench leaderboard`` reads. Plus ``summary.json``, computed from the records
only: per-image means with 95% percentile-bootstrap intervals, pooled dataset-level variants,
counts, failures and GT samples the reader rejected. The dataset is read as `bench run` reads it
(``strict``: a mask that is not binary 0/255 rejects its sample; ``skip_bad_shards``: a damaged
TextureADE shard is left out, listed in run.json). A rerun on the same predictions (same names,
sizes and times) keeps the records already scored; changed predictions are refused (another --out,
or delete it).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.journal import Journal, finalize
from benchmark.protocol import PartitionInfo
from benchmark.provenance import now_utc
from benchmark.records import RecordRow, RowContext, columns, metric_columns, read_records
from benchmark.runinfo import DatasetInfo, Environment, Given, MethodInfo, RunIdentity, RunInfo, jsonable
from benchmark.runner import check_resumable, complete, locked_out, stream_records
from textureade.errors import UserError, first_line
from textureade.fileio import atomic_write_json
from textureade.text_model import TextModelRef, load_text_encoder, locate_text_model
from textureade.types import Sample, ValidationError

PROTOCOL = "external"


class PredictionProblem(Exception):
    """A prediction file that cannot be scored (one-line reason)."""


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
        raise PredictionProblem(f"cannot read prediction {path.name}: {first_line(exc)}") from None
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


def load_sidecar(pred_dir: Path, sample_id: str) -> tuple[list[str] | None, int | None, str | None]:
    """(descriptions, channels K, note) from the optional ``<id>.json``.

    None for what is absent; a note (kept in the record's extras) for what is unusable.
    """
    path = _prediction_path(pred_dir, sample_id, ".json")
    if path is None:
        return None, None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:  # Recursion: too deep
        return None, None, f"unreadable {path.name}: {first_line(exc)}"
    if not isinstance(data, dict):
        return None, None, f"{path.name} has no list of strings under 'descriptions'"
    notes = []
    channels = data.get("channels")
    if channels is not None and (isinstance(channels, bool) or not isinstance(channels, int) or channels < 0):
        notes.append(f"{path.name}: 'channels' must be a count >= 0, got {channels!r}; ignored")
        channels = None
    descs = data.get("descriptions")
    if not isinstance(descs, list) or not all(isinstance(d, str) for d in descs):
        notes.append(f"{path.name} has no list of strings under 'descriptions'")
        descs = None
    return descs, channels, "; ".join(notes) or None


def _pooled_sums(stats: Any) -> dict[str, float]:
    """The sums a PartitionStats adds to the pooled dataset-level metrics (kept in the record)."""
    return {f.name: getattr(stats, f.name) for f in fields(stats) if f.name not in ("scores", "assignment")}


def score_prediction(
    sample: Sample,
    *,
    index: int,
    t_load: float,
    pred_dir: Path,
    context: RowContext,
    scoring: dict[str, Any],
    channels: int | None = None,
    text: TextModelRef | None = None,
) -> RecordRow:
    """The record of one sample's prediction file (ok, or failed with failure scores).

    channels: K for every image (labels 1..K = the method's channels), else the ``"channels"``
    of ``<id>.json``, else unknown (see the module docstring). text: the text model of the
    description metrics (``<id>.json``'s descriptions against the GT's; None: desc_similarity and
    desc_distinct null).
    """
    from benchmark.metrics import partition_stats, score_failure
    from benchmark.metrics.descriptions import score_descriptions

    gt = sample.label_map
    t0 = time.perf_counter()
    descriptions, own_channels, note = load_sidecar(pred_dir, sample.id)
    n_desc = None if descriptions is None else len(descriptions)
    n_pred = channels if channels is not None else own_channels
    try:
        pred = load_prediction(pred_dir, sample.id, gt.shape)
        stats = partition_stats(pred, gt, **scoring, n_pred=n_pred)
        encode = load_text_encoder(text).encode if text is not None and descriptions else None
        n_gt = int(stats.scores["n_gt"])
        desc = score_descriptions(sample.descriptions, descriptions, stats.assignment, n_gt, encode)
        scores, status, reason = {**stats.scores, **desc}, "ok", None
        partition = PartitionInfo(int(pred.shape[0]), int(pred.shape[1]), False, n_desc)
    except (PredictionProblem, ValidationError) as exc:
        scores, status, partition = score_failure(gt, **scoring), "failed", None
        reason = first_line(exc, with_type=True)  # worded as bench run words a failed image
        stats = partition_stats(np.zeros(gt.shape, np.uint8), gt, **scoring)  # its GT mass, for pooling
    extras: dict[str, Any] = {"pooled": _pooled_sums(stats)}
    if note:
        extras["descriptions_note"] = note
    return RecordRow.build(
        index=index, sample_id=sample.id, base_id=sample.base_id, gt_shape=gt.shape, context=context,
        scores=scores, status=status, reason=reason, partition=partition, n_desc=n_desc,
        timings={"load": t_load, "score": time.perf_counter() - t0}, extras=extras,
    )  # fmt: skip


def _predictions_fingerprint(pred_dir: Path) -> str:
    """sha256 of the prediction files' names, sizes and modification times (cheap: no reads)."""
    h = hashlib.sha256()
    for p in sorted(pred_dir.iterdir()):
        if p.suffix in (".png", ".json") and p.is_file():
            st = p.stat()
            # the name as the file system's bytes: a name that is not UTF-8 hashes too (valid names: same bytes)
            h.update(os.fsencode(p.name) + f"\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _finite(x: float) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def summarize_records(records: Path, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Means, bootstrap CIs, pooled variants and failures of a `bench score` records.parquet."""
    from benchmark.leaderboard import metric_stats, with_failure_scores
    from benchmark.metrics import PartitionAccumulator, PartitionStats, higher_is_better

    df = with_failure_scores(read_records(records))  # failed images: Dice 0, dustbin share 1
    acc = PartitionAccumulator()
    for status, extras, *values in df[["status", "extras", *acc.keys]].itertuples(index=False):
        sums = json.loads(extras)["pooled"]
        scores = dict(zip(acc.keys, values))
        if status == "ok":
            acc.add(PartitionStats(scores=scores, **sums))
        else:
            acc.add_failure(scores, PartitionStats(scores={}, **sums))
    metrics = {}
    for key in metric_columns():
        stats = metric_stats(df[key].to_numpy(dtype=float), n_boot=n_boot, seed=seed)
        if stats is None:  # an optional metric nobody computed, or a desc_* metric null everywhere
            continue
        mean, lo, hi = stats
        metrics[key] = {"mean": mean, "ci95": [lo, hi], "higher_is_better": higher_is_better(key)}
    failed = df[df["status"] == "failed"]
    return {
        "n_images": len(df),
        "n_ok": len(df) - len(failed),
        "n_failed": len(failed),
        "metrics": metrics,
        "pooled": {k: _finite(v) for k, v in acc.result().items() if k.startswith("pooled_")},
        "bootstrap": {"n": n_boot, "seed": seed, "alpha": 0.05, "over": "images (per-image scores)"},
        "conventions": "failed images count with score_failure scores (0; vi = log N); see benchmark.metrics",
        "failures": [{"id": i, "reason": r} for i, r in zip(failed["id"], failed["reason"])],
    }


def score_folder(
    dataset_path: str | Path,
    predictions_dir: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    channels: int | None = None,
    text_model: str | None = None,
    strict: bool = False,
    skip_bad_shards: bool = False,
) -> dict[str, Any]:
    """Score ``<id>.png`` predictions against a dataset; write records, summary and run.json.

    channels: K, the number of channels every prediction was made from (the authors' scorer;
    see the module docstring); None: each ``<id>.json``'s ``"channels"``, else unknown.
    text_model: the text model of the description metrics (:mod:`textureade.text_model`; None:
    ``$TEXTUREADE_TEXT_MODEL``, else the default; absent: those metrics null, said in run.json and
    the summary's ``text_model``).

    dataset_path: a Detecture-form folder, a TextureADE parquet folder or a dataset name (what
    ``benchmark.datasets.open_dataset`` accepts); its manifest's ``scoring`` options are passed
    to ``score_partition``. strict / skip_bad_shards: how the dataset's reader meets bad input, as
    in `bench run` (README "Bad input"); what it rejected, warned about or skipped is in run.json.
    Returns the summary dict (also written to ``summary.json``).
    """
    from benchmark.datasets import open_dataset

    pred_dir = Path(predictions_dir)
    if channels is not None and (isinstance(channels, bool) or not isinstance(channels, int) or channels < 1):
        raise UserError(f"--channels must be a positive number of channels, got {channels!r}")
    if not pred_dir.is_dir():
        raise UserError(
            f"predictions folder {pred_dir} does not exist; pass the folder holding <id>.png files"
        )
    handle = open_dataset(str(dataset_path), strict=strict, skip_bad_shards=skip_bad_shards)
    dataset = DatasetInfo.of(handle)
    context = RowContext(method=name or pred_dir.resolve().name, dataset=handle.name, protocol=PROTOCOL)
    identity = RunIdentity(
        method=context.method,
        params={
            "predictions": str(pred_dir.resolve()),
            "files": _predictions_fingerprint(pred_dir),
            **({} if channels is None else {"channels": channels}),
        },
        dataset_fingerprint=dataset.fingerprint,
        protocol=PROTOCOL,
        k=None,
        scoring=jsonable(dict(handle.scoring)),
    )
    t_start = time.perf_counter()
    with locked_out(out_dir) as out:
        journal = Journal(out / "records.jsonl")
        n_done = len(journal)
        run_json = out / "run.json"
        text = locate_text_model(text_model)
        text_json = text.to_json()
        check_resumable(run_json, identity, n_done, text_json)
        config = {"dataset": str(dataset_path), "predictions": str(pred_dir), "out": str(out), "name": name,
                  "n_boot": n_boot, "seed": seed, "channels": channels, "text_model": text_model,
                  "strict": strict, "skip_bad_shards": skip_bad_shards}  # fmt: skip
        info = RunInfo(
            kind="score", status="running", identity=identity, config=jsonable(config), given=Given.of(PROTOCOL, None),
            method=MethodInfo(name=context.method, predictions=str(pred_dir.resolve())), dataset=dataset,
            environment=Environment.here(), columns=list(columns()), metric_keys=list(metric_columns()),
            started=now_utc(), resumed_records=n_done, text_model=text_json,
        )  # fmt: skip
        info.write(run_json)
        scoring = dict(handle.scoring)

        def evaluate(sample: Sample, *, index: int, t_load: float) -> RecordRow:
            return score_prediction(
                sample, index=index, t_load=t_load, pred_dir=pred_dir, context=context, scoring=scoring,
                channels=channels, text=text.ref,
            )  # fmt: skip

        try:
            stream_records(handle, journal, n_done, evaluate)
            done = finalize(journal, out / "records.parquet")
            if not done.rows:
                raise UserError(
                    f"no scorable ground-truth samples in {dataset_path} ({handle.n_rejected} rejected)"
                )
        except BaseException as exc:
            info.status, info.finished, info.error = "stopped", now_utc(), first_line(exc, with_type=True)
            info.write(run_json)
            raise
        summary: dict[str, Any] = {
            "dataset": str(dataset_path),
            "dataset_info": jsonable(dataset.__dict__),
            "predictions": str(pred_dir),
            **summarize_records(out / "records.parquet", n_boot=n_boot, seed=seed),
            "n_rejected_gt": handle.n_rejected,
            "rejected_gt": [{"id": i, "reason": r} for i, r in handle.rejected],  # the first 20
            "text_model": info.text_model,
        }
        atomic_write_json(out / "summary.json", summary)
        complete(info, done, handle, time.perf_counter() - t_start)
        info.write(run_json)
    return summary
