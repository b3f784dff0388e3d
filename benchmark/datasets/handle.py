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

from textureade.errors import safe_text
from textureade.types import Sample

FORMS = ("detecture", "textureade", "python")
#: How many (id, reason) examples a report lists: the reader's rejected and warned samples here, a
#: run's failures (benchmark.journal) and those `bench score` prints; the counts are always complete.
N_LISTED = 20


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
    #: how the readers treat bad input (see README "Bad input"): verify each TextureADE shard's
    #: sha256 against manifest.json as it is opened; skip a damaged shard with a warning instead of
    #: stopping (UserError); reject samples whose masks are not binary 0/255 instead of warning
    verify: bool = True
    skip_bad_shards: bool = False
    strict: bool = False
    #: samples the reader skipped (unreadable image/mask...): a count and the first N_LISTED (id, reason)
    n_rejected: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    #: samples kept with a warning (e.g. a non-binary mask, thresholded): counts by kind, first N_LISTED
    warnings: dict[str, int] = field(default_factory=dict)
    warned: list[tuple[str, str]] = field(default_factory=list)
    #: shards left out under skip_bad_shards: (path, reason)
    skipped_shards: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = safe_text(self.name)  # a folder name that is not UTF-8 names records and run.json

    def on_reject(self, sample_id: str, reason: str) -> None:
        """Count a sample the reader could not read (kept out of the records, reported in run.json)."""
        self.n_rejected += 1
        if len(self.rejected) < N_LISTED:
            self.rejected.append((safe_text(sample_id), safe_text(reason)))

    def on_warning(self, sample_id: str, kind: str, message: str) -> None:
        """Count a sample kept with a warning (reported in run.json under reader_warnings)."""
        self.warnings[kind] = self.warnings.get(kind, 0) + 1
        if len(self.warned) < N_LISTED:
            self.warned.append((safe_text(sample_id), safe_text(message)))

    def on_skipped_shard(self, path: str, reason: str) -> None:
        """Record a shard left out under ``skip_bad_shards`` (run.json: skipped_shards)."""
        self.skipped_shards.append((safe_text(path), safe_text(reason)))

    def reader_report(self) -> dict[str, Any]:
        """What the readers met besides good samples, for run.json: rejected samples, warnings
        (with the mask threshold they refer to) and skipped shards."""
        from textureade.detecture_format import MASK_THRESHOLD

        return {
            "rejected_samples": {"count": self.n_rejected, "first": list(self.rejected)},
            "reader_warnings": {
                "count": sum(self.warnings.values()),
                "by_kind": dict(sorted(self.warnings.items())),
                "first": list(self.warned),
                "mask_threshold": f"grey > {MASK_THRESHOLD} is on",
            },
            "skipped_shards": [list(s) for s in self.skipped_shards],
            "verified_shards": self.form == "textureade" and self.verify,
        }

    def iter_samples(self, limit: int | None = None) -> Iterator[Sample]:
        """Stream the samples in the dataset's deterministic order (the first ``limit`` only).

        A sample id names files (``predictions/<id>.png``): a sample whose id cannot
        (:func:`benchmark.predictions.id_problem`), or whose file name an earlier sample's id already
        has (``a/b`` and ``a__b`` both give ``a__b``), is rejected (:meth:`on_reject`) and left out.
        """
        it = self._with_file_safe_ids(self.factory())
        return islice(it, limit) if limit is not None else it

    def _with_file_safe_ids(self, samples: Iterator[Sample]) -> Iterator[Sample]:
        from benchmark.predictions import id_problem, safe_name

        ids_by_name: dict[str, str] = {}
        for sample in samples:
            problem = id_problem(sample.id)
            name = safe_name(sample.id)
            if problem is None and name in ids_by_name:
                problem = f"id {sample.id!r} names the same prediction files as the earlier id {ids_by_name[name]!r}"
            if problem is not None:
                self.on_reject(sample.id, problem)
                continue
            ids_by_name[name] = sample.id
            yield sample

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
