"""`bench report RESULTS... --out DIR`: the static site of one or more runs (opens from disk, no CDN).

Written under DIR:

- ``index.html``: the leaderboard as a sortable table: per metric the mean and its 95% CI, n ok /
  n failed, img/s, and a details cell with the provenance; the numbers are those of
  ``leaderboard.csv`` (written beside it with its .md and .png by ``benchmark.report``, from the
  one ``benchmark.leaderboard.build_leaderboard`` computation);
- ``runs/<run>/index.html`` + ``items.js``: the run's gallery (:mod:`benchmark.html_report.gallery`),
  every image, worst first by a chosen metric, paged 50 at a time, failed images with their reason;
- ``compare/<a>__vs__<b>.html`` + ``.js``: two methods on the same images side by side (both
  predictions, both scores, their difference as a sort key);
- ``thumbs/*.jpg`` (shared, written once, unused ones removed), ``assets/`` (local CSS and JS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.html_report.gallery import Thumbs, gallery
from benchmark.html_report.runs import RunView, load_runs
from benchmark.metrics import higher_is_better
from textureade.errors import UserError
from textureade.fileio import atomic_write
from textureade.preview.render import copy_assets, data_script, esc, fmt, page, sync_written


@dataclass
class ReportSummary:
    """What :func:`write_report` wrote: the index, runs, images shown, thumbnails written now,
    the comparison pages and notes (e.g. a run whose dataset could not be opened)."""

    index: Path
    n_runs: int
    n_images: int
    thumbs_written: int
    comparisons: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _v(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else repr(v)


def leaderboard_table(df: pd.DataFrame, views: dict[str, RunView]) -> str:
    """The sortable leaderboard (one row per run; the cells' data-v hold the CSV's values)."""
    from benchmark.leaderboard import k_text, metric_columns

    metrics = metric_columns(df)
    head = ["method", "dataset", "protocol", "K"]
    head += [f"{m} {'↑' if higher_is_better(m) else '↓'}" for m in metrics]
    head += ["n ok", "n failed", "img/s", "provenance"]
    rows = []
    for _, r in df.iterrows():
        view = views[str(r["run_dir"])]
        k = k_text(r["protocol"], r.get("k"))
        name = esc(r["method"]) + ("" if r.get("complete", True) else " (partial)")
        cells = [
            f'<td data-v="{esc(r["method"])}"><a href="runs/{esc(view.slug)}/index.html">{name}</a></td>',
            f"<td>{esc(r['dataset'])}</td>",
            f"<td>{esc(r['protocol'])}</td>",
            f"<td>{esc(k)}</td>",
        ]
        for m in metrics:
            ci = f"[{fmt(r[f'{m}_lo'], 4)}, {fmt(r[f'{m}_hi'], 4)}]"
            cells.append(
                f'<td class="num" data-v="{_v(r[m])}">{fmt(r[m], 4)} <span class="ci">{ci}</span></td>'
            )
        for col, digits in (("n_ok", 0), ("n_failed", 0), ("images_per_s", 2)):
            cells.append(f'<td class="num" data-v="{_v(r[col])}">{fmt(r[col], digits)}</td>')
        prov = [
            ("git", r.get("git_hash")),
            ("weights", r.get("weights") or "none"),
            ("dataset fingerprint", r.get("dataset_fingerprint")),
            ("reimplementation", "yes" if r.get("reimplementation") else "no"),
            ("complete", "yes" if r.get("complete") else "no"),
            ("run folder", r.get("run_dir")),
        ]
        detail = "".join(f"<div><b>{esc(a)}</b>: {esc(b)}</div>" for a, b in prov)
        cells.append(
            f'<td data-v="{esc(r.get("git_hash"))}"><details><summary>show</summary>{detail}</details></td>'
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f'<table class="sortable" id="leaderboard"><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _gallery_page(view: RunView, data: dict[str, Any], note: str) -> str:
    failed = sum(1 for it in data["items"] if it["failed"])
    body = (
        f'<p><a href="../../index.html">&larr; leaderboard</a></p><h1>{esc(view.title)}</h1>'
        f"<p>{len(data['items'])} images, {failed} failed; run folder {esc(view.run_dir)}. Overlays: a matched "
        "predicted region takes its ground-truth region's colour; the table pairs regions as the scorer matched them.</p>"
        + (f'<p class="reason">{esc(note)}</p>' if note else "")
        + '<div id="gallery"></div>'
    )
    return page(view.title, body, root="../..", scripts=("items.js",))


def _merge_rows(a: list[list[Any]], b: list[list[Any]]) -> list[list[Any]]:
    """Rows per GT region: GT, its description, then A's (IoU, pred, description) and B's."""

    def by_gt(rows: list[list[Any]]) -> dict[Any, list[Any]]:
        return {r[0]["t"]: r for r in rows if isinstance(r[0], dict)}

    ra, rb = by_gt(a), by_gt(b)
    out = []
    for g in sorted(set(ra) | set(rb)):
        x, y = ra.get(g), rb.get(g)
        first = x or y
        assert first is not None
        out.append([first[0], first[1], *(x[2:] if x else ["", "", ""]), *(y[2:] if y else ["", "", ""])])
    return out


def comparison(a: RunView, ga: dict[str, Any], b: RunView, gb: dict[str, Any]) -> dict[str, Any]:
    """GALLERY data of two runs on the images both scored: both predictions and scores; sort keys
    per metric: A's value, B's value and B - A (worst first = where B falls furthest behind A)."""
    items_b = {it["id"]: it for it in gb["items"]}
    common = [k for k in (s["key"] for s in ga["keys"]) if k in {s["key"] for s in gb["keys"]}]
    common = [k for k in common if k in a.info.metric_keys or k.startswith("desc_")]
    keys = []
    for k in common:
        hib = higher_is_better(k)
        keys += [
            {"key": f"{k} B-A", "label": f"{k}: {b.method} - {a.method}", "hib": hib},
            {"key": f"{k} A", "label": f"{k} of {a.method}", "hib": hib},
            {"key": f"{k} B", "label": f"{k} of {b.method}", "hib": hib},
        ]
    items = []
    for x in ga["items"]:
        y = items_b.get(x["id"])
        if y is None:
            continue
        imgs = list(x["imgs"][:2])
        imgs += [[im[0], f"{a.method}: {im[1]}", im[2], im[3]] for im in x["imgs"][2:]]
        imgs += [[im[0], f"{b.method}: {im[1]}", im[2], im[3]] for im in y["imgs"][2:]]
        v = {}
        for k in common:
            va, vb = x["v"].get(k), y["v"].get(k)
            v[f"{k} A"], v[f"{k} B"] = va, vb
            v[f"{k} B-A"] = None if va is None or vb is None else vb - va
        reason = "; ".join(f"{m}: {it['reason']}" for m, it in ((a.method, x), (b.method, y)) if it["reason"])
        items.append({
            "id": x["id"], "failed": x["failed"] or y["failed"], "reason": reason or None, "imgs": imgs,
            "kv": [[f"{a.method} {kv[0]}", kv[1]] for kv in x["kv"]] + [[f"{b.method} {kv[0]}", kv[1]] for kv in y["kv"]],
            "table": {
                "head": ["GT", "GT description", f"IoU {a.method}", a.method, f"{a.method} description",
                         f"IoU {b.method}", b.method, f"{b.method} description"],
                "rows": _merge_rows(x["table"]["rows"], y["table"]["rows"]),
            },
            "v": v,
        })  # fmt: skip
    return {"page_size": 50, "keys": keys, "default_key": keys[0]["key"] if keys else "", "items": items}


def _pairs(views: list[RunView], compare: list[tuple[str, str]] | None) -> list[tuple[RunView, RunView]]:
    """Runs to compare: the named method pairs (on every dataset/protocol both ran), else every pair
    of runs on the same dataset and protocol."""
    same = [(a, b) for a, b in combinations(views, 2) if (a.dataset, a.protocol) == (b.dataset, b.protocol)]
    if compare is None:
        return same
    methods = {v.method for v in views}
    for pair in compare:
        unknown = sorted(set(pair) - methods)
        if unknown:
            raise UserError(
                f"--compare: no run of {', '.join(unknown)} here (runs: {', '.join(sorted(methods))})"
            )
    out = []
    for ma, mb in compare:
        for a, b in same:
            if {a.method, b.method} == {ma, mb}:
                out.append((a, b) if a.method == ma else (b, a))
    return out


def _remove_stale(out: Path, thumbs: set[str], slugs: set[str], pages: set[Path]) -> None:
    """Remove what an earlier report into ``out`` wrote and this one did not: thumbnails no page
    uses, galleries of runs not reported now, comparison pages not made now (only our own files)."""
    for stale in (out / "thumbs").glob("*.jpg") if (out / "thumbs").is_dir() else []:
        if f"thumbs/{stale.name}" not in thumbs:
            stale.unlink()
    for folder in (out / "runs").iterdir() if (out / "runs").is_dir() else []:
        if folder.is_dir() and folder.name not in slugs:
            for name in ("index.html", "items.js"):
                (folder / name).unlink(missing_ok=True)
            if not any(folder.iterdir()):
                folder.rmdir()
    for stale in (out / "compare").glob("*") if (out / "compare").is_dir() else []:
        if stale.suffix in (".html", ".js") and stale.with_suffix(".html") not in pages:
            stale.unlink()


def write_report(
    results: list[str | Path],
    out: str | Path,
    *,
    metric: str | None = None,
    compare: list[tuple[str, str]] | None = None,
    datasets: dict[str, Any] | None = None,
    n_boot: int = 1000,
) -> ReportSummary:
    """Write the report site of the runs under ``results`` into ``out`` (see the module docstring).

    metric: the galleries' default sort key (a record column; default: the run's first metric).
    compare: method pairs for comparison pages (default: every pair of runs on one dataset and
    protocol). datasets: dataset name -> folder or DatasetHandle, for runs whose run.json path is
    not where the data now lives."""
    from benchmark.leaderboard import build_leaderboard, find_runs
    from benchmark.report import write_leaderboard

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = build_leaderboard(find_runs(results), n_boot=n_boot)
    write_leaderboard(df, out / "leaderboard.csv")
    views = load_runs([Path(p) for p in df["run_dir"]])
    by_dir = {str(v.run_dir): v for v in views}
    copy_assets(out)
    thumbs, notes, galleries = Thumbs(), [], {}
    for view in views:
        data, note = gallery(view, out, thumbs, datasets)
        if metric is not None:
            if metric not in {k["key"] for k in data["keys"]}:
                raise UserError(f"--metric {metric}: not a numeric record column of {view.title}")
            data["default_key"] = metric
        if note:
            notes.append(f"{view.title}: {note}")
        galleries[view.slug] = data
        folder = out / "runs" / view.slug
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "items.js", data_script("GALLERY", {**data, "root": "../../"}))
        atomic_write(folder / "index.html", _gallery_page(view, data, note))
    sync_written(thumbs.written)
    links = []
    pages = []
    for a, b in _pairs(views, compare):
        data = comparison(a, galleries[a.slug], b, galleries[b.slug])
        name = f"{a.slug}__vs__{b.slug}"
        (out / "compare").mkdir(exist_ok=True)
        atomic_write(out / "compare" / f"{name}.js", data_script("GALLERY", {**data, "root": "../"}))
        title = f"{a.method} vs {b.method} on {a.dataset} ({a.protocol})"
        body = (
            f'<p><a href="../index.html">&larr; leaderboard</a></p><h1>{esc(title)}</h1>'
            f'<p>{len(data["items"])} images both runs scored.</p><div id="gallery"></div>'
        )
        atomic_write(out / "compare" / f"{name}.html", page(title, body, root="..", scripts=(f"{name}.js",)))
        links.append(f'<li><a href="compare/{esc(name)}.html">{esc(title)}</a></li>')
        pages.append(out / "compare" / f"{name}.html")
    _remove_stale(out, thumbs.used, {v.slug for v in views}, set(pages))
    body = [
        "<h1>Benchmark report</h1>",
        f"<p>{len(views)} runs. Means over images with 95% bootstrap CIs over images; failed images count with "
        'score 0 (as in <a href="leaderboard.csv">leaderboard.csv</a>). Click a header to sort; click a method '
        "for its gallery.</p>",
        leaderboard_table(df, by_dir),
        '<p><img src="leaderboard.png" alt="leaderboard chart" style="max-width:100%"></p>',
        "<h2>Comparisons</h2>" + (f"<ul>{''.join(links)}</ul>" if links else "<p>none</p>"),
    ]
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    atomic_write(out / "index.html", page("Benchmark report", "\n".join(body)))
    return ReportSummary(
        index=out / "index.html",
        n_runs=len(views),
        n_images=sum(len(g["items"]) for g in galleries.values()),
        thumbs_written=thumbs.written,
        comparisons=pages,
        notes=notes,
    )
