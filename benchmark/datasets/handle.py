"""A dataset the harness can stream: name, where it lives, its default protocol and K rule.

A :class:`DatasetHandle` never holds the samples: ``iter_samples`` opens the source and yields one
:class:`textureade.types.Sample` at a time, so memory stays flat in the number of images.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any

from textureade.types import Sample

FORMS = ("detecture", "textureade", "python")


@dataclass
class DatasetHandle:
    """One dataset, opened lazily.

    name: manifest name, or the folder name for a path. form: ``detecture`` (metadata.json folder),
    ``textureade`` (parquet shards) or ``python`` (a generator, for tests and synthetic streams).
    protocol: the default protocol (oracle-k, oracle-k-blind or autonomous). k: the K given to
    methods under the oracle protocols (None = the number of ground-truth regions of each sample).
    scoring: keyword arguments for ``benchmark.metrics.score_partition``.
    factory: () -> Iterator[Sample]; fingerprint_fn: () -> str (content hash).
    """

    name: str
    form: str
    factory: Callable[[], Iterator[Sample]]
    path: Path | None = None
    protocol: str = "oracle-k"
    k: int | None = None
    scoring: dict[str, Any] = field(default_factory=dict)
    fingerprint_fn: Callable[[], str] | None = None
    count_fn: Callable[[], int | None] | None = None
    description: str = ""
    #: samples the reader skipped (unreadable image/mask...): a count and the first 20 (id, reason)
    n_rejected: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def on_reject(self, sample_id: str, reason: str) -> None:
        """Count a sample the reader could not read (kept out of the records, reported in run.json)."""
        self.n_rejected += 1
        if len(self.rejected) < 20:
            self.rejected.append((str(sample_id), str(reason)))

    def iter_samples(self, limit: int | None = None) -> Iterator[Sample]:
        """Stream the samples in the dataset's deterministic order (the first ``limit`` only)."""
        it = self.factory()
        return islice(it, limit) if limit is not None else it

    @cached_property
    def fingerprint(self) -> str:
        """A content hash of the dataset (stable across copies of the same files)."""
        if self.fingerprint_fn is None:
            return f"unfingerprinted:{self.name}"
        return self.fingerprint_fn()

    def count(self) -> int | None:
        """Number of samples when cheap to know, else None."""
        if self.count_fn is None:
            return None
        try:
            return self.count_fn()
        except Exception:  # a count is only for the progress bar
            return None

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for run.json and `bench list`."""
        return {
            "name": self.name,
            "form": self.form,
            "path": str(self.path) if self.path else None,
            "protocol": self.protocol,
            "k": self.k,
            "scoring": dict(self.scoring),
            "fingerprint": self.fingerprint,
        }
