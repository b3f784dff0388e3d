"""The runs a report shows: each run folder read typed (``RunInfo`` + records), its sortable columns,
its saved predictions and the dataset it ran on.

Sortable columns (:func:`sort_keys`): every numeric record column that holds a value, the run's
metric columns first (so description metrics such as ``desc_similarity`` appear when a run has
them, with no list to update). Direction: :func:`benchmark.metrics.higher_is_better`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.records import read_records
from benchmark.runinfo import RunInfo

if TYPE_CHECKING:
    import pandas as pd

    from benchmark.datasets import DatasetHandle

#: numeric record columns that describe the image, not its result
NOT_SORTABLE = ("index", "height", "width", "pred_height", "pred_width", "k_given")


@dataclass
class RunView:
    """One run folder as the report sees it. slug: its folder name under ``runs/`` in the site;
    pred_dir: its saved predictions (None when the run saved none)."""

    run_dir: Path
    info: RunInfo
    records: pd.DataFrame
    slug: str
    pred_dir: Path | None

    @property
    def method(self) -> str:
        return self.info.identity.method

    @property
    def dataset(self) -> str:
        return self.info.dataset.name

    @property
    def protocol(self) -> str:
        return self.info.identity.protocol

    @property
    def title(self) -> str:
        return f"{self.method} on {self.dataset} ({self.protocol})"


def sort_keys(view: RunView) -> list[str]:
    """The run's sortable record columns: its metric columns, then the other numeric columns with a value."""
    import pandas as pd

    df = view.records
    numeric = [
        c
        for c in df.columns
        if c not in NOT_SORTABLE
        and pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
    ]
    numeric = [c for c in numeric if df[c].notna().any()]
    first = [k for k in view.info.metric_keys if k in numeric]
    return first + [c for c in numeric if c not in first]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "run"


def load_runs(paths: list[Path]) -> list[RunView]:
    """Every run folder (typed), in ``paths`` order, with unique slugs."""
    views: list[RunView] = []
    used: set[str] = set()
    for run_dir in paths:
        info = RunInfo.read(run_dir / "run.json")
        base = _slug(f"{info.identity.method}__{info.dataset.name}__{info.identity.protocol}")
        slug, i = base, 2
        while slug in used:
            slug, i = f"{base}-{i}", i + 1
        used.add(slug)
        pred = run_dir / "predictions"
        if info.method.predictions:
            pred = Path(info.method.predictions)
        views.append(
            RunView(
                run_dir=run_dir,
                info=info,
                records=read_records(run_dir),
                slug=slug,
                pred_dir=pred if pred.is_dir() else None,
            )
        )
    return views


def open_run_dataset(
    view: RunView, override: dict[str, Any] | None = None
) -> tuple[DatasetHandle | None, str]:
    """The dataset a run scored against: ``override[dataset name]`` (a DatasetHandle or a path) when
    given, else the path run.json records. (handle, "") or (None, why not)."""
    from benchmark.datasets import DatasetHandle, open_dataset
    from textureade.errors import UserError, first_line

    given = (override or {}).get(view.dataset)
    if isinstance(given, DatasetHandle):
        return given, ""
    where = given if given is not None else view.info.dataset.path
    if where is None:
        return None, f"run.json names no dataset folder for {view.dataset} (pass --data {view.dataset}=PATH)"
    try:
        return open_dataset(str(where), skip_bad_shards=True), ""
    except UserError as exc:
        return None, f"cannot open the dataset {where}: {first_line(exc)}"
