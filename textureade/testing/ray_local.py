"""A small real local Ray instance for tests and benchmarks (no mock), and its kill hook folder.

``with local_ray(num_cpus=2, kill_dir=DIR) as address:`` starts Ray in this process with modest
resources (no dashboard, a small object store, worker logs kept out of the test output) and shuts
it down after. ``kill_dir`` is exported as ``TEXTUREADE_RAY_KILL_DIR`` before Ray starts, so every
worker inherits it: creating ``DIR/arm`` makes the next task or actor call that reaches
:func:`textureade.executors.kill_hook` SIGKILL its own worker process, once (it writes
``DIR/fired``). ``address`` is the instance's GCS address, which a subprocess joins with
``--ray-address``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from textureade.executors import KILL_DIR_ENV

OBJECT_STORE_BYTES = 128 * 1024 * 1024


@contextmanager
def local_ray(num_cpus: int = 2, kill_dir: str | Path | None = None) -> Iterator[str]:
    import ray

    before = os.environ.get(KILL_DIR_ENV)
    if kill_dir is not None:
        os.environ[KILL_DIR_ENV] = str(kill_dir)
    ray.init(
        address="local",  # a new instance, whatever cluster runs on this machine
        num_cpus=num_cpus,
        num_gpus=0,
        include_dashboard=False,
        object_store_memory=OBJECT_STORE_BYTES,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if before is None:
            os.environ.pop(KILL_DIR_ENV, None)
        else:
            os.environ[KILL_DIR_ENV] = before
