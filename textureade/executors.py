"""One executor interface under both jobs (`textureade build`, `bench run`): local or Ray.

Design choice: **Ray Core tasks and actors**, not Ray Data. Both jobs already own their order,
resumption and output (the build's chunk journal, the harness's records journal), and Ray Data
would re-order, re-batch and spill on its own terms; what they need from a cluster is "run this
function somewhere, retry it if its worker dies" (a task) and "load this model once, then call it
many times" (an actor). The driver keeps the journal: it submits work, takes results back **in
input order** (:func:`ordered`), and commits them exactly as the local executor does, so the
output bytes never depend on which executor, how many nodes or which worker ran what.

- :class:`LocalChunks`: the local executor of the build: a chunk's items in this process or in a
  pool of worker processes (``--workers N``), handed back chunk by chunk in input order.
- :func:`ordered`: the one pipelining primitive: ``submit(item) -> handle`` for at most ``window``
  items ahead, ``resolve(handle) -> result`` in input order. :class:`LocalChunks` passes
  ``window=1`` in this process (a plain loop) or 2 with a pool (pool futures); Ray code passes
  ``ray.get``.
- :func:`ray_init` joins ``--ray-address ADDR`` (a running cluster, e.g. ``ray start --head``) or
  starts a local instance (``address=None``); an already initialised Ray (tests) is reused.
- :func:`ray_get`: ``ray.get`` that re-raises a task's own exception (one line for the CLIs).
- :func:`ray_info`: what run.json / manifest.json record (Ray version, address, nodes, CPUs, GPUs).
- :func:`remote_task` / :func:`actor_class`: ``ray.remote`` with the project's fault tolerance:
  a task whose worker process dies is re-run (``max_retries``; the driver commits each result once,
  in order, so a re-run never doubles or loses a chunk or record); an actor whose process dies is
  restarted and its pending calls retried (``max_restarts`` / ``max_task_retries``).
- :func:`kill_hook`: a test hook (``TEXTUREADE_RAY_KILL_DIR``): the first task that finds the file
  ``arm`` there (and no ``fired``) writes ``fired`` and SIGKILLs its own worker process, so tests
  can lose a worker mid-run on a real Ray instance.

The job-specific halves live beside their jobs: :mod:`textureade.pipeline_ray` (build chunks as
CPU tasks, VLM description in actors) and :mod:`benchmark.runner_ray` (the method in actors,
scoring in CPU tasks). Ray is imported inside functions only.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from textureade.errors import UserError, first_line

T = TypeVar("T")
H = TypeVar("H")
R = TypeVar("R")

EXECUTORS = ("local", "ray")
#: a task whose worker process dies is re-run this many times before the job stops
TASK_RETRIES = 3
#: an actor whose process dies is restarted this many times; its pending calls are retried
ACTOR_RESTARTS = 2
KILL_DIR_ENV = "TEXTUREADE_RAY_KILL_DIR"


def check_executor(
    kind: str, ray_address: str | None, actors: int | None = None, num_gpus: float | None = None
) -> str:
    """``kind`` validated, the actor count (>= 1) and GPUs per actor (>= 0) when given, and a
    ``host:port`` Ray address reachable (UserError, one line, otherwise)."""
    if actors is not None and actors < 1:
        raise UserError(f"actors must be >= 1, got {actors}")
    if num_gpus is not None and num_gpus < 0:
        raise UserError(f"num_gpus must be >= 0, got {num_gpus}")
    if kind not in EXECUTORS:
        raise UserError(f"unknown executor {kind!r}; use {' or '.join(EXECUTORS)}")
    if ray_address and kind != "ray":
        raise UserError("--ray-address needs --executor ray")
    if ray_address:  # before any folder is touched: an unreachable head leaves --out as it was
        _probe(ray_address)
    return kind


class LocalChunks:
    """Iterate ``(chunk index, its results in input order)`` over ``todo`` in order, computed here.

    chunks: every chunk's item refs; todo: the indices to compute (ascending); bar: the build's
    progress bar (advanced by one per item as its result is taken); process(ref) -> result: one
    item's work, run where ``init(*init_args)`` has set up the worker state: once in each of
    ``workers`` pool processes, or once in this process when workers <= 1 or ``todo`` is empty.
    fork_safe: the workers may be forked from this process (else they are spawned: a fresh
    interpreter that imports what it needs).

    With a pool, the next chunk's items are submitted before this chunk's results are handed over,
    so the workers keep going while the caller writes shards; at most two chunks are in flight.
    A worker that dies (OOM kill, segfault) raises BrokenProcessPool in the caller instead of
    hanging; the build's journal keeps every finished chunk, so rerunning the command resumes.
    """

    def __init__(
        self,
        chunks: list[list[Any]],
        todo: list[int],
        bar: Any,
        process: Callable[[Any], Any],
        *,
        workers: int,
        init: Callable[..., None],
        init_args: tuple,
        fork_safe: bool,
    ) -> None:
        self.chunks, self.todo, self.bar, self.process = chunks, todo, bar, process
        self.pool: Any = None
        # One OpenCV thread per worker: the build runs one image per process, and OpenCV's own pool
        # only competes with that (and with the writer); restored by close(). Set here, in this
        # process, before any fork: forked workers inherit it. Never call cv2.setNumThreads in a
        # forked worker: when the parent already used OpenCV's pool, the child blocks forever on a
        # lock copied in its held state.
        import cv2

        self._cv_threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            if workers > 1 and todo:
                from concurrent.futures import ProcessPoolExecutor

                fork = fork_safe and "fork" in mp.get_all_start_methods()
                context = mp.get_context("fork" if fork else "spawn")
                self.pool = ProcessPoolExecutor(
                    workers, mp_context=context, initializer=init, initargs=init_args
                )
            else:
                init(*init_args)
        except BaseException:  # no executor for the caller to close(): restore the setting here
            cv2.setNumThreads(self._cv_threads)
            raise

    def __iter__(self) -> Iterator[tuple[int, list[Any]]]:
        if self.pool is None:  # a plain loop: each chunk's items run when it is resolved
            submit, get, window = self.chunks.__getitem__, self.process, 1
        else:  # a chunk's items go to the pool at once; the next chunk's go before this one returns
            submit, get, window = self._submit, Future.result, 2

        def resolve(handles: list[Any]) -> list[Any]:
            results = []
            for handle in handles:
                results.append(get(handle))
                self.bar.update(1)
            return results

        yield from ordered(self.todo, submit, resolve, window)

    def _submit(self, ci: int) -> list[Future]:
        return [self.pool.submit(self.process, ref) for ref in self.chunks[ci]]

    def close(self) -> None:
        """Stop the pool (queued items cancelled, running ones waited for); OpenCV's thread count
        back to what it was."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        import cv2

        cv2.setNumThreads(self._cv_threads)


