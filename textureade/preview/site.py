"""`textureade preview DIR --out HTML_DIR`: a static site of a built TextureADE (opens from disk).

Written under HTML_DIR:

- ``index.html``: the dataset statistics (tables and plots), the region quality of the mined
  regions beside the class baseline's (:mod:`textureade.preview.stats`), and a paged gallery of
  every sample: image, regions overlay, each region's colour, class and description, the
  provenance (merges, splits, drops, describer, fallback regions) and the sample's quality;
- ``samples.js`` (the gallery's data), ``stats.json`` (= `textureade stats --format json`),
  ``plots/*.png``, ``thumbs/*.jpg`` (written once: a re-run reuses files whose content key
  matches, and removes thumbnails no sample uses any more), ``assets/`` (local CSS and JS).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textureade.fileio import atomic_path, atomic_write
from textureade.preview.render import (
    content_key,
    copy_assets,
    data_script,
    esc,
    fmt,
    hex_colour,
    overlay,
    page,
    palette,
    resize_image,
    sync_written,
    thumb_shape,
    write_jpeg_once,
)
from textureade.preview.stats import DatasetStats, SampleSummary, StatsAccumulator
from textureade.readers.mapping import nearest_resize
from textureade.types import Sample


@dataclass
class PreviewSummary:
    """What :func:`write_preview` did: the index page, samples shown, thumbnails written now."""

    index: Path
    n_samples: int
    thumbs_written: int
    stats: DatasetStats


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 5)


def write_sample_thumbs(out: Path, sample: Sample) -> tuple[list[list[Any]], int]:
    """The image and regions-overlay thumbnails of a sample under ``out/thumbs``: ([[src, caption,
    w, h], ...], how many files were written now)."""
    hw = thumb_shape(*sample.label_map.shape)
    key = content_key(sample.image, sample.label_map)
    img = resize_image(sample.image, hw)
    labels = nearest_resize(sample.label_map, hw)
    colours = palette(sample.k)
    written = 0
    imgs = []
    for name, caption, draw in (
        ("image", "image", lambda: img),
        ("regions", f"{sample.k} regions", lambda: overlay(img, labels, colours)),
    ):
        rel = f"thumbs/{key}-{name}.jpg"
        if not (out / rel).is_file():
            written += write_jpeg_once(out / rel, draw())
        imgs.append([rel, caption, hw[1], hw[0]])
    return imgs, written


def sample_item(sample: Sample, summary: SampleSummary, imgs: list[list[Any]]) -> dict[str, Any]:
    """The gallery entry of one sample (see site.js for the format)."""
    colours = palette(sample.k)
    names = sample.region_names or [""] * sample.k
    rows = [
        [{"c": hex_colour(colours[i + 1]), "t": str(i + 1)}, names[i], text]
        for i, text in enumerate(sample.descriptions)
    ]
    m, b = summary.mined, summary.baseline
    kv = [
        ["split / size", f"{summary.split}, {summary.width}x{summary.height}"],
        ["merges / splits / dropped", " / ".join("?" if v is None else str(v) for v in (summary.merges, summary.splits, summary.dropped))],
        ["describer", f"{summary.describer or 'unknown'}; {summary.fallback_regions} regions by the fallback"],
        ["spread (mined / class)", f"{fmt(m.spread)} / {fmt(b.spread) if b else 'n/a'} (lower = more homogeneous)"],
        ["separability (mined / class)", f"{fmt(m.separability)} / {fmt(b.separability) if b else 'n/a'} (higher = better separated)"],
    ]  # fmt: skip
    return {
        "id": sample.id,
        "failed": False,
        "imgs": imgs,
        "kv": kv,
        "table": {"head": ["region", "class", "description"], "rows": rows},
        "v": {
            "separability": _num(m.separability),
            "spread": _num(m.spread),
            "k": sample.k,
            "fallback_regions": summary.fallback_regions,
        },
    }


GALLERY_KEYS = [
    {"key": "separability", "label": "separability of adjacent regions", "hib": True},
    {"key": "spread", "label": "within-region spread", "hib": False},
    {"key": "k", "label": "regions", "hib": True},
    {"key": "fallback_regions", "label": "regions by the fallback describer", "hib": False},
]


def _bar(ax: Any, data: dict[str, int], title: str, horizontal: bool = False) -> None:
    labels, values = list(data), list(data.values())
    if horizontal:
        ax.barh(range(len(values)), values, color="#4a7fb5")
        ax.set_yticks(range(len(values)), labels, fontsize=7)
        ax.invert_yaxis()
    else:
        ax.bar(range(len(values)), values, color="#4a7fb5")
        ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=45 if len(labels) > 6 else 0)
    ax.set_title(title, fontsize=9)


def write_plots(out: Path, stats: DatasetStats) -> list[tuple[str, str]]:
    """Bar charts of the statistics under ``out/plots``: [(relative path, title)]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top_classes = dict(list(stats.classes.items())[:25])
    charts = [
        ("regions_per_image", "regions per image", stats.regions_per_image, False),
        ("region_area", "region area (share of the image)", stats.region_area, False),
        ("description_words", "description length (words)", stats.description_words, False),
        ("classes", "classes of the regions (top 25)", top_classes, True),
        ("describers", "regions by describer", stats.describers, True),
        ("splits", "split sizes (samples)", stats.splits, False),
    ]
    (out / "plots").mkdir(parents=True, exist_ok=True)
    done = []
    for name, title, data, horizontal in charts:
        fig, ax = plt.subplots(figsize=(4.2, max(2.6, 0.22 * len(data)) if horizontal else 2.8))
        _bar(ax, data, title, horizontal)
        fig.tight_layout()
        try:
            with atomic_path(out / "plots" / f"{name}.png") as tmp:
                fig.savefig(tmp, dpi=90, format="png")
        finally:
            plt.close(fig)
        done.append((f"plots/{name}.png", title))
    q = [(s.mined, s.baseline) for s in stats.samples if s.baseline is not None]
    if q:
        fig, axes = plt.subplots(1, 2, figsize=(6.4, 2.8))
        for ax, attr, title in (
            (axes[0], "spread", "spread (lower better)"),
            (axes[1], "separability", "separability (higher better)"),
        ):
            vals = [[getattr(m, attr) for m, _ in q], [getattr(b, attr) for _, b in q]]
            vals = [[v for v in vs if not math.isnan(v)] for vs in vals]
            if all(vals):
                ax.boxplot(vals, tick_labels=["mined", "class"])
            ax.set_title(title, fontsize=9)
        fig.tight_layout()
        try:
            with atomic_path(out / "plots" / "quality.png") as tmp:
                fig.savefig(tmp, dpi=90, format="png")
        finally:
            plt.close(fig)
        done.append(("plots/quality.png", "region quality per sample: mined vs class regions"))
    return done


