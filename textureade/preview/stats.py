"""Dataset statistics of a built TextureADE, gathered in one streaming pass (memory flat in images).

:class:`StatsAccumulator` takes one :class:`textureade.types.Sample` at a time and returns its
:class:`SampleSummary` (what the preview shows per sample); :meth:`StatsAccumulator.finish`
returns the :class:`DatasetStats` that `textureade stats --format json` prints and the preview
plots. Region quality: :mod:`textureade.preview.quality`, for the mined regions and, with
``baseline="class"``, for the one-mask-per-class regions of the same image.

The class baseline's label map comes from the dataset's **stored region class ids** (the
``region_class_ids`` column, also in each sample's provenance): regions whose largest ADE class is
the same become one mask. It does not re-read the ADE20K source, so (a) pixels the miner left
unassigned stay out of both partitions, and (b) a region the miner merged from several classes
stays one region (under its largest class) in the baseline. A sample without stored class ids
(e.g. a synthetic mosaic) has no baseline (None).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from textureade.preview.quality import RegionQuality, class_regions, pixel_codes, region_quality, work_size
from textureade.types import Sample

BASELINES = ("class", "none")
#: region area (share of the image) histogram edges
AREA_EDGES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


@dataclass
class SampleSummary:
    """One sample as the preview lists it. describer: the describer's name ("" when unknown);
    fallback_regions: regions its fallback described; merges/splits/dropped: the miner's counts
    from provenance (None when the provenance does not say); mined/baseline: region quality of the
    sample's regions and of its class regions (None: no baseline); class_differs: whether the
    class partition differs from the mined one (two regions share a class)."""

    id: str
    split: str
    k: int
    height: int
    width: int
    describer: str
    fallback_regions: int
    merges: int | None
    splits: int | None
    dropped: int | None
    mined: RegionQuality
    baseline: RegionQuality | None
    class_differs: bool = False


@dataclass
class QualitySummary:
    """Means over samples of one partition kind's spread and separability (NaN values skipped) and
    how many samples had a value."""

    spread: float
    separability: float
    n_spread: int
    n_separability: int


@dataclass
class DatasetStats:
    """Everything `textureade stats` prints. Histograms are {bin label: count}; ``quality`` holds
    ``mined`` and (with the class baseline) ``class`` summaries; ``mined_more_homogeneous`` /
    ``mined_better_separated``: among the samples whose class partition differs from the mined one
    (``n_class_differs`` of them), the share where the mined regions' spread is lower /
    separability higher than the class regions' (None when no sample differs)."""

    path: str
    n_samples: int
    n_regions: int
    splits: dict[str, int]
    regions_per_image: dict[str, int]
    region_area: dict[str, int]
    description_words: dict[str, int]
    classes: dict[str, int]
    describers: dict[str, int]
    provenance: dict[str, int]
    baseline: str
    quality: dict[str, QualitySummary]
    mined_more_homogeneous: float | None
    mined_better_separated: float | None
    n_class_differs: int = 0
    samples: list[SampleSummary] = field(default_factory=list)

    def to_json(self, per_sample: bool = True) -> dict[str, Any]:
        """Plain JSON values; NaN becomes None. per_sample: include ``samples``."""
        data = asdict(self)
        if not per_sample:
            data.pop("samples")
        return _clean(data)


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return None if math.isnan(x) else round(x, 6)
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def _count(prov: dict[str, Any], key: str) -> int | None:
    regions = prov.get("regions")
    value = regions.get(key) if isinstance(regions, dict) else None
    return len(value) if isinstance(value, list) else None


def _describer(prov: dict[str, Any]) -> tuple[str, list[str]]:
    """(describer name, per-region source labels) from a sample's provenance."""
    d = prov.get("describer")
    if not isinstance(d, dict):
        return "", []
    name = str(d.get("describer") or "")
    model = d.get("model")
    label = f"{name} ({model})" if model else name
    fb = d.get("fallback_describer") or "fallback"
    sources = d.get("sources")
    if isinstance(sources, list):
        return label, [label if s == "model" else f"{fb} (fallback)" for s in sources]
    return label, []


def _histogram(values: list[float], edges: tuple[float, ...]) -> dict[str, int]:
    counts, _ = np.histogram(np.asarray(values, float), bins=np.asarray(edges))
    return {f"{lo:g}-{hi:g}": int(c) for lo, hi, c in zip(edges[:-1], edges[1:], counts)}


def _summary(values: list[RegionQuality]) -> QualitySummary:
    sp = [q.spread for q in values if not math.isnan(q.spread)]
    se = [q.separability for q in values if not math.isnan(q.separability)]
    return QualitySummary(
        spread=float(np.mean(sp)) if sp else math.nan,
        separability=float(np.mean(se)) if se else math.nan,
        n_spread=len(sp),
        n_separability=len(se),
    )


