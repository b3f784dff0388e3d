"""Leaderboards computed from run records only (``records.parquet`` + ``run.json`` of each run).

Each run is read typed: its :class:`benchmark.runinfo.RunInfo` and its records under the one
records schema (:func:`benchmark.records.read_records`; the journal of an unfinished run).

One row per method x dataset x protocol: every metric's mean over images (failed images count with
their failure scores, i.e. 0) with a 95% bootstrap confidence interval over images, counts of ok
and failed images, throughput and provenance (git hash, weights revisions, dataset fingerprint,
reimplementation flag), what the method was given (``given``; ``oracle``: it had the GT
descriptions) and whose design it is (``design``: the manifest's ``provenance.design``, ``ours``
for this project's own methods). Shown tables label such rows :data:`ORACLE_TAG` /
:data:`OURS_TAG`. Nothing is typed by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.records import read_records
from benchmark.runinfo import Given, RunInfo
from textureade.errors import UserError

#: Labels a shown number carries: a run given the GT descriptions (oracle-k) and a method of this
#: project's own design (manifest ``provenance.design: ours``; not the authors' nor a published one).
ORACLE_TAG = "[oracle: GT text]"
OURS_TAG = "[our design]"


#: What a failed image counts as in a column only score-map runs fill (the Detecture authors'
#: Dice and dustbin share; null in a failed record, whose channel count is unknown): the values of
#: an all-dustbin prediction, as ``score_failure`` is for the other metrics.
OPTIONAL_FAILURE_SCORES = {"dice_matched": 0.0, "dice_panoptic": 0.0, "dustbin_share": 1.0}
#: The same for the description metrics of an image without descriptions (a failed one, or one the
#: method returned none for: ``n_desc`` 0 or null), in a run whose method described (the column
#: holds values): no GT region's description is matched (similarity 0) and no description is valid.
#: ``desc_distinct`` (a property of descriptions given) stays null. A method that never describes
#: keeps null columns.
DESC_FAILURE_SCORES = {"desc_similarity": 0.0, "desc_valid": 0.0}


def with_failure_scores(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the null :data:`OPTIONAL_FAILURE_SCORES` of failed rows and the null
    :data:`DESC_FAILURE_SCORES` of rows without descriptions (failed, or ``n_desc`` 0/null; needs the
    ``n_desc`` column when a desc_* one is there) filled, in a run where the column holds values (a
    label-map run's Dice columns, the desc_* columns of a run without descriptions stay null)."""
    out = df
    failed = df["status"] == "failed"
    fills = [(key, value, failed) for key, value in OPTIONAL_FAILURE_SCORES.items()]
    if any(key in df for key in DESC_FAILURE_SCORES):
        undescribed = failed | df["n_desc"].isna() | (df["n_desc"] == 0)
        fills += [(key, value, undescribed) for key, value in DESC_FAILURE_SCORES.items()]
    for key, value, rows in fills:
        if key in df and rows.any() and df[key].notna().any():
            out = out.copy() if out is df else out
            out.loc[rows & out[key].isna(), key] = value
    return out


#: ``Given.k`` (where the K came from) in a few words
K_SOURCE_TEXT = {"none": "no K", "dataset": "K fixed", "cli": "K fixed (--k)", "gt": "K = GT count"}


def k_text(protocol: str, k: object) -> str:
    """A run's K in a table or a line: the fixed K, ``GT`` (each image's own region count) or ``not
    given`` (autonomous: no K; such runs record k = None, as a GT-count run does)."""
    if k is not None and not pd.isna(k):
        return str(int(k))
    return "not given" if protocol == "autonomous" else "GT"


def given_text(given: Given) -> str:
    """What a run's method was given, in a few words: ``K fixed; prompts: texture``."""
    k = K_SOURCE_TEXT.get(given.k, given.k)
    parts = [k + (" + GT text (oracle)" if given.gt_descriptions else "")]
    if given.prompts:
        parts.append("prompts: " + " | ".join(given.prompts))
    return "; ".join(parts)


def find_runs(paths: Iterable[str | Path]) -> list[Path]:
    """Run folders (holding run.json) among ``paths``, searched recursively, sorted, deduplicated."""
    found: list[Path] = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.exists():
            raise UserError(f"results folder {path} does not exist")
        if (path / "run.json").is_file():
            found.append(path.resolve())
        elif path.is_dir():
            found.extend(sorted(q.parent.resolve() for q in path.rglob("run.json")))
    runs = sorted(set(found))
    if not runs:
        raise UserError(f"no run.json under {', '.join(map(str, paths))}; point at `bench run --out` folders")
    return runs