def _table(head: list[str], rows: list[list[Any]], sortable: bool = False) -> str:
    cls = ' class="sortable"' if sortable else ""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num" data-v="{c}">{esc(c)}</td>' if isinstance(c, int | float) else f"<td>{esc(c)}</td>"
            for c in r
        ) + "</tr>"
        for r in rows
    )  # fmt: skip
    return f"<table{cls}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def index_html(stats: DatasetStats, plots: list[tuple[str, str]]) -> str:
    q = stats.quality
    qrows = [
        [kind, fmt(s.spread), s.n_spread, fmt(s.separability), s.n_separability] for kind, s in q.items()
    ]
    shares = ""
    if stats.baseline == "class":
        shares = (
            f"<p>In {stats.n_class_differs} samples the class regions differ from the mined ones; of those, "
            f"the mined regions are more homogeneous in a share of {fmt(stats.mined_more_homogeneous, 2)} "
            f"and better separated in {fmt(stats.mined_better_separated, 2)}.</p>"
        )
    body = [
        f"<h1>TextureADE preview: {esc(stats.path)}</h1>",
        f"<p>{stats.n_samples} samples, {stats.n_regions} regions; splits: "
        + esc(", ".join(f"{k} {v}" for k, v in stats.splits.items()))
        + "; provenance totals: "
        + esc(", ".join(f"{k} {v}" for k, v in stats.provenance.items()))
        + ".</p>",
        "<h2>Region quality</h2>",
        "<p class=small>Descriptor independent of the miner: uniform LBP (P=8, R=1) and 64-bin RGB colour "
        "histograms, chi-square distance in [0, 1]. Spread: mean distance of 16 px cells to their region "
        "(lower = more homogeneous). Separability: mean distance between touching regions (higher = better "
        f"separated). Baseline: {esc(stats.baseline)} (one mask per stored region class id).</p>",
        _table(["regions", "spread", "n", "separability", "n"], qrows),
        shares,
        "<h2>Statistics</h2>",
        '<div class="plots">' + "".join(f'<img src="{esc(p)}" alt="{esc(t)}" title="{esc(t)}">' for p, t in plots) + "</div>",
        "<h2>Classes</h2>",
        _table(["class", "regions"], [[k, v] for k, v in stats.classes.items()], sortable=True),
        "<h2>Samples</h2>",
        '<div id="gallery"></div>',
    ]  # fmt: skip
    return page(f"TextureADE preview: {stats.path}", "\n".join(body), scripts=("samples.js",))


def write_preview(
    path: str | Path,
    out: str | Path,
    baseline: str = "class",
    split: str | None = None,
    limit: int | None = None,
) -> PreviewSummary:
    """Write the preview site of the TextureADE folder ``path`` into ``out`` (see the module
    docstring). limit: only the first N samples. Returns what was written."""
    from textureade.store import read_textureade

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    acc = StatsAccumulator(str(path), baseline)
    items, written, used = [], 0, set()
    for i, sample in enumerate(read_textureade(path, split=split)):
        if limit is not None and i >= limit:
            break
        summary = acc.add(sample)
        imgs, n = write_sample_thumbs(out, sample)
        written += n
        used.update(im[0] for im in imgs)
        items.append(sample_item(sample, summary, imgs))
    stats = acc.finish()
    sync_written(written)
    for stale in (out / "thumbs").glob("*.jpg") if (out / "thumbs").is_dir() else []:
        if f"thumbs/{stale.name}" not in used:
            stale.unlink()
    default = "separability" if any(it["v"]["separability"] is not None for it in items) else ""
    gallery = {"page_size": 50, "keys": GALLERY_KEYS, "default_key": default, "items": items}
    atomic_write(out / "samples.js", data_script("GALLERY", gallery))
    atomic_write(out / "stats.json", json.dumps(stats.to_json(), indent=1, sort_keys=True) + "\n")
    plots = write_plots(out, stats)
    atomic_write(out / "index.html", index_html(stats, plots))
    return PreviewSummary(index=out / "index.html", n_samples=len(items), thumbs_written=written, stats=stats)
