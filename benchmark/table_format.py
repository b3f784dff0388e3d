"""`bench table` output: a :class:`benchmark.table.PaperTable` as CSV, Markdown and LaTeX.

Files written into the output folder (atomically, side by side):

- ``table.csv``: one line per method x dataset: row label, method, oracle/our-design flags,
  protocol, K source, counts, each metric's mean and 95% CI, how the run differs from the suite's
  setting (``off_suite``, empty when it does not), the aggregation, the run folder;
- ``by_regions.csv``: panoptic IoU per method x dataset x number of GT regions (n, mean, CI);
- ``pred_k.csv``: images per method x dataset x predicted number of regions (ok images);
- ``published.csv`` (with ``--published``): the published values, one line per table x method x
  dataset x metric, with our method name;
- ``table.md``: all of the above as Markdown tables, headed by the suite and the aggregation;
- ``table.tex``: the paper's layout (mIoU / ARI per dataset) and ours (pIoU / BF / failed) as
  booktabs tables, published rows (``--published``) under their own rule.

When a method described its regions (``PaperTable.desc_metrics``), ``table.csv`` gains the
description metrics' columns, ``table.md`` a "Descriptions" section and ``table.tex`` a third table;
without descriptions the files are as before.

Numbers print with 4 decimals; a missing cell is "-".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.table import SHORT, TABLE_METRICS, PaperTable
from textureade.fileio import atomic_write

PAPER_METRICS = ("miou_matched", "ari")
OUR_METRICS = ("iou_panoptic", "boundary_f")


def _f(x: float | None) -> str:
    return "-" if x is None or pd.isna(x) else f"{x:.4f}"


def cells_frame(t: PaperTable) -> pd.DataFrame:
    """table.csv: one line per filled cell, in row then suite-dataset order."""
    lines = []
    for row in t.rows:
        for ds in t.datasets:
            c = t.cells.get((row, ds))
            if c is None:
                continue
            line = {
                "row": t.label(row),
                "method": row.method,
                "oracle_gt_text": row.oracle,
                "our_design": row in t.ours,
                "dataset": ds,
                "protocol": c.protocol,
                "given_k": c.given_k,
                "k": c.k,
                "n": c.n,
                "n_ok": c.n_ok,
                "n_failed": c.n_failed,
            }
            for m in TABLE_METRICS + t.desc_metrics:
                mean, lo, hi = c.metrics.get(m, (None, None, None))
                line.update({m: mean, f"{m}_lo": lo, f"{m}_hi": hi})
            line.update(
                off_suite=c.off_suite,
                aggregation="drop_failures" if t.drop_failures else "failures_zero",
                run_dir=c.run_dir,
            )
            lines.append(line)
    return pd.DataFrame(lines)


def regions_frame(t: PaperTable) -> pd.DataFrame:
    """by_regions.csv."""
    return pd.DataFrame(
        [
            {"row": t.label(b.row), "dataset": b.dataset, "n_gt": b.n_gt, "n": b.n}
            | {"iou_panoptic": b.mean, "iou_panoptic_lo": b.lo, "iou_panoptic_hi": b.hi}
            for b in t.by_regions
        ],
        columns=["row", "dataset", "n_gt", "n", "iou_panoptic", "iou_panoptic_lo", "iou_panoptic_hi"],
    )


def pred_k_frame(t: PaperTable) -> pd.DataFrame:
    """pred_k.csv."""
    lines = [
        {"row": t.label(row), "dataset": ds, "n_pred": k, "images": n}
        for (row, ds), dist in t.pred_k.items()
        for k, n in dist.items()
    ]
    return pd.DataFrame(lines, columns=["row", "dataset", "n_pred", "images"])


def published_frame(t: PaperTable) -> pd.DataFrame:
    """published.csv."""
    lines = [
        {"table": p.id, "method": m, "ours": p.ours.get(m), "dataset": ds, "metric": k, "value": v}
        for p in t.published
        for m, per_ds in p.rows.items()
        for ds, values in per_ds.items()
        for k, v in values.items()
    ]
    return pd.DataFrame(lines, columns=["table", "method", "ours", "dataset", "metric", "value"])


def _md(head: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
        "| " + " | ".join(r) + " |" for r in body
    ]


def _pair(values: dict[str, float] | None, a: str, b: str) -> str:
    if not values or (a not in values and b not in values):
        return "-"
    return f"{_f(values.get(a))} / {_f(values.get(b))}"


def _ci(c: object, m: str) -> str:
    """``mean [lo, hi]`` of metric ``m`` in cell ``c``, "-" when the cell lacks it."""
    v = c.metrics.get(m)  # type: ignore[attr-defined]
    return "-" if v is None else f"{_f(v[0])} [{_f(v[1])}, {_f(v[2])}]"


def to_markdown(t: PaperTable) -> str:
    """table.md: the paper's cells, ours, the breakdowns and (when loaded) the published tables."""
    out = [f"# Suite `{t.suite}`", "", f"{t.aggregation[0].upper()}{t.aggregation[1:]}.", ""]
    out += ["## mIoU / ARI (the paper's columns)", ""]
    body = []
    for row in t.rows:
        cells = []
        for ds in t.datasets:
            c = t.cells.get((row, ds))
            mark = "" if c is None or c.off_suite is None else " *"
            cells.append(
                "-" if c is None else _pair({m: v[0] for m, v in c.metrics.items()}, *PAPER_METRICS) + mark
            )
        body.append([t.label(row), *cells])
    out += _md(["method", *t.datasets], body)
    off = [f"{t.label(c.row)} on {c.dataset}: {c.off_suite}" for c in t.cells.values() if c.off_suite]
    if off:
        out += ["", "\\* not the suite's setting: " + "; ".join(off)]
    out += ["", "## pIoU / boundary F / failed of n (ours)", ""]
    body = []
    for row in t.rows:
        cells = []
        for ds in t.datasets:
            c = t.cells.get((row, ds))
            if c is None:
                cells.append("-")
                continue
            means = {m: v[0] for m, v in c.metrics.items()}
            cells.append(f"{_pair(means, *OUR_METRICS)} / {c.n_failed} of {c.n}")
        body.append([t.label(row), *cells])
    out += _md(["method", *t.datasets], body)
    out += ["", "## 95% bootstrap CIs over images", ""]
    body = []
    for row in t.rows:
        for ds in t.datasets:
            c = t.cells.get((row, ds))
            if c is not None:
                ci = [
                    f"{_f(c.metrics[m][1])}-{_f(c.metrics[m][2])}" if m in c.metrics else "-"
                    for m in TABLE_METRICS
                ]
                body.append([t.label(row), ds, *ci])
    out += _md(["method", "dataset", *[SHORT[m] for m in TABLE_METRICS]], body)
    if t.desc_metrics:
        out += ["", "## Descriptions: " + ", ".join(t.desc_metrics) + " (mean [95% CI])", ""]
        body = [
            [t.label(row), ds, *[_ci(t.cells[row, ds], m) for m in t.desc_metrics]]
            for row in t.rows
            for ds in t.datasets
            if (row, ds) in t.cells
        ]
        out += _md(["method", "dataset", *[SHORT[m] for m in t.desc_metrics]], body)
    counts = sorted({b.n_gt for b in t.by_regions})
    out += ["", "## Panoptic IoU by number of GT regions (mean, images)", ""]
    table = {(t.label(b.row), b.dataset, b.n_gt): f"{_f(b.mean)} ({b.n})" for b in t.by_regions}
    body = [
        [t.label(row), ds, *[table.get((t.label(row), ds, k), "-") for k in counts]]
        for row in t.rows
        for ds in t.datasets
        if (row, ds) in t.cells
    ]
    out += _md(["method", "dataset", *[f"{k} GT" for k in counts]], body)
    ks = sorted({k for dist in t.pred_k.values() for k in dist})
    out += ["", "## Predicted number of regions (ok images per K)", ""]
    body = [
        [t.label(row), ds, *[str(t.pred_k.get((row, ds), {}).get(k, 0)) for k in ks]]
        for row in t.rows
        for ds in t.datasets
        if (row, ds) in t.cells
    ]
    out += _md(["method", "dataset", *[f"K={k}" for k in ks]], body)
    for p in t.published:
        src = p.source
        out += ["", f"## Published: {p.title}", ""]
        out += [
            f"Table `{p.id}` (suite `{p.suite}`), {src['repo']}@{str(src['commit'])[:8]} {src['path']}.",
            "",
        ]
        body = [
            [
                f"{m} (ours: {p.ours.get(m) or 'not run'})",
                *[_pair(per_ds.get(ds), "mIoU", "ARI") for ds in t.datasets],
            ]
            for m, per_ds in p.rows.items()
        ]
        out += _md(["published method", *t.datasets], body)
    if t.skipped:
        out += ["", "Runs left out: " + "; ".join(t.skipped)]
    return "\n".join(out) + "\n"


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("&", r"\&"), ("%", r"\%"), ("#", r"\#")):
        text = text.replace(a, b)
    return text


