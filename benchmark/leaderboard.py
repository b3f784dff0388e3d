"""Leaderboards computed from run records only (``records.parquet`` + ``run.json`` of each run).

One row per method x dataset x protocol: every metric's mean over images (failed images count with
their failure scores, i.e. 0) with a 95% bootstrap confidence interval over images, counts of ok
and failed images, throughput and provenance (git hash, weights revisions, dataset fingerprint,
reimplementation flag). Nothing is typed by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from textureade.errors import UserError

ID_COLUMNS = ["method", "dataset", "protocol", "k"]


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


def read_run_records(run_dir: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The records of one run: records.parquet, else the journal of an unfinished run."""
    parquet = run_dir / "records.parquet"
    if parquet.is_file():
        try:
            import pyarrow.parquet as pq

            have = set(pq.ParquetFile(parquet).schema_arrow.names)
            cols = [c for c in columns if c in have] if columns else None
            return pd.read_parquet(parquet, columns=cols)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read {parquet}: {str(exc).splitlines()[0]}") from None
    journal = run_dir / "records.jsonl"
    if journal.is_file():
        from benchmark.journal import Journal

        df = pd.DataFrame(Journal(journal).iter_rows())
        return df[[c for c in columns if c in df.columns]] if columns and len(df) else df
    raise UserError(f"{run_dir} has run.json but no records (records.parquet or records.jsonl)")


def _weights_text(weights: dict[str, Any]) -> str:
    parts = []
    for name, w in sorted(weights.items()):
        rev = w.get("revision")
        parts.append(f"{name}={w.get('id')}" + (f"@{rev}" if rev else ""))
    return "; ".join(parts)


def summarize_run(run_dir: Path, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """One leaderboard row for one run folder."""
    from benchmark.metrics import bootstrap_ci

    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {run_dir / 'run.json'}: {str(exc).splitlines()[0]}") from None
    cfg = info.get("config", {})
    metric_keys = list(info.get("metric_keys", []))
    df = read_run_records(run_dir, ["id", "status", "time_total", *metric_keys])
    n = len(df)
    status = df["status"] if n else pd.Series([], dtype=str)
    row: dict[str, Any] = {
        "method": cfg.get("method"),
        "dataset": cfg.get("dataset"),
        "protocol": cfg.get("protocol"),
        "k": cfg.get("k"),
        "n": n,
        "n_ok": int((status == "ok").sum()),
        "n_failed": int((status == "failed").sum()),
    }
    for key in metric_keys:
        values = df[key].to_numpy(dtype=float) if n and key in df else np.array([])
        values = values[~np.isnan(values)]
        if len(values):
            lo, hi = bootstrap_ci(values, n=n_boot, seed=seed)
            row.update({key: float(values.mean()), f"{key}_lo": float(lo), f"{key}_hi": float(hi)})
        else:
            row.update({key: np.nan, f"{key}_lo": np.nan, f"{key}_hi": np.nan})
    total = float(df["time_total"].sum()) if n and "time_total" in df else 0.0
    row["images_per_s"] = n / total if total > 0 else np.nan
    env = info.get("environment", {})
    method = info.get("method", {})
    git = env.get("git", {})
    row.update(
        complete=info.get("status") == "complete",
        git_hash=(git.get("hash") or "")[:12] + ("+dirty" if git.get("dirty") else ""),
        weights=_weights_text(method.get("weights", {})),
        dataset_fingerprint=info.get("identity", {}).get("dataset_fingerprint"),
        reimplementation=bool(method.get("reimplementation", False)),
        run_dir=str(run_dir),
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
