"""The runner: stream a dataset through a method, score each image, journal one record per image.

``run(RunConfig(method=..., dataset=..., out=...))`` (:mod:`benchmark.runconfig`) writes into ``out``:
- ``records.jsonl``: the append-only journal (one :class:`RecordRow` line per image, flushed
  before the next image: survives kill -9; fsynced at most every ``SYNC_SECONDS``, so an OS crash
  can lose the last second of records, which a resume re-runs; :mod:`benchmark.journal`);
- ``records.parquet``: the same records under the one records schema, written atomically at the end;
- ``run.json``: a :class:`benchmark.runinfo.RunInfo` (resolved config, what the method was given,
  method manifest, weights ids/revisions/fingerprints, dataset fingerprint, git hash, package
  versions, host, counts);
- ``predictions/<id>.png`` + ``<id>.json`` with ``save_predictions`` (what `bench score` reads).

Executors: ``executor="local"`` runs the method in this process; ``"ray"`` runs it in Ray actors
(one per GPU, the model loaded once per actor; CPU actors for weight-free methods) and scores in
Ray CPU tasks (:mod:`benchmark.runner_ray`); the records are journaled here in stream order
either way, so they are the same records (``time_*`` aside) and resume the same way.

Resuming: run the same command again. Records already in the journal are kept (their samples are
streamed past, and their ids checked against the dataset), the rest are computed, so the final
records equal those of an uninterrupted run except the ``time_*`` columns. A different method,
params, dataset, protocol or K in the same ``out_dir`` is refused. A larger ``limit`` continues
a finished run; a smaller one reports only the first ``limit`` records (the journal keeps the rest).

Scoring: a prediction of score maps ((K + 1) x h x w) is scored with ``n_pred=K``, the Detecture
authors' per-sample convention (matching over all K channels, an empty channel charged IoU 0;
``dice_matched``, ``dice_panoptic`` and ``dustbin_share`` filled); a label map is scored over the
regions present and those three columns stay null (:func:`benchmark.metrics.score_partition`).

Descriptions a method returns are scored too (``desc_similarity``, ``desc_valid``, ``desc_distinct``:
:mod:`benchmark.metrics.descriptions`) with the text model ``RunConfig.text_model`` picks
(:mod:`textureade.text_model`); when it is absent the run goes on without the two that need it and
run.json's ``text_model`` says so.

A method exception, a malformed prediction or a per-image timeout gives a ``failed`` record with
its reason and ``benchmark.metrics.score_failure`` scores (0): failures are listed, never dropped.
``MethodUnavailable`` from ``predict`` (it cannot run here at all, e.g. weights loaded lazily that
fail to load) stops the run instead: run.json says ``stopped`` with the error, records so far stay.
Memory stays flat in the number of images: no list of samples or records is ever held.
:func:`stream_records` (resume check, one record per new sample, journal) and
:func:`benchmark.journal.finalize` are shared with `bench score` (:mod:`benchmark.score`).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from benchmark.datasets import DatasetHandle, open_dataset
from benchmark.evaluate import evaluate_sample, predict_sample, score_predicted
from benchmark.journal import Finalized, Journal, finalize
from benchmark.protocol import check_protocol
from benchmark.provenance import now_utc, spec_dict, weights_info
from benchmark.records import RecordRow, RowContext, columns, metric_columns
from benchmark.registry import MethodSpec, build_method, get_method_spec, resolve_params
from benchmark.runconfig import RunConfig
from benchmark.runinfo import (
    Counts,
    DatasetInfo,
    Environment,
    Given,
    MethodInfo,
    Rejected,
    RunIdentity,
    RunInfo,
    jsonable,
    text_model_used,
)  # fmt: skip
from benchmark.suites import get_suite
from textureade.errors import UserError, first_line
from textureade.executors import ray_init
from textureade.fileio import atomic_write
from textureade.text_model import locate_text_model

__all__ = ["RunConfig", "RunSummary", "evaluate_sample", "run", "stream_records"]


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


def _resolve(config: RunConfig) -> tuple[MethodSpec, DatasetHandle, str, int | None, dict[str, Any]]:
    """The method spec, the dataset handle, the protocol, K and the option overrides a config asks for.

    With a suite: its setting for this dataset and method (protocol, K, options such as fixed
    prompts; :meth:`benchmark.suites.Suite.for_method`), under the config's explicit values.
    """
    method, dataset = config.method, config.dataset
    spec = method if isinstance(method, MethodSpec) else get_method_spec(str(method))
    handle = dataset
    if not isinstance(handle, DatasetHandle):  # the readers' bad-input options travel with the handle
        bad_input = dict(verify=config.verify, skip_bad_shards=config.skip_bad_shards, strict=config.strict)
        handle = open_dataset(dataset, path=config.data_path, **bad_input)
    proto, k, options = handle.protocol, handle.k, dict(config.options)
    if config.suite:
        suite = get_suite(config.suite)
        setting = suite.for_method(handle.name, spec.name)
        proto, k, options = setting.protocol, setting.resolve_k(k), {**setting.options, **config.options}
        if not suite.gt_text and config.protocol == "oracle-k":
            raise UserError(
                f"suite {suite.name!r} never gives the ground-truth descriptions; drop --suite for an oracle-k run"
            )
    if config.protocol:
        proto = check_protocol(config.protocol)
    if config.k is not None:
        k = config.k
    if proto not in spec.protocols:
        raise UserError(
            f"method {spec.name!r} does not support protocol {proto!r}; it supports {', '.join(spec.protocols)}"
        )
    return spec, handle, proto, k, options


@contextmanager
def locked_out(out: str | Path) -> Iterator[Path]:
    """Create the results folder and hold its lock (one writer per folder) for the block."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --out {out}: {exc.strerror}") from None
    fh = open(out / ".lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise UserError(
            f"another bench command is writing to {out}; wait for it or pass another --out"
        ) from None
    try:
        yield out
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def check_resumable(
    run_json: Path, identity: RunIdentity, n_done: int, text_model: dict[str, Any] | None = None
) -> None:
    """UserError when ``n_done`` journaled records belong to another run than ``identity``, or were
    scored with another text model than ``text_model`` (``TextModelStatus.to_json()``; compared as
    :func:`benchmark.runinfo.text_model_used`: the description scores would mix two models)."""
    if not n_done:
        return
    if not run_json.exists():
        raise UserError(
            f"{run_json.parent} has records.jsonl but no run.json; pass another --out or delete it"
        )
    previous = RunInfo.read(run_json)
    diff = previous.identity.differences(identity)
    was, now = text_model_used(previous.text_model), text_model_used(text_model)
    if was != now:
        diff.append(f"text model ({was}; now {now}: pass the same --text-model to resume)")
    if diff:
        raise UserError(
            f"{run_json.parent} holds a run with other {', '.join(diff)}; pass another --out or delete it"
        )