class StatsAccumulator:
    """Feed samples with :meth:`add`, then :meth:`finish`. baseline: ``class`` or ``none``."""

    def __init__(self, path: str, baseline: str = "class") -> None:
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
        self.path, self.baseline = path, baseline
        self.splits: Counter[str] = Counter()
        self.k: Counter[int] = Counter()
        self.areas: list[float] = []
        self.words: Counter[int] = Counter()
        self.classes: Counter[str] = Counter()
        self.describers: Counter[str] = Counter()
        self.prov: Counter[str] = Counter()
        self.samples: list[SampleSummary] = []

    def add(self, sample: Sample) -> SampleSummary:
        """Count one sample and measure its region quality; returns its summary."""
        prov = sample.provenance if isinstance(sample.provenance, dict) else {}
        split = sample.split or "train"
        self.splits[split] += 1
        self.k[sample.k] += 1
        lm = sample.label_map
        counts = np.bincount(lm.ravel(), minlength=sample.k + 1)[1 : sample.k + 1]
        self.areas.extend((counts / max(lm.size, 1)).tolist())
        for text in sample.descriptions:
            self.words[len(text.split())] += 1
        self.classes.update(n or "(none)" for n in sample.region_names)
        name, sources = _describer(prov)
        self.describers.update(sources or [name or "(unknown)"] * sample.k)
        fallback = sum(1 for s in sources if s.endswith("(fallback)"))
        merges, splits, dropped = (_count(prov, key) for key in ("merges", "splits", "dropped"))
        for key, value in (
            ("merges", merges),
            ("splits", splits),
            ("dropped", dropped),
            ("fallback_regions", fallback),
        ):
            self.prov[key] += value or 0

        image, labels = work_size(sample.image, lm)
        codes = pixel_codes(image)
        mined = region_quality(labels, codes)
        base, differs = None, False
        ids = prov.get("region_class_ids")
        if (
            self.baseline == "class"
            and isinstance(ids, list)
            and len(ids) == sample.k
            and any(i >= 0 for i in ids)
        ):
            known = [int(i) for i in ids if int(i) >= 0]
            differs = len(set(known)) < len(known)
            base = region_quality(class_regions(labels, [int(i) for i in ids]), codes)
        summary = SampleSummary(
            id=sample.id, split=split, k=sample.k, height=lm.shape[0], width=lm.shape[1],
            describer=name, fallback_regions=fallback, merges=merges, splits=splits, dropped=dropped,
            mined=mined, baseline=base, class_differs=differs,
        )  # fmt: skip
        self.samples.append(summary)
        return summary

    def finish(self) -> DatasetStats:
        mined = [s.mined for s in self.samples]
        pairs = [(s.mined, s.baseline) for s in self.samples if s.baseline is not None]
        quality = {"mined": _summary(mined)}
        homog = separated = None
        if self.baseline == "class":
            quality["class"] = _summary([b for _, b in pairs])
            pairs = [
                (s.mined, s.baseline) for s in self.samples if s.baseline is not None and s.class_differs
            ]
            hs = [m.spread < b.spread for m, b in pairs if not (math.isnan(m.spread) or math.isnan(b.spread))]
            ss = [
                m.separability > b.separability
                for m, b in pairs
                if not (math.isnan(m.separability) or math.isnan(b.separability))
            ]
            homog = float(np.mean(hs)) if hs else None
            separated = float(np.mean(ss)) if ss else None
        top = max(self.words, default=0)
        word_edges = tuple(float(x) for x in range(0, max(top, 5) + 6, 5))
        words = [w for w, c in self.words.items() for _ in range(c)]
        return DatasetStats(
            path=self.path,
            n_samples=len(self.samples),
            n_regions=sum(k * c for k, c in self.k.items()),
            splits=dict(sorted(self.splits.items())),
            regions_per_image={str(k): c for k, c in sorted(self.k.items())},
            region_area=_histogram(self.areas, AREA_EDGES),
            description_words=_histogram(words, word_edges),
            classes=dict(self.classes.most_common()),
            describers=dict(self.describers.most_common()),
            provenance=dict(sorted(self.prov.items())),
            baseline=self.baseline,
            quality=quality,
            mined_more_homogeneous=homog,
            mined_better_separated=separated,
            n_class_differs=len(pairs) if self.baseline == "class" else 0,
            samples=list(self.samples),
        )


def dataset_stats(path: str, baseline: str = "class", split: str | None = None) -> DatasetStats:
    """Statistics of the TextureADE folder ``path`` (shards verified), one pass."""
    from textureade.store import read_textureade

    acc = StatsAccumulator(str(path), baseline)
    for sample in read_textureade(path, split=split):
        acc.add(sample)
    return acc.finish()


def stats_text(stats: DatasetStats) -> str:
    """A short plain-text report of :class:`DatasetStats` (the json format has every number)."""
    from textureade.preview.render import fmt

    lines = [
        f"{stats.path}: {stats.n_samples} samples, {stats.n_regions} regions",
        "splits: " + ", ".join(f"{k} {v}" for k, v in stats.splits.items()),
        "regions per image: " + ", ".join(f"{k}: {v}" for k, v in stats.regions_per_image.items()),
        "provenance: " + ", ".join(f"{k} {v}" for k, v in stats.provenance.items()),
        "describers: " + ", ".join(f"{k} {v}" for k, v in stats.describers.items()),
    ]
    for kind, q in stats.quality.items():
        lines.append(f"region quality, {kind}: spread {fmt(q.spread, 4)} (n {q.n_spread}), "
                     f"separability {fmt(q.separability, 4)} (n {q.n_separability})")  # fmt: skip
    if stats.baseline == "class":
        lines.append(
            f"class partition differs in {stats.n_class_differs} samples; of those mined more homogeneous: "
            f"{fmt(stats.mined_more_homogeneous, 4)}, better separated: {fmt(stats.mined_better_separated, 4)}"
        )
    return "\n".join(lines)
