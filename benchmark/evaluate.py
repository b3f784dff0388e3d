"""One image through a method: predict under a per-image deadline, then score it into a record.

- :func:`predict_sample`: ``method.predict`` with a timeout (SIGALRM in the main thread, an
  elapsed-time check elsewhere); an exception, a timeout or a non-Prediction becomes a one-line
  ``reason`` in a :class:`Predicted`; ``MethodUnavailable`` propagates (the run stops).
- :func:`score_predicted`: the prediction's partition (``benchmark.protocol.prediction_to_partition``,
  saved with ``save_predictions``) scored by ``benchmark.metrics`` (score maps with ``n_pred=K``,
  the Detecture authors' per-sample convention) plus the description metrics; a failed or
  malformed prediction gives a failed record scored as a failure (0).
- :func:`evaluate_sample`: the two in one process (the local executor); the Ray executor runs
  them in an actor and a task (:mod:`benchmark.runner_ray`).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from benchmark.method import MethodUnavailable
from benchmark.predictions import save_prediction
from benchmark.protocol import method_inputs, prediction_to_partition
from benchmark.records import RecordRow, RowContext
from textureade.errors import first_line
from textureade.text_model import TextModelRef, load_text_encoder
from textureade.types import Prediction, Sample


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
class Predicted:
    """What ``predict`` gave for one image: the Prediction, or the one-line ``reason`` it failed
    (an exception, a timeout, not a Prediction); seconds: the time predict took."""

    pred: Prediction | None
    reason: str | None
    seconds: float


def predict_sample(
    method: Any, image: Any, k_given: int | None, descriptions: list[str] | None, timeout: float | None
) -> Predicted:
    """``method.predict`` on one image under the per-image ``timeout``; MethodUnavailable propagates."""
    t0 = time.perf_counter()
    try:
        with deadline(timeout):
            pred = method.predict(image, k_given, descriptions)
        t_pred = time.perf_counter() - t0
        if timeout and t_pred > timeout:
            raise SampleTimeout(f"timeout: predict took {t_pred:.1f} s, over the limit of {timeout:g} s")
        if not isinstance(pred, Prediction):
            raise TypeError(f"predict returned {type(pred).__name__}, not a Prediction")
    except MethodUnavailable:  # it cannot run here at all (e.g. weights that fail to load lazily): stop
        raise
    except Exception as exc:  # the method's fault: recorded, listed, scored as a failure
        return Predicted(None, first_line(exc, with_type=True), time.perf_counter() - t0)
    return Predicted(pred, None, t_pred)


def evaluate_sample(
    method: Any,
    sample: Sample,
    *,
    index: int,
    context: RowContext,
    k: int | None,
    scoring: dict[str, Any],
    timeout: float | None = None,
    pred_dir: Path | None = None,
    t_load: float = 0.0,
    text: TextModelRef | None = None,
) -> RecordRow:
    """Run one image through the method and score it: its record (ok or failed).

    index: the sample's stream position. k: the fixed K or None (see ``method_inputs``).
    scoring: ``score_partition`` options. t_load: seconds the dataset took to yield the sample.
    text: the text model of the description metrics (None: desc_similarity/desc_distinct null).
    """
    k_given, descriptions = method_inputs(context.protocol, sample, k)
    predicted = predict_sample(method, sample.image, k_given, descriptions, timeout)
    return score_predicted(
        predicted, sample, index=index, context=context, k_given=k_given, scoring=scoring, pred_dir=pred_dir,
        t_load=t_load, text=text,
    )  # fmt: skip


def score_predicted(
    predicted: Predicted,
    sample: Sample,
    *,
    index: int,
    context: RowContext,
    k_given: int | None,
    scoring: dict[str, Any],
    pred_dir: Path | None = None,
    t_load: float = 0.0,
    text: TextModelRef | None = None,
) -> RecordRow:
    """The record of one predicted image: partition (saved under ``pred_dir`` when given) and scores;
    a failed prediction, or one that is malformed, gives a failed record scored as a failure.
    Descriptions the method returned are scored against the GT's through the Hungarian matching
    (:mod:`benchmark.metrics.descriptions`; ``text`` loaded once per process)."""
    from benchmark.metrics import partition_stats, score_failure
    from benchmark.metrics.descriptions import score_descriptions

    gt = sample.label_map
    row = partial(
        RecordRow.build, index=index, sample_id=sample.id, base_id=sample.base_id, gt_shape=gt.shape,
        context=context, k_given=k_given,
    )  # fmt: skip
    pred, reason, t_pred = predicted.pred, predicted.reason, predicted.seconds
    if pred is not None:
        t0 = time.perf_counter()
        try:
            partition, info = prediction_to_partition(pred, gt.shape)
            if pred_dir is not None:
                save_prediction(pred_dir, sample.id, partition, pred.descriptions, info.n_channels)
        except Exception as exc:  # a malformed prediction: the method's fault too
            reason, t_pred = first_line(exc, with_type=True), t_pred + time.perf_counter() - t0
    if reason is not None or pred is None:
        timings = {"load": t_load, "predict": t_pred, "score": 0.0}
        return row(status="failed", reason=reason, scores=score_failure(gt, **scoring), timings=timings)
    t1 = time.perf_counter()
    # score maps: the authors' convention over all K channels (dice/dustbin columns filled)
    stats = partition_stats(partition, gt, **scoring, n_pred=info.n_channels)
    encode = None if text is None or not pred.descriptions else load_text_encoder(text).encode
    desc = score_descriptions(
        sample.descriptions, pred.descriptions, stats.assignment, int(stats.scores["n_gt"]), encode
    )
    scores = {**stats.scores, **desc}
    timings = {"load": t_load, "predict": t_pred, "score": time.perf_counter() - t1}
    return row(scores=scores, partition=info, n_desc=info.n_desc, timings=timings, extras=pred.extras)
