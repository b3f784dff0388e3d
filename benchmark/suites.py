"""Suites: one table's fixed settings: per dataset (and per method family) what every method is given.

A suite is a manifest (``suites/<name>.yaml`` in the manifest roots, see
:mod:`textureade.manifests`) so that a table is comparable across methods::

    name: detecture
    description: the paper's table
    gt_text: false         # no run under this suite is given the GT descriptions (default: true)
    methods: [detecture, sam3]   # optional: the methods the table lists (empty = any)
    datasets:
      rwtd:
        protocol: oracle-k-blind
        k: 2               # a fixed K; "gt": each image's own number of GT regions; absent: the dataset's rule
        methods:           # optional: one method family's own inputs on this dataset
          sam3:
            options: {mode: inverse, prompts: [texture]}   # manifest params: fixed prompts, modes
            note: the authors' steelman/eval_sam3_vanilla_inverse.py
      ade20k-detecture:
        protocol: autonomous
        methods:
          sam3: {protocol: oracle-k-blind, k: gt, options: {mode: proposal}}

A method not named under a dataset's ``methods`` gets the dataset's protocol and K and its own
manifest defaults. ``bench run --suite NAME`` takes all of it from the suite (explicit
``--protocol``/``--k``/``--option`` still win; under ``gt_text: false`` a ``--protocol oracle-k``
is refused, so a run labelled with such a suite never saw GT text). What the method was given is
recorded in run.json (``given``: K source, GT descriptions, the fixed prompts of its ``prompts``
option; the resolved options in ``method.params``). ``make demo`` runs the ``demo`` suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.protocol import check_protocol
from textureade.errors import UserError

_DATASET_KEYS = {"protocol", "k", "methods", "note"}
_METHOD_KEYS = {"protocol", "k", "options", "note"}


@dataclass(frozen=True)
class SuiteSetting:
    """What one method is given on one dataset of a suite.

    protocol: oracle-k | oracle-k-blind | autonomous. k: a fixed K (int), ``"gt"`` (each image's own
    number of GT regions) or None (the dataset's own rule: its manifest's K, else the GT's).
    options: manifest params the suite sets for this method (fixed prompts, modes). note: why.
    """

    protocol: str
    k: int | str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def resolve_k(self, dataset_k: int | None) -> int | None:
        """The K the runner uses: the fixed K, None for per-image GT, or ``dataset_k``."""
        if self.k == "gt":
            return None
        return dataset_k if self.k is None else int(self.k)


def _check_k(where: str, k: Any) -> None:
    if k is None or k == "gt":
        return
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserError(f"{where}: k must be a positive integer or 'gt', got {k!r}")


@dataclass
class Suite:
    """A named table: ``datasets`` maps a dataset name to ``{protocol, k, methods, note}``.

    gt_text: False when no setting of the suite gives the ground-truth descriptions (no
    ``oracle-k`` anywhere; the runner refuses ``--protocol oracle-k`` with it). source: where the
    regime comes from. manifest: the YAML file it was read from (set by the loader).
    """

    name: str
    datasets: dict[str, dict[str, Any]]
    description: str = ""
    methods: list[str] = field(default_factory=list)
    gt_text: bool = True
    source: str = ""
    manifest: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.datasets, dict) or not self.datasets:
            raise UserError(f"{self.manifest}: a suite needs datasets: {{name: {{protocol: ...}}}}")
        for ds, entry in self.datasets.items():
            where = f"{self.manifest}: dataset {ds!r}"
            if not isinstance(entry, dict) or "protocol" not in entry:
                raise UserError(f"{where} needs {{protocol: ...}}")
            unknown = set(entry) - _DATASET_KEYS
            if unknown:
                raise UserError(f"{where} has unknown keys {sorted(unknown)}")
            methods = entry.get("methods") or {}
            if not isinstance(methods, dict):
                raise UserError(f"{where}: methods must map a method name to {{protocol, k, options, note}}")
            self._check_setting(where, entry)
            for name, m in methods.items():
                mwhere = f"{where}, method {name!r}"
                if not isinstance(m, dict):
                    raise UserError(f"{mwhere}: expected {{protocol, k, options, note}}, got {m!r}")
                unknown = set(m) - _METHOD_KEYS
                if unknown:
                    raise UserError(f"{mwhere} has unknown keys {sorted(unknown)}")
                if not isinstance(m.get("options") or {}, dict):
                    raise UserError(f"{mwhere}: options must map param names to values")
                self._check_setting(mwhere, {"protocol": entry["protocol"], **m})

    def _check_setting(self, where: str, entry: dict[str, Any]) -> None:
        check_protocol(entry["protocol"])
        _check_k(where, entry.get("k"))
        if not self.gt_text and entry["protocol"] == "oracle-k":
            raise UserError(
                f"{where}: protocol oracle-k gives GT text, which this suite (gt_text: false) never does"
            )

    def for_method(self, dataset: str, method: str) -> SuiteSetting:
        """What ``method`` is given on ``dataset``; UserError when the suite does not cover it."""
        entry = self._entry(dataset)
        own = (entry.get("methods") or {}).get(method) or {}
        return SuiteSetting(
            protocol=own.get("protocol", entry["protocol"]),
            k=own["k"] if "k" in own else entry.get("k"),
            options=dict(own.get("options") or {}),
            note=str(own.get("note") or entry.get("note") or ""),
        )

    def setting(self, dataset: str) -> tuple[str, int | None]:
        """(protocol, fixed K or None) of ``dataset`` for a method the suite does not name."""
        s = self.for_method(dataset, "")
        return s.protocol, s.k if isinstance(s.k, int) else None

    def _entry(self, dataset: str) -> dict[str, Any]:
        if dataset not in self.datasets:
            raise UserError(
                f"suite {self.name!r} does not cover dataset {dataset!r}; it covers {', '.join(self.datasets)}"
            )
        return self.datasets[dataset]


def load_suites(folder: Path | None = None) -> dict[str, Suite]:
    """Every suite manifest by name, sorted (``folder``: one manifests root only, else all roots)."""
    from benchmark.registry import load_manifest_folder

    return load_manifest_folder("suites", Suite, "suite", "manifest", root=folder)


def get_suite(name: str, folder: Path | None = None) -> Suite:
    """The suite called ``name``; UserError listing the known ones when there is none."""
    suites = load_suites(folder)
    if name not in suites:
        raise UserError(f"unknown suite {name!r}; known: {', '.join(suites) or 'none'}")
    return suites[name]


__all__ = ["Suite", "SuiteSetting", "get_suite", "load_suites"]
