"""The runner: stream a dataset through a method, score each image, journal one record per image.

``run(method, dataset, out_dir, protocol, options, limit)`` writes into ``out_dir``:
- ``records.jsonl``: the append-only journal (one fsynced line per image; survives kill -9);
- ``records.parquet``: the same records, written atomically when the run ends;
- ``run.json``: resolved config, method manifest, weights ids/revisions, dataset fingerprint, git
  hash, package versions, host, counts;
- ``predictions/<id>.png`` + ``<id>.json`` with ``save_predictions`` (what `bench score` reads).

Resuming: run the same command again. Records already in the journal are kept (their samples are
streamed past, and their ids checked against the dataset), the rest are computed, so the final
records equal those of an uninterrupted run except the ``time_*`` columns. A different method,
params, dataset, protocol or K in the same ``out_dir`` is refused. A larger ``limit`` continues
a finished run; a smaller one reports only the first ``limit`` records (the journal keeps the rest).

A method exception, a malformed prediction or a per-image timeout gives a ``failed`` record with
its reason and ``benchmark.metrics.score_failure`` scores (0): failures are listed, never dropped.
``MethodUnavailable`` from ``predict`` (it cannot run here at all, e.g. weights loaded lazily that
fail to load) stops the run instead: run.json says ``stopped`` with the error, records so far stay.
Memory stays flat in the number of images: no list of samples or records is ever held.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmark.datasets import DatasetHandle, open_dataset
from benchmark.journal import Journal, finalize, fsync_dir
from benchmark.method import MethodUnavailable
from benchmark.predictions import save_prediction
from benchmark.protocol import check_protocol, method_inputs, prediction_to_partition
from benchmark.provenance import environment, now_utc, spec_dict, weights_info
from benchmark.registry import MethodSpec, build_method, get_method_spec, resolve_params
from benchmark.suites import get_suite
from textureade.errors import UserError
from textureade.types import Prediction, Record, Sample

BASE_COLUMNS = [
    "index", "id", "base_id", "status", "reason", "method", "dataset", "protocol",
    "k_given", "n_gt", "n_pred", "n_desc", "height", "width", "pred_height", "pred_width", "resized",
]  # fmt: skip
TIME_COLUMNS = ["time_load", "time_predict", "time_score", "time_total"]
IDENTITY_KEYS = ("method", "params", "dataset_fingerprint", "protocol", "k", "scoring")


class SampleTimeout(Exception):
    """predict() ran past the per-image timeout."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise SampleTimeout inside the block after ``seconds`` (SIGALRM; main thread only).

    Elsewhere the block runs to completion and the caller checks the elapsed time afterwards.
    """
    armed = bool(seconds) and threading.current_thread() is threading.main_thread()
    if not armed:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise SampleTimeout(f"timeout: predict ran longer than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class RunSummary:
    """What a run did. failures: the first 20 (id, reason) pairs; every failure is in the records."""

    out_dir: Path
    method: str
    dataset: str
    protocol: str
    k: int | None
    n_records: int
    n_ok: int
    n_failed: int
    n_resumed: int
    seconds: float
    failures: list[tuple[str, str]] = field(default_factory=list)
    n_rejected: int = 0  # samples the dataset reader could not read (not in the records; see run.json)

    @property
    def records_path(self) -> Path:
        return self.out_dir / "records.parquet"


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()[:500]


def evaluate_sample(
    method: Any,
    sample: Sample,
    *,
    protocol: str,
    k: int | None,
    scoring: dict[str, Any],
    timeout: float | None = None,
    pred_dir: Path | None = None,
) -> tuple[Record, dict[str, Any]]:
    """Run one image through the method and score it: (Record, extra record columns)."""
    from benchmark.metrics import COUNT_KEYS, score_failure, score_partition

    def split(scores: dict[str, Any]) -> dict[str, float]:  # region counts go to their own columns
        cols.update({key: int(scores.pop(key)) for key in COUNT_KEYS if key in scores})
        return {key: float(v) for key, v in scores.items()}

    gt = sample.label_map
    k_given, descriptions = method_inputs(protocol, sample, k)
    cols: dict[str, Any] = {"k_given": k_given, "height": int(gt.shape[0]), "width": int(gt.shape[1])}
    t0 = time.perf_counter()
    try:
        with deadline(timeout):
            pred = method.predict(sample.image, k_given, descriptions)
        t_pred = time.perf_counter() - t0
        if timeout and t_pred > timeout:
            raise SampleTimeout(f"timeout: predict took {t_pred:.1f} s, over the limit of {timeout:g} s")
        if not isinstance(pred, Prediction):
            raise TypeError(f"predict returned {type(pred).__name__}, not a Prediction")
        partition, info = prediction_to_partition(pred, gt.shape)
        if pred_dir is not None:
            save_prediction(pred_dir, sample.id, partition, pred.descriptions)
    except MethodUnavailable:  # it cannot run here at all (e.g. weights that fail to load lazily): stop
        raise
    except Exception as exc:  # the method's fault: recorded, listed, scored as a failure
        t_pred = time.perf_counter() - t0
        scores = split(dict(score_failure(gt)))
        rec = Record(sample.id, "failed", one_line(exc), scores, {"predict": t_pred, "score": 0.0})
        return rec, cols
    t1 = time.perf_counter()
    scores = split(dict(score_partition(partition, gt, **scoring)))
    t_score = time.perf_counter() - t1
    cols.update(asdict(info))
    extras = dict(pred.extras or {})
    return Record(sample.id, "ok", None, scores, {"predict": t_pred, "score": t_score}, extras), cols


def _resolve(
    method: str | MethodSpec,
    dataset: str | Path | DatasetHandle,
    protocol: str | None,
    k: int | None,
    suite: str | None,
    data_path: str | Path | None,
) -> tuple[MethodSpec, DatasetHandle, str, int | None]:
    spec = method if isinstance(method, MethodSpec) else get_method_spec(method)
    handle = dataset if isinstance(dataset, DatasetHandle) else open_dataset(dataset, path=data_path)
    proto, kk = handle.protocol, handle.k
    if suite:
        proto, suite_k = get_suite(suite).setting(handle.name)
        kk = suite_k if suite_k is not None else kk
    if protocol:
        proto = check_protocol(protocol)
    if k is not None:
        if k < 1:
            raise UserError(f"--k must be a positive integer, got {k}")
        kk = k
    if proto not in spec.protocols:
        raise UserError(
            f"method {spec.name!r} does not support protocol {proto!r}; it supports {', '.join(spec.protocols)}"
        )
    return spec, handle, proto, kk


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    fsync_dir(path.parent)


@contextmanager
def _lock(out_dir: Path) -> Iterator[None]:
    fh = open(out_dir / ".lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise UserError(
            f"another bench run is writing to {out_dir}; wait for it or pass another --out"
        ) from None
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def run(
    method_name: str | MethodSpec,
    dataset: str | Path | DatasetHandle,
    out_dir: str | Path,
    protocol: str | None = None,
    options: dict[str, Any] | None = None,
    limit: int | None = None,
    *,
    k: int | None = None,
    suite: str | None = None,
    data_path: str | Path | None = None,
    timeout: float | None = None,
    save_predictions: bool = False,
    progress: bool = True,
) -> RunSummary:
    """Run ``method_name`` on ``dataset`` into ``out_dir`` (resuming a partial run there).

    protocol/k: explicit choices; else the suite's setting for the dataset; else the dataset's
    defaults. options: ``--option`` overrides of the manifest params. limit: the first N samples.
    timeout: seconds per image for predict (a slower image is a failed record).
    """
    from benchmark.metrics import METRIC_KEYS

    if limit is not None and limit < 0:
        raise UserError(f"--limit must be >= 0, got {limit}")
    spec, handle, proto, kk = _resolve(method_name, dataset, protocol, k, suite, data_path)
    options = dict(options or {})
    params = resolve_params(spec, options)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --out {out}: {exc.strerror}") from None
    identity = {
        "method": spec.name,
        "params": _jsonable(params),
        "dataset_fingerprint": handle.fingerprint,
        "protocol": proto,
        "k": kk,
        "scoring": _jsonable(handle.scoring),
    }
    columns = BASE_COLUMNS + list(METRIC_KEYS) + TIME_COLUMNS + ["extras"]
    with _lock(out):
        journal = Journal(out / "records.jsonl")
        n_done = journal.recover()
        run_json = out / "run.json"
        if n_done and run_json.exists():
            previous = json.loads(run_json.read_text()).get("identity", {})
            diff = [key for key in IDENTITY_KEYS if previous.get(key) != identity[key]]
            if diff:
                raise UserError(
                    f"{out} holds a run with other {', '.join(diff)}; pass another --out or delete it"
                )
        elif n_done:
            raise UserError(f"{out} has records.jsonl but no run.json; pass another --out or delete it")
        info: dict[str, Any] = {
            "identity": identity,
            "config": {
                "method": spec.name, "dataset": handle.name, "dataset_path": str(handle.path.resolve()) if handle.path else None,
                "protocol": proto, "k": kk, "suite": suite, "options": _jsonable(options),
                "limit": limit, "timeout": timeout, "save_predictions": save_predictions,
            },
            "method": {
                "manifest": _jsonable(spec_dict(spec)),
                "params": _jsonable(params),
                "weights": weights_info(spec, params),
                "reimplementation": bool(spec.provenance.get("reimplementation", False)),
            },
            "dataset": handle.describe(),
            "environment": environment(),
            "columns": columns,
            "metric_keys": list(METRIC_KEYS),
            "status": "running",
            "started": now_utc(),
            "resumed_records": n_done,
        }  # fmt: skip
        previous_run_json = run_json.read_text() if run_json.exists() else None
        _write_json(run_json, info)
        t_start = time.perf_counter()
        t_build = time.perf_counter()
        try:
            method = build_method(spec, options)
        except BaseException:
            # refused (no weights, bad option) or interrupted before any sample ran: leave --out as
            # it was, not a run.json claiming a run that is "running" forever
            if previous_run_json is None:
                run_json.unlink(missing_ok=True)
            else:
                run_json.write_text(previous_run_json)
            raise
        info["build_seconds"] = time.perf_counter() - t_build
        pred_dir = out / "predictions" if save_predictions else None
        if pred_dir is not None:
            pred_dir.mkdir(exist_ok=True)
        try:
            _loop(method, handle, journal, n_done, proto, kk, limit, timeout, pred_dir, progress, spec.name)
        except BaseException as exc:  # stopped (MethodUnavailable, Ctrl-C): records so far stay resumable
            info.update(status="stopped", finished=now_utc(), error=one_line(exc) or type(exc).__name__)
            _write_json(run_json, info)
            raise
        stats = finalize(journal.path, out / "records.parquet", columns, limit)
        info.update(
            status="complete",
            finished=now_utc(),
            seconds=time.perf_counter() - t_start,
            counts={"records": stats["rows"], "ok": stats["ok"], "failed": stats["failed"]},
            rejected_samples={"count": handle.n_rejected, "first": handle.rejected},
        )
        _write_json(run_json, info)
    return RunSummary(
        out_dir=out, method=spec.name, dataset=handle.name, protocol=proto, k=kk,
        n_records=stats["rows"], n_ok=stats["ok"], n_failed=stats["failed"], n_resumed=n_done,
        seconds=info["seconds"], failures=[(str(i), str(r)) for i, r in stats["failures"]],
        n_rejected=handle.n_rejected,
    )  # fmt: skip


def _loop(
    method: Any,
    handle: DatasetHandle,
    journal: Journal,
    n_done: int,
    protocol: str,
    k: int | None,
    limit: int | None,
    timeout: float | None,
    pred_dir: Path | None,
    progress: bool,
    method_name: str,
) -> None:
    from tqdm import tqdm

    total = handle.count()
    if limit is not None:
        total = min(limit, total) if total is not None else limit
    done_rows = journal.iter_rows()
    n_failed = 0
    bar = tqdm(
        total=total, disable=not progress, unit="img", desc=f"{method_name} on {handle.name}", mininterval=0.5
    )
    try:
        samples = handle.iter_samples(limit)
        index = 0
        while True:
            t_load = time.perf_counter()
            try:
                sample = next(samples)
            except StopIteration:
                break
            t_load = time.perf_counter() - t_load
            if index < n_done:  # already journaled: check it is the same sample, then skip
                row = next(done_rows)
                if row.get("id") != sample.id:
                    raise UserError(
                        f"{journal.path}: record {index} is {row.get('id')!r} but the dataset now yields "
                        f"{sample.id!r}; pass another --out"
                    )
                n_failed += row.get("status") == "failed"
            else:
                record, cols = evaluate_sample(
                    method,
                    sample,
                    protocol=protocol,
                    k=k,
                    scoring=handle.scoring,
                    timeout=timeout,
                    pred_dir=pred_dir,
                )
                record.timings = {"load": t_load, **record.timings}
                record.timings["total"] = sum(record.timings.values())
                row = record.to_row()
                row.update(cols)
                row.update(index=index, base_id=sample.base_id, method=method_name, dataset=handle.name)
                row.update(protocol=protocol, extras=json.dumps(record.extras, default=str, sort_keys=True))
                journal.append(row)
                n_failed += record.status == "failed"
            index += 1
            bar.update(1)
            if n_failed:
                bar.set_postfix(failed=n_failed, refresh=False)
    finally:
        bar.close()
        journal.close()
        done_rows.close()