def ordered(
    items: Iterable[T],
    submit: Callable[[T], H],
    resolve: Callable[[H], R],
    window: int = 1,
) -> Iterator[tuple[T, R]]:
    """``(item, resolve(submit(item)))`` for every item, in input order, with at most ``window``
    submitted and not yet resolved. window=1 is a plain sequential loop."""
    pending: deque[tuple[T, H]] = deque()
    for item in items:
        pending.append((item, submit(item)))
        if len(pending) >= max(1, window):
            first, handle = pending.popleft()
            yield first, resolve(handle)
    while pending:
        first, handle = pending.popleft()
        yield first, resolve(handle)


def ray_init(address: str | None) -> None:
    """Connect to the Ray cluster at ``address``, or start a new local instance (None: never a
    cluster that happens to run on this machine); reuse one already initialised in this process.
    UserError (one line) when Ray is missing or the address cannot be joined. Callers run it before
    they touch ``--out``, so a cluster that cannot be joined leaves no folder behind."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "--executor ray needs Ray: install this project with its ray extra "
            "(pip install -c constraints.txt '.[ray]')"
        ) from None
    if ray.is_initialized():
        return
    options: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address:
        _probe(address)
        options["address"] = address
    else:
        options.update(address="local", include_dashboard=False)
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        hint = (
            "; if its head says 'Token authentication is enabled', set RAY_AUTH_MODE=token and its "
            "token (RAY_AUTH_TOKEN, or ~/.ray/auth_token) here as on every node"
            if address
            else ""
        )
        raise UserError(
            f"cannot join the Ray cluster at {address or 'a new local instance'}: {first_line(exc)}{hint}"
        ) from None


def _probe(address: str, timeout: float = 5.0) -> None:
    """UserError when a ``host:port`` address takes no TCP connection (Ray itself would retry for
    minutes before failing); ``auto`` and ``ray://`` addresses are left to Ray."""
    import socket

    host, sep, port = address.rpartition(":")
    if address == "auto" or "://" in address or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(
            f"cannot reach the Ray head at {address} ({reason}); is `ray start --head` running there?"
        ) from None


