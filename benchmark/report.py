"""Leaderboard outputs: CSV (every column), Markdown table and a PNG bar chart with CI whiskers.

All three are generated from the DataFrame of :func:`benchmark.leaderboard.build_leaderboard`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.leaderboard import ORACLE_TAG, OURS_TAG, k_text, metric_columns
from benchmark.metrics import higher_is_better
from textureade.errors import UserError
from textureade.fileio import atomic_path, atomic_write
from textureade.manifests import origin_of
from textureade.preview.render import fmt


def _flag(value: object) -> bool:
    """A leaderboard boolean cell (numpy bool, or NaN/None where an older run lacks it)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and bool(value)


def to_markdown(df: pd.DataFrame, metrics: list[str] | None = None) -> str:
    """A Markdown table, one row per method x dataset x protocol, ``mean [lo, hi]`` per metric."""
    metrics = metrics or metric_columns(df)
    head = ["method", "dataset", "protocol", "K"]
    head += [f"{m} {'↑' if higher_is_better(m) else '↓'}" for m in metrics]
    head += ["n ok", "n failed", "img/s", "git", "dataset fp", "reimpl."]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in df.iterrows():
        k = k_text(r["protocol"], r.get("k"))
        name = str(r["method"]) + (f" {OURS_TAG}" if r.get("design") == "ours" else "")
        name += "" if r.get("complete", True) else " (partial)"
        protocol = str(r["protocol"]) + (f" {ORACLE_TAG}" if _flag(r.get("oracle")) else "")
        cells = [name, str(r["dataset"]), protocol, k]
        cells += [f"{fmt(r[m])} [{fmt(r[f'{m}_lo'])}, {fmt(r[f'{m}_hi'])}]" for m in metrics]
        cells += [str(int(r["n_ok"])), str(int(r["n_failed"])), fmt(r["images_per_s"], 2)]
        cells += [str(r.get("git_hash", "")), str(r.get("dataset_fingerprint", ""))[:19]]
        cells += ["yes" if r.get("reimplementation") else "no"]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        "\nMeans over images with 95% bootstrap CIs over images; failed images count with score 0. "
        "K: the number of regions given (GT = each image's own; not given: autonomous). "
        f"{ORACLE_TAG}: the method was given the ground-truth descriptions (an oracle, not comparable "
        f"with the published tables); {OURS_TAG}: a method of this project, not the authors' design."
    )
    return "\n".join(lines) + "\n" + note + "\n"


def plot_png(df: pd.DataFrame, path: Path, metrics: list[str] | None = None, max_metrics: int = 4) -> Path:
    """Bar chart: one panel per metric, bars per method grouped by dataset/protocol, CI whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (metrics or metric_columns(df))[:max_metrics]
    if not metrics:
        raise UserError("the leaderboard has no metric columns to plot")
    groups = list(dict.fromkeys(zip(df["dataset"], df["protocol"])))
    methods = list(dict.fromkeys(df["method"]))
    width = 0.8 / max(len(methods), 1)
    ncols = min(2, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    panel_w = max(4.5, 1.6 * len(groups) + 2)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_w * ncols, 3.6 * nrows), squeeze=False)
    axes = axes.ravel()
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    cmap = plt.get_cmap("tab10")
    for ax, metric in zip(axes, metrics):
        for j, method in enumerate(methods):
            xs, ys, lo, hi = [], [], [], []
            for g, (ds, proto) in enumerate(groups):
                sel = df[(df["method"] == method) & (df["dataset"] == ds) & (df["protocol"] == proto)]
                if sel.empty or pd.isna(sel.iloc[0][metric]):
                    continue
                r = sel.iloc[0]
                xs.append(g + (j - (len(methods) - 1) / 2) * width)
                ys.append(r[metric])
                lo.append(max(r[metric] - r[f"{metric}_lo"], 0.0))
                hi.append(max(r[f"{metric}_hi"] - r[metric], 0.0))
            ours = (df.loc[df["method"] == method, "design"] == "ours").any() if "design" in df else False
            label = f"{method} {OURS_TAG}" if ours else method
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=label, color=cmap(j % 10))
        ticks = [f"{d}\n{p}" + (f"\n{ORACLE_TAG}" if p == "oracle-k" else "") for d, p in groups]
        ax.set_xticks(range(len(groups)), ticks, fontsize=8)
        ax.set_title(f"{metric} ({'higher' if higher_is_better(metric) else 'lower'} is better)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle("mean over images, 95% bootstrap CI", fontsize=9)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return path


def write_leaderboard(
    df: pd.DataFrame, out_csv: str | Path, metrics: list[str] | None = None
) -> dict[str, Path]:
    """Write ``out_csv`` and, beside it, the same stem as ``.md`` and ``.png``. Returns the paths."""
    out_csv = Path(out_csv)
    if out_csv.suffix.lower() != ".csv":
        raise UserError(f"--out must name a .csv file, got {out_csv}")
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    if metrics:
        unknown = [m for m in metrics if m not in metric_columns(df)]
        if unknown:
            raise UserError(f"unknown metrics {unknown}; the leaderboard has {metric_columns(df)}")
    with atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False)
    md = out_csv.with_suffix(".md")
    atomic_write(md, to_markdown(df, metrics))
    png = plot_png(df, out_csv.with_suffix(".png"), metrics)
    return {"csv": out_csv, "md": md, "png": png}


def catalog() -> dict[str, list[dict]]:
    """Methods, datasets, suites and text models known here; methods, datasets and text models with
    whether they can be used here and why not."""
    from benchmark.datasets import DatasetSpec, dataset_availability, load_dataset_specs
    from benchmark.registry import MethodSpec, availability, builtin_names, load_method_specs
    from benchmark.suites import Suite, load_suites

    def override(path: str, name: str, builtin: set[str]) -> str | None:
        """None for a built-in manifest, else where the user's manifest is and what it replaces."""
        root = origin_of(path)
        if root is None or root.builtin:
            return None
        return f"user manifest {path}" + (", replacing the built-in one" if name in builtin else "")

    builtin = builtin_names("methods", MethodSpec, "method", "path")
    methods = []
    for spec in load_method_specs().values():
        try:
            reason = availability(spec)
        except UserError as exc:
            reason = str(exc)
        methods.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "protocols": list(spec.protocols),
                "needs_weights": bool(spec.weights),
                "available": reason is None,
                "reason": reason,
                "description": spec.description,
                "manifest": spec.path,
                "user_manifest": override(spec.path, spec.name, builtin),
            }
        )
    builtin = builtin_names("datasets", DatasetSpec, "dataset", "manifest")
    datasets = []
    for dspec in load_dataset_specs().values():
        reason = dataset_availability(dspec)
        where = dspec.default_path()
        datasets.append(
            {
                "name": dspec.name,
                "form": dspec.form,
                "path": str(where) if where else None,
                "protocol": dspec.protocol,
                "k": dspec.k,
                "available": reason is None,
                "reason": reason,
                "description": dspec.description,
                "manifest": dspec.manifest,
                "user_manifest": override(dspec.manifest, dspec.name, builtin),
            }
        )
    builtin = builtin_names("suites", Suite, "suite", "manifest")
    suites = [
        {
            "name": s.name,
            "datasets": s.datasets,
            "description": s.description,
            "manifest": s.manifest,
            "user_manifest": override(s.manifest, s.name, builtin),
        }
        for s in load_suites().values()
    ]
    return {"methods": methods, "datasets": datasets, "suites": suites, "text_models": _text_models(override)}


