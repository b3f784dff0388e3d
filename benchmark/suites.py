"""Suites: one leaderboard's fixed settings, per dataset the protocol (and K) every method runs under.

A suite is a manifest (``suites/<name>.yaml`` in the manifest roots, see
:mod:`textureade.manifests`) so that a table is comparable across methods::

    name: detecture
    description: the paper's table
    datasets:
      rwtd: {protocol: oracle-k, k: 2}
      ade20k-detecture: {protocol: autonomous}
    methods: []            # optional: the methods the table lists (empty = any)

``bench run --suite NAME`` takes the protocol and K of the run's dataset from the suite (explicit
``--protocol``/``--k`` still win); ``make demo`` runs the ``demo`` suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.protocol import check_protocol
from textureade.errors import UserError


@dataclass
class Suite:
    """A named table: ``datasets`` maps a dataset name to ``{protocol: P, k: K (optional)}``.

    manifest: the YAML file it was read from (set by the loader).
    """

    name: str
    datasets: dict[str, dict[str, Any]]
    description: str = ""
    methods: list[str] = field(default_factory=list)
    manifest: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.datasets, dict) or not self.datasets:
            raise UserError(f"{self.manifest}: a suite needs datasets: {{name: {{protocol: ...}}}}")
        for ds, entry in self.datasets.items():
            if not isinstance(entry, dict) or "protocol" not in entry:
                raise UserError(f"{self.manifest}: dataset {ds!r} needs {{protocol: ...}}")
            check_protocol(entry["protocol"])
            unknown = set(entry) - {"protocol", "k"}
            if unknown:
                raise UserError(f"{self.manifest}: dataset {ds!r} has unknown keys {sorted(unknown)}")

    def setting(self, dataset: str) -> tuple[str, int | None]:
        """(protocol, k) for ``dataset``; UserError when the suite does not cover it."""
        if dataset not in self.datasets:
            raise UserError(
                f"suite {self.name!r} does not cover dataset {dataset!r}; it covers {', '.join(self.datasets)}"
            )
        entry = self.datasets[dataset]
        return entry["protocol"], entry.get("k")


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


__all__ = ["Suite", "get_suite", "load_suites"]
