"""`bench run`'s configuration: :class:`RunConfig`, resolved once as CLI > YAML > defaults.

``resolve_run_config(cli, yaml_path)`` merges the layers: the dataclass defaults, then the keys of
a ``--config run.yaml`` file, then the command-line values that were given (None = not given).
A YAML file holds any of the field names, e.g.::

    method: texture-kmeans
    dataset: rwtd
    out: results/kmeans-rwtd
    suite: detecture
    options: {n_clusters: 4}
    timeout: 60

The resolved config is saved in run.json (``RunInfo.config``, :meth:`RunConfig.to_json`).
Library callers (tests, the demo) build a RunConfig directly; ``method`` and ``dataset`` may then
also be a ``MethodSpec`` and a ``DatasetHandle``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textureade.errors import UserError

if TYPE_CHECKING:
    from benchmark.datasets import DatasetHandle
    from benchmark.registry import MethodSpec


@dataclass
class RunConfig:
    """Everything `bench run` is told.

    method: a method name (manifests/methods) or MethodSpec. dataset: a dataset name, a folder or
    a DatasetHandle. out: the results folder. protocol/k: explicit choices, else the suite's
    setting for the dataset, else the dataset's defaults. data_path: where a named dataset lives.
    options: overrides of the manifest params. limit: the first N samples. timeout: seconds per
    image for predict. save_predictions: write predictions/<id>.png + .json. progress: a bar.
    verify: check each TextureADE shard against manifest.json as it is opened. skip_bad_shards:
    a damaged shard is a warning and skipped, not a one-line error. strict: a Detecture mask that
    is not binary 0/255 rejects its sample (else thresholded with a warning); see README "Bad input".
    executor: "local" (this process) or "ray" (the method in Ray actors, scoring in Ray tasks; the
    same records). ray_address: a Ray cluster to join (None: start a local instance). num_gpus:
    GPUs per method actor (None: 1 for a method with weights on a cluster with GPUs, else 0).
    actors: how many method actors (None: one per num_gpus GPUs, else half the cluster's CPUs).
    text_model: the text model of the description metrics (a text_models manifest name, hub id or
    folder; None: $TEXTUREADE_TEXT_MODEL, else the default; "none": off; see textureade.text_model).
    """

    method: str | MethodSpec | None = None
    dataset: str | Path | DatasetHandle | None = None
    out: str | Path | None = None
    protocol: str | None = None
    k: int | None = None
    suite: str | None = None
    data_path: str | Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    timeout: float | None = None
    save_predictions: bool = False
    progress: bool = True
    verify: bool = True
    skip_bad_shards: bool = False
    strict: bool = False
    executor: str = "local"
    ray_address: str | None = None
    num_gpus: float | None = None
    actors: int | None = None
    text_model: str | None = None

    def validate(self) -> RunConfig:
        """UserError (one line) for a missing or out-of-range value; returns self."""
        for name in ("method", "dataset", "out"):
            if getattr(self, name) in (None, ""):
                raise UserError(f"no {name} given; pass --{name} or set it in the --config YAML")
        if self.limit is not None and self.limit < 1:  # as textureade build: 0 would be an empty run
            raise UserError(f"--limit must be >= 1, got {self.limit}")
        if self.k is not None and self.k < 1:
            raise UserError(f"--k must be a positive integer, got {self.k}")
        if self.timeout is not None and self.timeout <= 0:
            raise UserError(f"--timeout must be > 0 seconds, got {self.timeout}")
        if not isinstance(self.options, dict):
            raise UserError(f"options must map param names to values, got {self.options!r}")
        from textureade.executors import check_executor

        check_executor(self.executor, self.ray_address, self.actors, self.num_gpus)
        return self

    def to_json(self) -> dict[str, Any]:
        """The resolved config as run.json stores it (a spec or handle by its name)."""
        method, dataset = self.method, self.dataset
        return {
            "method": method if isinstance(method, str) or method is None else method.name,
            "dataset": str(dataset) if isinstance(dataset, str | Path) or dataset is None else dataset.name,
            "out": str(self.out),
            "protocol": self.protocol,
            "k": self.k,
            "suite": self.suite,
            "data_path": None if self.data_path is None else str(self.data_path),
            "options": dict(self.options),
            "limit": self.limit,
            "timeout": self.timeout,
            "save_predictions": self.save_predictions,
            "progress": self.progress,
            "verify": self.verify,
            "skip_bad_shards": self.skip_bad_shards,
            "strict": self.strict,
            "executor": self.executor,
            "ray_address": self.ray_address,
            "num_gpus": self.num_gpus,
            "actors": self.actors,
            "text_model": self.text_model,
        }


def resolve_run_config(cli: dict[str, Any] | None = None, yaml_path: str | Path | None = None) -> RunConfig:
    """Defaults < YAML < CLI (CLI values of None mean unset; :func:`textureade.config.resolve_config`).
    Unknown keys raise UserError. ``options`` given on the command line (``--option key=value``)
    override the YAML's options one by one."""
    from textureade.config import resolve_config

    return resolve_config(RunConfig, cli, yaml_path, "run", merged_dicts=("options",))
