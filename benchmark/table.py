"""The Detecture paper's table from run records (`bench table`, issue #11 items 6 and 9).

``build_table(results, suite)`` reads every run folder under ``results`` (``run.json`` +
records) whose dataset the suite covers (by name, or by the published release's folder name:
a run on a folder ``RWTD`` fills the ``rwtd`` column) and lays them out as the paper does: one row per method,
one column per dataset of the suite (in the suite's order), each cell the method's run on that
dataset. Per cell: mIoU (``miou_matched``) and ARI (the two columns the paper prints), our panoptic
IoU (``iou_panoptic``), boundary F (``boundary_f``), and the counts of images (n, ok, failed), each
metric a mean with its 95% bootstrap CI from :func:`benchmark.leaderboard.summarize_run` (the one
aggregation of this project). Beside that: panoptic IoU broken down by the number of GT regions of
the image (``n_gt``), and the distribution of the predicted number of regions (``n_pred``, ok
images) per method and dataset. A method that described its regions also has the description
metrics (:data:`DESC_METRICS`, mean and CI) in its cells; they print only when some cell has them.

Aggregation: ours by default (a failed image counts with its failure scores, 0); ``drop_failures``
gives the authors' (``aggregate_run`` of their benchmark averages over the images scored, failures
dropped). Every output says which one it holds. A row's label says what the method is beside its
name: ``[oracle: GT text]`` when the run was given the ground-truth descriptions (``run.json``
``given.gt_descriptions``, the oracle-k protocol; such a run is a different row from the same
method's run without them), ``[our design]`` when the method manifest says ``provenance.design:
ours`` (a method of this project, not the authors' or a published baseline). A cell whose run
did not get what the suite gives that method on that dataset (protocol, K source, the options the
suite fixes, e.g. SAM 3's inverse mode on RWTD) is marked ``*`` with the difference in a note
(``off_suite`` in table.csv): its number is not the suite's.

``published=True`` adds the published numbers (:func:`load_published`, every table of
``manifests/published/detecture.yaml``) for printing beside ours. Rendering (CSV, Markdown, LaTeX
booktabs) lives in :mod:`benchmark.table_format`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.leaderboard import find_runs, metric_stats, summarize_run
from benchmark.records import read_records
from benchmark.runinfo import RunInfo
from textureade.errors import UserError

#: Metrics of a cell, in print order: the paper's two, then ours.
TABLE_METRICS: tuple[str, ...] = ("miou_matched", "ari", "iou_panoptic", "boundary_f")
#: Short names used in headers.
SHORT = {"miou_matched": "mIoU", "ari": "ARI", "iou_panoptic": "pIoU", "boundary_f": "BF"}
#: Description metrics (benchmark.metrics.descriptions), in a cell whose run holds them (a method
#: that described its regions); printed in their own section only when some cell has them.
DESC_METRICS: tuple[str, ...] = ("desc_similarity", "desc_valid", "desc_distinct")
SHORT.update(desc_similarity="dSim", desc_valid="dValid", desc_distinct="dDist")
ORACLE_TAG = "[oracle: GT text]"
OURS_TAG = "[our design]"


@dataclass(frozen=True)
class RowKey:
    """A table row: the method's name and whether its runs were given the GT descriptions."""

    method: str
    oracle: bool = False

    def label(self, ours: bool = False) -> str:
        tags = [OURS_TAG] if ours else []
        tags += [ORACLE_TAG] if self.oracle else []
        return " ".join([self.method, *tags])


@dataclass
class Cell:
    """One method x dataset: the run's metric means and CIs (metric -> (mean, lo, hi); a metric the
    run lacks is absent), the image counts, what the method was given, and the run folder.
    off_suite: how the run differs from what the suite gives this method on this dataset (protocol,
    K source, fixed options), None when it does not."""

    row: RowKey
    dataset: str
    protocol: str
    given_k: str
    k: int | None
    n: int
    n_ok: int
    n_failed: int
    metrics: dict[str, tuple[float, float, float]]
    run_dir: str
    off_suite: str | None = None


@dataclass
class RegionBreakdown:
    """Panoptic IoU of the images of one cell with ``n_gt`` GT regions: n images, mean, CI."""

    row: RowKey
    dataset: str
    n_gt: int
    n: int
    mean: float
    lo: float
    hi: float


@dataclass
class PublishedTable:
    """One published table: its id, title, suite, source (repo, commit, path) and values as
    ``{published method: {our dataset: {metric: value}}}``; ``ours`` maps a published method
    name to our method name (None: not run by us)."""

    id: str
    title: str
    suite: str
    source: dict[str, Any]
    rows: dict[str, dict[str, dict[str, float]]]
    ours: dict[str, str | None]