def _tex_table(
    t: PaperTable, metrics: tuple[str, ...], caption: str, failed: bool, published: bool
) -> list[str]:
    per = len(metrics) + (1 if failed else 0)
    lines = [r"\begin{table}[t]", r"\centering", r"\begin{tabular}{l" + ("r" * per) * len(t.datasets) + "}"]
    lines.append(r"\toprule")
    lines.append(
        "Method & " + " & ".join(rf"\multicolumn{{{per}}}{{c}}{{{_tex(ds)}}}" for ds in t.datasets) + r" \\"
    )
    lines.append(
        " ".join(rf"\cmidrule(lr){{{2 + i * per}-{1 + (i + 1) * per}}}" for i in range(len(t.datasets)))
    )
    sub = [SHORT[m] for m in metrics] + (["fail"] if failed else [])
    lines.append(" & " + " & ".join(sub * len(t.datasets)) + r" \\")
    lines.append(r"\midrule")
    for row in t.rows:
        cells = []
        for ds in t.datasets:
            c = t.cells.get((row, ds))
            cells += [_f(c.metrics[m][0]) if c and m in c.metrics else "-" for m in metrics]
            cells += [f"{c.n_failed}/{c.n}" if c else "-"] if failed else []
            if c is not None and c.off_suite:
                cells[-1] += r"$^*$"  # not the suite's setting (table.md / table.csv say how)
        lines.append(_tex(t.label(row)) + " & " + " & ".join(cells) + r" \\")
    if published:
        for p in t.published:
            lines.append(r"\midrule")
            lines.append(
                rf"\multicolumn{{{1 + per * len(t.datasets)}}}{{l}}{{\textit{{published: {_tex(p.id)}}}}} \\"
            )
            pub_keys = {"miou_matched": "mIoU", "ari": "ARI"}
            for m, per_ds in p.rows.items():
                cells = []
                for ds in t.datasets:
                    vals = per_ds.get(ds, {})
                    cells += [_f(vals.get(pub_keys.get(k, ""))) for k in metrics]
                lines.append(_tex(m) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_tex(caption)}}}", r"\end{table}"]
    return lines


