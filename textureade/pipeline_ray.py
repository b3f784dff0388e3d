"""`textureade build --executor ray`: chunks as Ray CPU tasks, VLM description in Ray actors.

Ray Core tasks and actors (:mod:`textureade.executors` says why not Ray Data). The driver
(:func:`textureade.pipeline.build`) keeps everything that decides the output: the chunking, the
journal, the shard writes and their order. This module only moves the per-chunk work:

- one **CPU task per chunk** (:func:`chunk_task` running :func:`textureade.pipeline.process_chunk`):
  read, select, mine and, with the offline describer, describe each item of the chunk, exactly as
  a local worker process does (state set up once per worker process and config);
- with the VLM describer, the mined chunk goes from the task to a **describer actor**
  (:class:`DescriberActor`: ``num_gpus`` each, the model loaded once per actor), which describes
  the pending items of ``describe_chunks`` chunks in one ``describe_pending`` call (one chunk per
  call = the local executor's batches; more = fuller generate batches across chunks);
- the driver takes results back **in chunk order** (:func:`textureade.executors.ordered`) and
  commits them through the journal as the local executor does, so the output bytes are the same.

The pipeline hands its own functions in (``process_chunk``, ``make_describer``, ``describe``;
Ray ships them by reference), so this module never imports :mod:`textureade.pipeline`.

A worker process that dies mid-chunk (OOM kill, node loss) makes Ray re-run the chunk's task
(``max_retries``); the driver commits each chunk once, so it is neither lost nor doubled. A killed
driver loses only the chunks not yet journaled; the same command resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textureade.config import BuildConfig
from textureade.executors import (
    actor_class,
    actor_count,
    default_num_gpus,
    kill_hook,
    ordered,
    ray_get,
    ray_info,
    ray_init,
    remote_task,
)  # fmt: skip
from textureade.mining.item import ItemResult


def chunk_task(
    process: Callable[..., list[ItemResult]], config: BuildConfig, refs: list[Any]
) -> list[ItemResult]:
    """``process(config, refs)``: read, select, mine (and offline-describe) one chunk (a Ray task body)."""
    kill_hook()
    return process(config, refs)


class DescriberActor:
    """Holds one loaded VLM describer; describes the pending items of whole chunks.

    A model that cannot load is kept as the error and handed back by :meth:`ready` (the driver
    raises it as the local executor would), not left as an actor that died at creation."""

    def __init__(
        self, config: BuildConfig, make_describer: Callable[[BuildConfig], Any], describe: Callable
    ) -> None:
        self.error: BaseException | None = None
        self.describe_pending = describe
        try:
            self.describer = make_describer(config)
            if hasattr(self.describer, "load"):
                self.describer.load()
        except Exception as exc:
            self.error = exc

    def ready(self) -> BaseException | None:
        return self.error

    def describe(self, *chunks: list[ItemResult]) -> list[list[ItemResult]]:
        """Each chunk's results with every pending item described (one batched call for all)."""
        kill_hook()
        flat = [r for chunk in chunks for r in chunk]
        done = (
            self.describe_pending(flat, self.describer) if any(r.pending is not None for r in flat) else flat
        )
        out, start = [], 0
        for chunk in chunks:
            out.append(done[start : start + len(chunk)])
            start += len(chunk)
        return out

    def stats(self) -> dict[str, int]:
        return dict(getattr(self.describer, "stats", None) or {})


class RayChunks:
    """Iterate ``(chunk index, described results)`` over ``todo`` in order, computed on Ray.

    chunks: every chunk's item refs; todo: the indices to compute (ascending); bar: the build's
    progress bar (advanced by a chunk's items when its results arrive). process_chunk(config, refs),
    make_describer(config) and describe(results, describer): the pipeline's own functions. ``info``: what
    manifest.json records (Ray version, address, nodes, CPUs, GPUs, actors, GPUs per actor);
    ``stats``: the describer actors' summed counters after the iteration."""

    def __init__(
        self, config: BuildConfig, chunks: list[list[Any]], todo: list[int], bar: Any,
        process_chunk: Callable[..., list[ItemResult]], make_describer: Callable, describe: Callable,
    ) -> None:  # fmt: skip
        ray_init(config.ray_address)  # a no-op after the CLI's own call; here too for direct use
        import ray

        self.config, self.chunks, self.todo, self.bar = config, chunks, todo, bar
        self.info = ray_info(config.ray_address)
        self.actors: list[Any] = []
        self.stats: dict[str, int] = {}
        self._task = remote_task(chunk_task)
        self._process = process_chunk
        self._config_ref = ray.put(config)
        if config.describer == "vlm":
            gpus = default_num_gpus(config.num_gpus, True, self.info)
            n = actor_count(config.actors, gpus, self.info)
            cls = actor_class(DescriberActor, num_cpus=1 if gpus == 0 else 0, num_gpus=gpus)
            self.actors = [
                cls.remote(config, make_describer, describe) for _ in range(n)
            ]  # by value: restartable
            self.info.update(actors=n, num_gpus_per_actor=gpus, describe_chunks=config.describe_chunks)
            for err in ray.get([a.ready.remote() for a in self.actors]):
                if err is not None:  # the model cannot load: one error before any work
                    self.close()
                    raise err

    def _submit(self, group: tuple[int, list[int]]) -> Any:
        gi, indices = group
        refs = [self._task.remote(self._process, self._config_ref, self.chunks[ci]) for ci in indices]
        if not self.actors:
            return refs
        return self.actors[gi % len(self.actors)].describe.remote(*refs)

    def _resolve(self, handle: Any) -> list[list[ItemResult]]:
        return ray_get(handle)

    def __iter__(self):
        per_call = self.config.describe_chunks if self.actors else 1
        groups = [self.todo[i : i + per_call] for i in range(0, len(self.todo), per_call)]
        window = max(2, int(self.info["cpus"]) + len(self.actors))  # every CPU busy, a little queued
        for (_, indices), chunk_results in ordered(enumerate(groups), self._submit, self._resolve, window):
            for ci, results in zip(indices, chunk_results):
                self.bar.update(len(results))
                yield ci, results

    def close(self) -> None:
        """Sum the actors' describer counters into ``stats`` and release the actors."""
        import ray

        if not self.actors:
            return
        try:
            for st in ray.get([a.stats.remote() for a in self.actors]):
                for key, value in st.items():
                    self.stats[key] = self.stats.get(key, 0) + int(value)
        except Exception:  # an actor lost during a failing build: counters are a report, not output
            pass
        for a in self.actors:
            ray.kill(a)
        self.actors = []
