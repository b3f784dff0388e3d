"""`bench run --executor ray`: the method in Ray actors, scoring in Ray CPU tasks.

Ray Core actors and tasks (:mod:`textureade.executors` says why not Ray Data):

- :class:`MethodActor`: builds the method once (``build_method``; its weights loaded once per
  actor) and runs :func:`benchmark.evaluate.predict_sample` on the images sent to it. One actor per
  ``num_gpus`` GPUs for a method with weights on a cluster with GPUs; CPU actors (num_gpus=0)
  for weight-free methods, half the cluster's CPUs of them unless ``actors`` says otherwise;
- :func:`score_task`: :func:`benchmark.evaluate.score_predicted` (partition, optional prediction
  files, scores) as a CPU task fed straight from the actor's result;
- the driver (:func:`benchmark.runner.stream_records`) streams the dataset, keeps ``window``
  images in flight (round-robin over the actors) and journals the records in stream order, so
  they are the records of a local run (``time_*`` aside) and a rerun resumes as locally.

The runner hands its own ``predict_sample`` and ``score_predicted`` in (Ray ships them by
reference), so this module never imports :mod:`benchmark.runner`.

A worker process that dies makes Ray re-run its scoring task or restart the actor and retry the
call; each record is journaled once, by the driver. ``--save-predictions`` files are written by
the scoring task, so on a multi-node cluster ``--out`` must be on a shared file system.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.protocol import method_inputs
from benchmark.records import RecordRow, RowContext
from benchmark.registry import MethodSpec
from benchmark.runconfig import RunConfig
from textureade.executors import (
    actor_class,
    actor_count,
    default_num_gpus,
    kill_hook,
    ray_get,
    ray_info,
    ray_init,
    remote_task,
)  # fmt: skip
from textureade.types import Sample


class MethodActor:
    """One built method. A method that cannot be built is kept as the error, which :meth:`ready`
    hands back for the driver to raise (as a local run would), not an actor that died at creation."""

    def __init__(self, spec: MethodSpec, options: dict[str, Any], predict: Callable[..., Any]) -> None:
        from benchmark.registry import build_method

        self.error: BaseException | None = None
        self.predict_sample = predict
        try:
            self.method = build_method(spec, options)
        except Exception as exc:
            self.error = exc

    def ready(self) -> BaseException | None:
        return self.error

    def predict(
        self, sample: Sample, k_given: int | None, descriptions: list[str] | None, timeout: float | None
    ) -> Any:
        """``benchmark.evaluate.predict_sample`` on this actor's method: a ``Predicted``."""
        kill_hook()
        return self.predict_sample(self.method, sample.image, k_given, descriptions, timeout)


def score_task(
    score: Callable[..., RecordRow], predicted: Any, sample: Sample, kwargs: dict[str, Any]
) -> RecordRow:
    """``score(predicted, sample, **kwargs)``: the record of one image (a Ray task body; ``score`` is
    ``benchmark.evaluate.score_predicted``)."""
    kill_hook()
    return score(predicted, sample, **kwargs)


class RayEvaluator:
    """``submit(sample, index=, t_load=, context=, k=, scoring=, timeout=, pred_dir=) -> handle``
    and ``resolve(handle) -> RecordRow``: :func:`benchmark.evaluate.evaluate_sample` split across a
    method actor and a scoring task. ``info``: the cluster facts run.json records; ``window``:
    images in flight."""

    def __init__(
        self, spec: MethodSpec, options: dict[str, Any], config: RunConfig, predict: Callable[..., Any],
        score: Callable[..., RecordRow],
    ) -> None:  # fmt: skip
        ray_init(config.ray_address)  # a no-op after the CLI's own call; here too for direct use
        import ray

        self.info = ray_info(config.ray_address)
        gpus = default_num_gpus(config.num_gpus, bool(spec.weights), self.info)
        n = actor_count(config.actors, gpus, self.info)
        cls = actor_class(MethodActor, num_cpus=1 if gpus == 0 else 0, num_gpus=gpus)
        self.actors = [cls.remote(spec, options, predict) for _ in range(n)]
        self._score_fn = score
        self.info.update(actors=n, num_gpus_per_actor=gpus)
        self._score = remote_task(score_task)
        self.window = 2 * n + max(1, int(self.info["cpus"]))
        for err in ray.get([a.ready.remote() for a in self.actors]):
            if err is not None:
                self.close()
                raise err

    def submit(
        self, sample: Sample, *, index: int, t_load: float, context: RowContext, k: int | None,
        scoring: dict[str, Any], timeout: float | None, pred_dir: Path | None, text: Any = None,
    ) -> Any:  # fmt: skip
        import ray

        k_given, descriptions = method_inputs(context.protocol, sample, k)
        ref = ray.put(sample)
        predicted = self.actors[index % len(self.actors)].predict.remote(ref, k_given, descriptions, timeout)
        kwargs = dict(
            index=index,
            context=context,
            k_given=k_given,
            scoring=scoring,
            pred_dir=pred_dir,
            t_load=t_load,
            text=text,
        )
        return self._score.remote(self._score_fn, predicted, ref, kwargs)

    def resolve(self, handle: Any) -> RecordRow:
        return ray_get(handle)

    def close(self) -> None:
        import ray

        for a in self.actors:
            ray.kill(a)
        self.actors = []