def _text_models(override: Any) -> list[dict]:
    """The ``text_models/*.yaml`` manifests, by the name ``--text-model`` takes (the file name): hub id,
    pinned revision, whether it is the one in force (``$TEXTUREADE_TEXT_MODEL``, else the default)
    and whether it is on this machine (looked up as a run does, offline) and why not."""
    from textureade.manifests import builtin_root, find_manifest, manifest_folders
    from textureade.text_model import find_text_model, read_text_model_manifest, resolve_text_model

    names = sorted({p.stem for _, folder in manifest_folders("text_models") for p in folder.glob("*.yaml")})
    builtin = {p.stem for p in (builtin_root().path / "text_models").glob("*.yaml")}
    in_force = resolve_text_model()
    models = []
    for name in names:
        manifest, reason = None, None
        try:
            manifest = read_text_model_manifest(name)
            find_text_model(name)
        except UserError as exc:  # not in the local cache (TextModelUnavailable), or a manifest to fix
            reason = str(exc)
        path = str(find_manifest("text_models", f"{name}.yaml"))
        models.append(
            {
                "name": name,
                "model": (manifest or {}).get("model"),
                "revision": (manifest or {}).get("revision"),
                "in_force": name == in_force,
                "available": reason is None,
                "reason": reason,
                "manifest": path,
                "user_manifest": override(path, name, builtin),
            }
        )
    return models


def _suite_cell(dataset: str, entry: dict) -> str:
    """``rwtd oracle-k-blind K=2 (+4 method settings)``: a suite's dataset setting in one phrase."""
    k = entry.get("k")
    text = f"{dataset} {entry['protocol']}" + ("" if k is None else f" K={'GT' if k == 'gt' else k}")
    n = len(entry.get("methods") or {})
    return text + (f" (+{n} method settings)" if n else "")


def catalog_table(cat: dict[str, list[dict]]) -> str:
    """Plain-text tables of :func:`catalog`."""
    lines = ["METHODS"]
    width = max([len(m["name"]) for m in cat["methods"]] + [6])
    for m in cat["methods"]:
        state = "ready" if m["available"] else f"unavailable: {m['reason']}"
        state += f" [{m['user_manifest']}]" if m["user_manifest"] else ""
        lines.append(f"  {m['name']:<{width}}  {m['kind']:<10} {','.join(m['protocols']):<38} {state}")
    lines.append("DATASETS")
    width = max([len(d["name"]) for d in cat["datasets"]] + [6])
    for d in cat["datasets"]:
        k = "GT" if d["k"] is None else d["k"]
        state = "ready" if d["available"] else f"unavailable: {d['reason']}"
        state += f" [{d['user_manifest']}]" if d["user_manifest"] else ""
        lines.append(f"  {d['name']:<{width}}  {d['form']:<10} {d['protocol']:<14} K={k:<3} {state}")
    lines.append("SUITES")
    for s in cat["suites"]:
        mark = f" [{s['user_manifest']}]" if s["user_manifest"] else ""
        lines.append(f"  {s['name']}: {', '.join(_suite_cell(n, v) for n, v in s['datasets'].items())}{mark}")
    lines.append("TEXT MODELS (description metrics; --text-model)")
    width = max([len(t["name"]) for t in cat["text_models"]] + [6])
    for t in cat["text_models"]:
        state = ("in force, " if t["in_force"] else "") + (
            "ready" if t["available"] else f"unavailable: {t['reason']}"
        )
        state += f" [{t['user_manifest']}]" if t["user_manifest"] else ""
        model = f"{t['model']}@{str(t['revision'])[:12]}" if t["revision"] else str(t["model"])
        lines.append(f"  {t['name']:<{width}}  {model:<50} {state}")
    return "\n".join(lines)
