"""A run's provenance: :class:`RunInfo`, written to ``run.json`` and read back typed.

Both `bench run` (``kind="run"``) and `bench score` (``kind="score"``) write one. It says what ran
(:class:`RunIdentity`: what a resumed run must match), with which resolved config, what the method
was given (:class:`Given`: K source, ground-truth descriptions, fixed prompts), the method's
manifest, params and weights (ids, revisions, commits, local content fingerprints), the dataset
(:class:`DatasetInfo`), the environment (git hash, versions, host), the record columns, and how
the run went (status ``running``/``stopped``/``complete``, times, counts, rejected samples).
Leaderboards read it through :meth:`RunInfo.read`; nothing reads run.json as a loose dict.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from textureade.errors import UserError, first_line
from textureade.fileio import atomic_write_json

STATUSES = ("running", "stopped", "complete")


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values (unknown types as their str)."""
    return json.loads(json.dumps(obj, default=str))


@dataclass
class RunIdentity:
    """What a resumed run must match: method, params, dataset fingerprint, protocol, K, scoring."""

    method: str
    params: dict[str, Any]
    dataset_fingerprint: str | None
    protocol: str
    k: int | None
    scoring: dict[str, Any]

    def differences(self, other: RunIdentity) -> list[str]:
        """Names of the fields that differ (in field order)."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def text_model_used(text_model: dict[str, Any] | None) -> str:
    """What a run's description scores depend on, from run.json's ``text_model`` (see
    :attr:`RunInfo.text_model`): ``hub-id@revision``, ``folder sha256:<12 hex>`` for a local folder, or
    ``none`` when no model scored (absent, off, or a run.json from before the text model was recorded).
    A resumed run must use the same (:func:`benchmark.runner.check_resumable`)."""
    if not text_model or text_model.get("status") != "found":
        return "none"
    if text_model.get("model"):
        return f"{text_model['model']}@{text_model.get('revision') or 'main'}"
    return f"folder sha256:{str(text_model.get('sha256'))[:12]}"


@dataclass
class Given:
    """What the method was given for each image.

    k: where the K the method was told came from: ``none`` (autonomous: no K), ``dataset`` (a fixed
    K: the dataset's or the suite's), ``cli`` (a fixed K the run asked for: ``--k``, or ``k:`` in
    its ``--config`` YAML) or ``gt`` (each image's own number of ground-truth regions).
    gt_descriptions: whether the ground-truth descriptions were passed (oracle-k). prompts: fixed
    text prompts the method used (its ``prompts`` param when a list), else empty.
    """

    k: str
    gt_descriptions: bool
    prompts: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls, protocol: str, k: int | None, params: dict[str, Any] | None = None, k_from_run: bool = False
    ) -> Given:
        """What a run of ``protocol`` with ``k`` (None: per-image GT) gave; k_from_run: the run's own
        ``k`` (``--k``) set it."""
        prompts = (params or {}).get("prompts")
        fixed = [str(p) for p in prompts] if isinstance(prompts, list | tuple) else []
        if protocol in ("autonomous", "external"):
            return cls(k="none", gt_descriptions=False, prompts=fixed)
        source = "gt" if k is None else "cli" if k_from_run else "dataset"
        return cls(k=source, gt_descriptions=protocol == "oracle-k", prompts=fixed)


@dataclass
class MethodInfo:
    """The method as it ran: name, manifest (None for `bench score`), resolved params, weights
    (see ``benchmark.provenance.weights_info``), reimplementation flag, and for `bench score` the
    predictions folder scored."""

    name: str
    manifest: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, dict[str, Any]] = field(default_factory=dict)
    reimplementation: bool = False
    predictions: str | None = None


@dataclass
class DatasetInfo:
    """The dataset handle as run (``DatasetHandle.describe()``); fingerprint: its content hash."""

    name: str
    form: str
    path: str | None
    protocol: str
    k: int | None
    scoring: dict[str, Any]
    fingerprint: str | None

    @classmethod
    def of(cls, handle: Any) -> DatasetInfo:
        """From a ``benchmark.datasets.DatasetHandle``; a fingerprint that cannot be computed is
        recorded as ``unavailable: <reason>`` (provenance, not a reason to stop)."""
        try:
            fingerprint = handle.fingerprint
        except Exception as exc:  # noqa: BLE001 - any reader error
            fingerprint = f"unavailable: {first_line(exc)}"
        return cls(
            name=handle.name,
            form=handle.form,
            path=str(handle.path) if handle.path else None,
            protocol=handle.protocol,
            k=handle.k,
            scoring=jsonable(dict(handle.scoring)),
            fingerprint=fingerprint,
        )


@dataclass
class GitInfo:
    """The code that ran: full commit hash and whether tracked files were modified (None: unknown)."""

    hash: str | None
    dirty: bool | None

    @property
    def short(self) -> str:
        """The first 12 hex digits, ``+dirty`` when modified; "" when unknown."""
        return (self.hash or "")[:12] + ("+dirty" if self.dirty else "")


@dataclass
class Environment:
    """Where it ran: git state, package versions (None: not installed) and host."""

    git: GitInfo
    packages: dict[str, str | None]
    host: dict[str, Any]

    @classmethod
    def here(cls) -> Environment:
        from benchmark.provenance import environment

        env = environment()
        return cls(git=GitInfo(**env["git"]), packages=env["packages"], host=env["host"])


@dataclass
class Counts:
    records: int
    ok: int
    failed: int


@dataclass
class Rejected:
    """Samples the dataset reader could not read: how many, and the first 20 [id, reason]."""

    count: int
    first: list[list[str]] = field(default_factory=list)


@dataclass
class RunInfo:
    """run.json. config: the resolved command config (``RunConfig.to_json()`` or the score
    options). columns/metric_keys: the record columns and the metric columns a leaderboard
    summarises. seconds: wall time of the last invocation; resumed_records: records it found."""

    kind: str
    status: str
    identity: RunIdentity
    config: dict[str, Any]
    given: Given
    method: MethodInfo
    dataset: DatasetInfo
    environment: Environment
    columns: list[str]
    metric_keys: list[str]
    started: str
    resumed_records: int = 0
    build_seconds: float | None = None
    finished: str | None = None
    seconds: float | None = None
    counts: Counts | None = None
    rejected_samples: Rejected | None = None
    #: DatasetHandle.reader_report(): samples kept with a warning ({count, by_kind, first,
    #: mask_threshold}) and the shards --skip-bad-shards left out ([[path, reason], ...])
    reader_warnings: dict[str, Any] | None = None
    skipped_shards: list[list[str]] | None = None
    error: str | None = None
    #: where the method ran, on ``executor="ray"``: {kind, ray_version, address, nodes, cpus,
    #: gpus, actors, num_gpus_per_actor} (textureade.executors.ray_info); None for a local run
    executor: dict[str, Any] | None = None
    #: the text model of the description metrics (textureade.text_model.TextModelStatus.to_json):
    #: {status: found|absent|off, choice, note (the line saying what was left out), model, revision,
    #: path, sha256, ...}; None in a run.json written before it existed
    text_model: dict[str, Any] | None = None

    def write(self, path: Path) -> None:
        """Atomically (key-sorted JSON, fsynced)."""
        atomic_write_json(path, jsonable(asdict(self)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunInfo:
        nested = {
            "identity": RunIdentity,
            "given": Given,
            "method": MethodInfo,
            "dataset": DatasetInfo,
            "counts": Counts,
            "rejected_samples": Rejected,
        }
        values = dict(data)
        for key, typ in nested.items():
            if values.get(key) is not None:
                values[key] = typ(**values[key])
        env = dict(values["environment"])
        values["environment"] = Environment(**{**env, "git": GitInfo(**env["git"])})
        info = cls(**values)
        if info.status not in STATUSES:
            raise ValueError(f"status {info.status!r} is not one of {STATUSES}")
        return info

    @classmethod
    def read(cls, path: Path) -> RunInfo:
        """run.json back as a RunInfo; UserError when it is unreadable or of another format."""
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # KeyError/AttributeError: a JSON of another shape ([] or a field missing);
            # RecursionError: nested deeper than the recursion limit
            why = f"no {exc} field" if isinstance(exc, KeyError) else first_line(exc)
            raise UserError(f"cannot read {path} as a run.json of this version: {why}") from None