@dataclass
class PaperTable:
    """What `bench table` prints. rows: in first-seen order of method names sorted, oracle rows
    after their method; ours: rows whose method is our own design; skipped: runs the suite does
    not cover (one line each)."""

    suite: str
    datasets: list[str]
    drop_failures: bool
    rows: list[RowKey]
    ours: set[RowKey]
    cells: dict[tuple[RowKey, str], Cell]
    by_regions: list[RegionBreakdown]
    pred_k: dict[tuple[RowKey, str], dict[int, int]]
    published: list[PublishedTable] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def aggregation(self) -> str:
        """One line saying how images were averaged."""
        if self.drop_failures:
            return "authors' aggregation (--drop-failures): failed images dropped, means over scored images"
        return "our aggregation: failed images count with score 0"

    def label(self, row: RowKey) -> str:
        return row.label(row in self.ours)

    @property
    def desc_metrics(self) -> tuple[str, ...]:
        """The :data:`DESC_METRICS` some cell holds (a method described its regions), else ()."""
        return tuple(m for m in DESC_METRICS if any(m in c.metrics for c in self.cells.values()))


def off_suite(info: RunInfo, setting: Any) -> str | None:
    """How a run differs from a ``benchmark.suites.SuiteSetting`` (one line), or None: its protocol,
    its K source (``given.k``: a fixed K must be the suite's, ``gt`` when the suite says gt) and the
    value of every option the suite fixes (``method.params``)."""
    diffs = []
    if info.identity.protocol != setting.protocol:
        diffs.append(f"protocol {info.identity.protocol} (suite: {setting.protocol})")
    fixed = info.given.k in ("dataset", "cli")  # a fixed K, the dataset's/suite's or the run's --k
    if setting.k == "gt" and info.given.k != "gt":
        diffs.append(f"K {info.identity.k if fixed else info.given.k} (suite: each image's own)")
    elif isinstance(setting.k, int) and (not fixed or info.identity.k != setting.k):
        got = "each image's own" if info.given.k == "gt" else info.identity.k if fixed else "none"
        diffs.append(f"K {got} (suite: {setting.k})")
    for key, value in setting.options.items():
        if info.method.params.get(key) != value:
            diffs.append(f"{key}={info.method.params.get(key)!r} (suite: {value!r})")
    return "; ".join(diffs) or None


def _is_ours(info: RunInfo) -> bool:
    provenance = (info.method.manifest or {}).get("provenance") or {}
    return str(provenance.get("design", "")).lower() == "ours"


def _dataset_aliases(datasets: list[str], to_ours: dict[str, str]) -> dict[str, str]:
    """Lower-cased names a run's dataset may carry -> the suite's name: the suite's own names and
    the published release's folder names (``to_ours``: a run on ``--dataset ~/data/RWTD`` is named
    ``RWTD``)."""
    aliases = {d.lower(): d for d in datasets}
    for pub, ours in to_ours.items():
        if ours in datasets:
            aliases.setdefault(str(pub).lower(), ours)
    return aliases