def stream_records(
    handle: DatasetHandle,
    journal: Journal,
    n_done: int,
    evaluate: Callable[..., RecordRow],
    *,
    limit: int | None = None,
    progress: bool = False,
    desc: str = "",
    resolve: Callable[[Any], RecordRow] | None = None,
    window: int = 1,
) -> None:
    """Journal one record per sample of ``handle`` (the first ``limit``), resuming after ``n_done``.

    Samples already journaled are streamed past and their ids checked against the journal's; every
    later one is ``evaluate(sample, index=i, t_load=seconds)`` and appended at once (flushed; fsynced
    at most every ``SYNC_SECONDS``, :mod:`benchmark.journal`).
    With ``resolve`` (another executor, e.g. Ray), ``evaluate`` returns a handle instead and up to
    ``window`` samples are in flight; ``resolve(handle)`` gives the records, appended in stream order.
    """
    from collections import deque

    from tqdm import tqdm

    total = handle.count()
    if limit is not None:
        total = min(limit, total) if total is not None else limit
    done_rows = journal.rows()
    n_failed = 0
    bar = tqdm(total=total, disable=not progress, unit="img", desc=desc, mininterval=0.5)
    in_flight: deque[Any] = deque()

    def count(row: RecordRow) -> None:
        nonlocal n_failed
        n_failed += row.status == "failed"
        bar.update(1)
        if n_failed:
            bar.set_postfix(failed=n_failed, refresh=False)

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
                if row.id != sample.id:
                    raise UserError(
                        f"{journal.path}: record {index} is {row.id!r} but the dataset now yields "
                        f"{sample.id!r}; pass another --out"
                    )
                count(row)
            elif resolve is not None:  # in flight elsewhere; journaled in stream order
                in_flight.append(evaluate(sample, index=index, t_load=t_load))
                if len(in_flight) >= max(1, window):
                    row = resolve(in_flight.popleft())
                    journal.append(row)
                    count(row)
            else:
                row = evaluate(sample, index=index, t_load=t_load)
                journal.append(row)
                count(row)
            index += 1
        while in_flight:
            row = resolve(in_flight.popleft())  # type: ignore[misc]
            journal.append(row)
            count(row)
    finally:
        bar.close()
        journal.close()
        done_rows.close()