def to_latex(t: PaperTable) -> str:
    """table.tex: the paper's layout and ours, booktabs (needs \\usepackage{booktabs})."""
    paper = _tex_table(
        t,
        PAPER_METRICS,
        f"Suite {t.suite}: mIoU / ARI. {t.aggregation}.",
        failed=False,
        published=bool(t.published),
    )
    ours = _tex_table(
        t,
        OUR_METRICS,
        f"Suite {t.suite}: panoptic IoU, boundary F, failed images. {t.aggregation}.",
        True,
        False,
    )
    desc = []
    if t.desc_metrics:  # a method described its regions
        caption = f"Suite {t.suite}: description similarity / validity / distinctness. {t.aggregation}."
        desc = [""] + _tex_table(t, t.desc_metrics, caption, False, False)
    return (
        "% generated by `bench table`; needs \\usepackage{booktabs}\n"
        + "\n".join(paper + [""] + ours + desc)
        + "\n"
    )


def write_table(t: PaperTable, out_dir: str | Path) -> dict[str, Path]:
    """Every file of the module docstring into ``out_dir`` (created); name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "table.csv": cells_frame(t).to_csv(index=False),
        "by_regions.csv": regions_frame(t).to_csv(index=False),
        "pred_k.csv": pred_k_frame(t).to_csv(index=False),
        "table.md": to_markdown(t),
        "table.tex": to_latex(t),
    }
    if t.published:
        files["published.csv"] = published_frame(t).to_csv(index=False)
    paths = {}
    for name, text in files.items():
        atomic_write(out / name, text)
        paths[name] = out / name
    return paths