def ray_get(handle: Any) -> Any:
    """``ray.get(handle)``, re-raising a task's own exception as itself (a UserError or
    MethodUnavailable stays one line for the CLIs, not Ray's multi-line traceback wrapper)."""
    import ray

    try:
        return ray.get(handle)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, Exception):
            raise cause from None
        raise


def ray_info(address: str | None) -> dict[str, Any]:
    """{"kind": "ray", "ray_version", "address", "nodes", "cpus", "gpus"} of the joined cluster."""
    import ray

    resources = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return {
        "kind": "ray",
        "ray_version": ray.__version__,
        "address": address or "local",
        "nodes": len(nodes),
        "cpus": float(resources.get("CPU", 0.0)),
        "gpus": float(resources.get("GPU", 0.0)),
    }


def remote_task(fn: Callable[..., Any], *, num_cpus: float = 1) -> Any:
    """``fn`` as a Ray task re-run when its worker process dies (exceptions are not retried:
    our task functions record per-item problems themselves and raise only for real faults)."""
    import ray

    return ray.remote(num_cpus=num_cpus, max_retries=TASK_RETRIES, retry_exceptions=False)(fn)


def actor_class(cls: type, *, num_cpus: float, num_gpus: float) -> Any:
    """``cls`` as a Ray actor class: restarted when its process dies, pending calls retried."""
    import ray

    return ray.remote(
        num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=ACTOR_RESTARTS, max_task_retries=TASK_RETRIES
    )(cls)


def actor_count(requested: int | None, num_gpus: float, info: dict[str, Any]) -> int:
    """How many actors: ``requested``, else one per ``num_gpus`` GPUs of the cluster when
    num_gpus > 0, else half the cluster's CPUs (the other half runs the CPU tasks), at least 1."""
    if requested is not None:
        if requested < 1:
            raise UserError(f"actors must be >= 1, got {requested}")
        return requested
    if num_gpus > 0:
        n = int(info["gpus"] // num_gpus)
        if n < 1:
            raise UserError(
                f"the Ray cluster has {info['gpus']:g} GPUs, fewer than num_gpus={num_gpus:g} per actor; "
                "pass num_gpus 0 (CPU) or join a cluster with GPUs"
            )
        return n
    return max(1, int(info["cpus"] // 2))


def default_num_gpus(num_gpus: float | None, needs_model: bool, info: dict[str, Any]) -> float:
    """GPUs per actor: ``num_gpus`` when given, else 1 for a model on a cluster with GPUs, else 0."""
    if num_gpus is not None:
        if num_gpus < 0:
            raise UserError(f"num_gpus must be >= 0, got {num_gpus}")
        return float(num_gpus)
    return 1.0 if needs_model and info["gpus"] >= 1 else 0.0


def kill_hook() -> None:
    """Test hook: SIGKILL this worker process once per armed marker folder (see module doc)."""
    folder = os.environ.get(KILL_DIR_ENV)
    if not folder:
        return
    arm, fired = Path(folder) / "arm", Path(folder) / "fired"
    if not arm.exists():
        return
    try:
        fd = os.open(fired, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # one task wins, once
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.fsync(fd)
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