def complete(info: RunInfo, done: Finalized, handle: DatasetHandle, seconds: float) -> None:
    """Mark ``info`` complete with the finalised counts and the samples the reader rejected."""
    info.status, info.finished, info.seconds = "complete", now_utc(), seconds
    info.counts = Counts(records=done.rows, ok=done.ok, failed=done.failed)
    info.rejected_samples = Rejected(count=handle.n_rejected, first=[list(r) for r in handle.rejected])
    report = handle.reader_report()  # samples kept with a warning, shards left out (README "Bad input")
    info.reader_warnings, info.skipped_shards = report["reader_warnings"], report["skipped_shards"]


def run(config: RunConfig) -> RunSummary:
    """Run ``config.method`` on ``config.dataset`` into ``config.out`` (resuming a partial run there)."""
    config.validate()
    spec, handle, proto, k, options = _resolve(config)
    params = resolve_params(spec, options)
    identity = RunIdentity(
        method=spec.name, params=jsonable(params), dataset_fingerprint=handle.fingerprint, protocol=proto,
        k=k, scoring=jsonable(handle.scoring),
    )  # fmt: skip
    if config.executor == "ray":  # joined before --out is touched (see textureade.executors.ray_init)
        ray_init(config.ray_address)
    with locked_out(config.out) as out:  # type: ignore[arg-type]
        journal = Journal(out / "records.jsonl")
        n_done = len(journal)
        run_json = out / "run.json"
        text = locate_text_model(config.text_model)
        text_json = text.to_json()
        check_resumable(run_json, identity, n_done, text_json)
        info = RunInfo(
            kind="run", status="running", identity=identity, config=jsonable(config.to_json()),
            given=Given.of(proto, k, params, k_from_run=config.k is not None),
            method=MethodInfo(
                name=spec.name, manifest=jsonable(spec_dict(spec)), params=jsonable(params),
                weights=weights_info(spec, params), reimplementation=bool(spec.provenance.get("reimplementation")),
            ),
            dataset=DatasetInfo.of(handle), environment=Environment.here(), columns=list(columns()),
            metric_keys=list(metric_columns()), started=now_utc(), resumed_records=n_done,
            text_model=text_json,
        )  # fmt: skip
        previous_run_json = run_json.read_bytes() if run_json.exists() else None
        info.write(run_json)
        t_start = time.perf_counter()
        try:
            if config.executor == "ray":  # the method in Ray actors, model loaded once per actor
                from benchmark.runner_ray import RayEvaluator

                method = RayEvaluator(spec, options, config, predict_sample, score_predicted)
                info.executor = method.info
            else:
                method = build_method(spec, options)
        except BaseException:
            # refused (no weights, bad option) or interrupted before any sample ran: leave --out as
            # it was, not a run.json claiming a run that is "running" forever
            if previous_run_json is None:
                run_json.unlink(missing_ok=True)
            else:
                atomic_write(run_json, previous_run_json)
            raise
        info.build_seconds = time.perf_counter() - t_start
        pred_dir = out / "predictions" if config.save_predictions else None
        if pred_dir is not None:
            pred_dir.mkdir(exist_ok=True)
            for stale in pred_dir.glob(".*.tmp-*"):  # a temp file a killed run left mid-write
                stale.unlink()
        context = RowContext(method=spec.name, dataset=handle.name, protocol=proto)
        on_ray = config.executor == "ray"
        evaluate = partial(
            method.submit if on_ray else partial(evaluate_sample, method), context=context, k=k,
            scoring=handle.scoring, timeout=config.timeout, pred_dir=pred_dir, text=text.ref,
        )  # fmt: skip
        try:
            stream_records(handle, journal, n_done, evaluate, limit=config.limit, progress=config.progress,
                           desc=f"{spec.name} on {handle.name}", resolve=method.resolve if on_ray else None,
                           window=method.window if on_ray else 1)  # fmt: skip
        except BaseException as exc:  # stopped (MethodUnavailable, Ctrl-C): records so far stay resumable
            info.status, info.finished, info.error = "stopped", now_utc(), first_line(exc, with_type=True)
            info.write(run_json)
            raise
        finally:
            if on_ray:
                method.close()
        done = finalize(journal, out / "records.parquet", config.limit)
        complete(info, done, handle, time.perf_counter() - t_start)
        info.write(run_json)
    return RunSummary(
        out_dir=out, method=spec.name, dataset=handle.name, protocol=proto, k=k, n_records=done.rows,
        n_ok=done.ok, n_failed=done.failed, n_resumed=n_done, seconds=info.seconds or 0.0,
        failures=done.failures, n_rejected=handle.n_rejected,
    )  # fmt: skip