def _weights_text(weights: dict[str, dict[str, Any]]) -> str:
    parts = []
    for name, w in sorted(weights.items()):
        rev = w.get("revision")
        parts.append(f"{name}={w.get('id')}" + (f"@{rev}" if rev else ""))
    return "; ".join(parts)


def metric_stats(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float] | None:
    """(mean, ci_lo, ci_hi) of per-image scores, NaNs left out (a metric an image lacks); None
    when no value is left. The one place a leaderboard or table averages a metric."""
    from benchmark.metrics import bootstrap_ci

    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    lo, hi = bootstrap_ci(values, n=n_boot, seed=seed)
    return float(values.mean()), float(lo), float(hi)


def summarize_run(
    run_dir: Path, n_boot: int = 1000, seed: int = 0, drop_failures: bool = False
) -> dict[str, Any]:
    """One leaderboard row for one run folder: its RunInfo and its typed records.

    Metrics: the run's metric columns that hold values (an optional metric the run did not
    compute is left out of its row, NaN in the table). drop_failures: average over the ok images
    only (the Detecture authors' aggregation); by default a failed image counts with its failure
    scores (0; :data:`OPTIONAL_FAILURE_SCORES` for the Dice / dustbin columns; an image without
    descriptions in a run that described: :data:`DESC_FAILURE_SCORES`). n/n_ok/n_failed
    always count every record."""
    from benchmark.metrics import METRIC_KEYS

    info = RunInfo.read(run_dir / "run.json")
    df = read_records(run_dir, ["id", "status", "n_desc", "time_total", *info.metric_keys])
    n = len(df)
    scored = df[df["status"] == "ok"] if drop_failures else with_failure_scores(df)
    row: dict[str, Any] = {
        "method": info.identity.method,
        "dataset": info.dataset.name,
        "protocol": info.identity.protocol,
        "k": info.identity.k,
        "n": n,
        "n_ok": int((df["status"] == "ok").sum()),
        "n_failed": int((df["status"] == "failed").sum()),
    }
    for key in info.metric_keys:
        stats = metric_stats(
            scored[key].to_numpy(dtype=float) if key in scored else np.array([]), n_boot, seed
        )
        if stats is not None:
            row.update({key: stats[0], f"{key}_lo": stats[1], f"{key}_hi": stats[2]})
        elif key in METRIC_KEYS:
            row.update({key: np.nan, f"{key}_lo": np.nan, f"{key}_hi": np.nan})
    total = float(df["time_total"].sum()) if n else 0.0
    row["images_per_s"] = n / total if total > 0 else np.nan
    row.update(
        complete=info.status == "complete",
        git_hash=info.environment.git.short,
        weights=_weights_text(info.method.weights),
        dataset_fingerprint=info.identity.dataset_fingerprint,
        reimplementation=info.method.reimplementation,
        run_dir=str(run_dir),
        given=given_text(info.given),
        oracle=bool(info.given.gt_descriptions),
        design=str(((info.method.manifest or {}).get("provenance") or {}).get("design") or ""),
    )
    return row


def build_leaderboard(paths: Iterable[str | Path], n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """All runs under ``paths`` as one table (sorted by dataset, protocol, method)."""
    rows = [summarize_run(r, n_boot=n_boot, seed=seed) for r in find_runs(paths)]
    seen: dict[tuple, str] = {}
    for row in rows:
        key = (row["method"], row["dataset"], row["protocol"], row["k"])
        if key in seen:
            raise UserError(
                f"two runs of {row['method']} on {row['dataset']} ({row['protocol']}): "
                f"{seen[key]} and {row['run_dir']}; pass one of them"
            )
        seen[key] = row["run_dir"]
    df = pd.DataFrame(rows)
    return df.sort_values(["dataset", "protocol", "method"], kind="stable").reset_index(drop=True)


def metric_columns(df: pd.DataFrame) -> list[str]:
    """Metric names present in a leaderboard (those with _lo/_hi companions), in table order."""
    return [c for c in df.columns if f"{c}_lo" in df.columns and f"{c}_hi" in df.columns]