def build_table(
    paths: Iterable[str | Path],
    suite: str,
    drop_failures: bool = False,
    published: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
) -> PaperTable:
    """The paper's table from the runs under ``paths`` (see the module docstring). UserError when
    no run covers a dataset of the suite, or two runs fill the same cell."""
    from benchmark.suites import get_suite
    from textureade.manifests import find_manifest, manifest_file

    the_suite = get_suite(suite)
    datasets = list(the_suite.datasets)
    # the published manifest, read once: its dataset names (aliases) and, with ``published``, its
    # tables; a missing one (a $TEXTUREADE_MANIFESTS without it) is an error only for ``published``
    pub_path = (
        manifest_file("published", "detecture.yaml")
        if published
        else find_manifest("published", "detecture.yaml")
    )
    pub_data = _read_published(pub_path) if pub_path else {}
    aliases = _dataset_aliases(datasets, _published_to_ours(pub_path, pub_data) if pub_path else {})
    cells: dict[tuple[RowKey, str], Cell] = {}
    ours: set[RowKey] = set()
    by_regions: list[RegionBreakdown] = []
    pred_k: dict[tuple[RowKey, str], dict[int, int]] = {}
    skipped: list[str] = []
    for run_dir in find_runs(paths):
        info = RunInfo.read(run_dir / "run.json")
        ds = aliases.get(info.dataset.name.lower(), info.dataset.name)
        if ds not in datasets:
            skipped.append(f"{run_dir}: {info.identity.method} on {ds} (suite {suite} does not cover {ds})")
            continue
        row = RowKey(info.identity.method, bool(info.given.gt_descriptions))
        if (row, ds) in cells:
            raise UserError(
                f"two runs of {row.label()} on {ds}: {cells[row, ds].run_dir} and {run_dir}; pass one of them"
            )
        if _is_ours(info):
            ours.add(row)
        summary = summarize_run(run_dir, n_boot=n_boot, seed=seed, drop_failures=drop_failures)
        metrics = {
            m: (summary[m], summary[f"{m}_lo"], summary[f"{m}_hi"])
            for m in TABLE_METRICS + DESC_METRICS
            if m in summary and not np.isnan(summary[m])
        }
        cells[row, ds] = Cell(
            row=row,
            dataset=ds,
            protocol=info.identity.protocol,
            given_k=info.given.k,
            k=info.identity.k,
            n=summary["n"],
            n_ok=summary["n_ok"],
            n_failed=summary["n_failed"],
            metrics=metrics,
            run_dir=str(run_dir),
            off_suite=off_suite(info, the_suite.for_method(ds, info.identity.method)),
        )
        records = read_records(run_dir, ["status", "n_gt", "n_pred", "iou_panoptic"])
        ok = records[records["status"] == "ok"]
        scored = ok if drop_failures else records
        for n_gt, group in sorted(scored.dropna(subset=["n_gt"]).groupby("n_gt"), key=lambda g: int(g[0])):
            stats = metric_stats(group["iou_panoptic"].to_numpy(dtype=float), n_boot, seed)
            if stats is not None:
                by_regions.append(RegionBreakdown(row, ds, int(n_gt), len(group), *stats))
        counts = ok["n_pred"].dropna().astype(int).value_counts()
        pred_k[row, ds] = {int(k): int(v) for k, v in sorted(counts.items())}
    if not cells:
        raise UserError(
            f"no run under {', '.join(map(str, paths))} is on a dataset of suite {suite} ({', '.join(datasets)})"
        )
    rows = sorted({r for r, _ in cells}, key=lambda r: (r.method, r.oracle))
    return PaperTable(
        suite=suite,
        datasets=datasets,
        drop_failures=drop_failures,
        rows=rows,
        ours=ours,
        cells=cells,
        by_regions=by_regions,
        pred_k=pred_k,
        published=_published_tables(pub_path, pub_data, datasets) if pub_path and published else [],
        skipped=skipped,
    )


def load_published(datasets: list[str] | None = None, name: str = "detecture") -> list[PublishedTable]:
    """Every table of ``manifests/published/<name>.yaml``, dataset names mapped to ours (columns
    kept in the order of ``datasets`` when given, a dataset we lack dropped)."""
    from textureade.manifests import manifest_file

    path = manifest_file("published", f"{name}.yaml")
    return _published_tables(path, _read_published(path), datasets)


def _read_published(path: Path) -> dict[str, Any]:
    """The mapping of a published manifest; a one-line UserError when it is not a YAML mapping."""
    from textureade.yamlfile import read_yaml_mapping

    return read_yaml_mapping(path, "published-results manifest")


def _not_published(path: Path, exc: Exception) -> UserError:
    return UserError(f"{path} is not a published-results manifest: {type(exc).__name__}: {exc}")


def _published_to_ours(path: Path, data: dict[str, Any]) -> dict[str, str]:
    """The release's dataset names -> ours (``datasets:`` of the published manifest)."""
    try:
        return {pub: entry["ours"] for pub, entry in data["datasets"].items()}
    except (KeyError, TypeError, AttributeError) as exc:
        raise _not_published(path, exc) from None


def _published_tables(path: Path, data: dict[str, Any], datasets: list[str] | None) -> list[PublishedTable]:
    """The tables of a published manifest (see :func:`load_published`)."""
    to_ours = _published_to_ours(path, data)
    try:
        method_ours = {pub: entry.get("ours") for pub, entry in data["methods"].items()}
        tables = []
        for t in data["tables"]:
            rows: dict[str, dict[str, dict[str, float]]] = {}
            for method, per_ds in t["rows"].items():
                mapped = {to_ours[pub]: dict(values) for pub, values in per_ds.items()}
                order = datasets if datasets is not None else list(mapped)
                rows[method] = {ds: mapped[ds] for ds in order if ds in mapped}
            tables.append(
                PublishedTable(
                    id=str(t["id"]),
                    title=t["title"],
                    suite=t["suite"],
                    source=dict(t["source"]),
                    rows=rows,
                    ours={m: method_ours.get(m) for m in rows},
                )
            )
    except (KeyError, TypeError, AttributeError) as exc:
        raise _not_published(path, exc) from None
    return tables


__all__ = [
    "Cell",
    "PaperTable",
    "PublishedTable",
    "RegionBreakdown",
    "RowKey",
    "build_table",
    "load_published",
]
