"""Per-image records: one typed row, :class:`RecordRow`, owns the column schema of every results table.

A record is one image of a `bench run` or `bench score`: ok, failed (a method exception, a timeout,
a malformed or missing prediction) or scored from a prediction file. Every one is built by
:meth:`RecordRow.build`, the only place that turns scores, timings and a prediction's size into a
row. The dataclass fields are the columns, in table order; their annotations give the arrow types
(:func:`schema`): ``str`` -> string, ``int`` -> int64, ``bool`` -> bool, ``float`` ->
float64, ``X | None`` nullable. The journal (``records.jsonl``) holds :meth:`RecordRow.to_json`
lines and ``records.parquet`` the same rows under that schema (:mod:`benchmark.journal`).

Metric columns are the keys of ``benchmark.metrics.score_partition``: ``METRIC_KEYS`` (always
set) and :data:`OPTIONAL_METRIC_KEYS` (present in the schema always, null when not computed, e.g.
when the number of predicted channels is unknown). :data:`DESC_METRIC_KEYS` are the description
metrics (:mod:`benchmark.metrics.descriptions`), null when the prediction had no descriptions or no
text model was found. ``n_gt``/``n_pred`` are its region counts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any, get_args, get_type_hints

import pyarrow as pa

from textureade.errors import UserError, first_line
from textureade.fileio import JsonlLog

if TYPE_CHECKING:
    import pandas as pd

    from benchmark.protocol import PartitionInfo

#: Metrics score_partition returns only in some settings (null in the other records).
OPTIONAL_METRIC_KEYS: tuple[str, ...] = ("dice_matched", "dice_panoptic", "dustbin_share")
#: Description metrics (:mod:`benchmark.metrics.descriptions`): null unless the prediction had descriptions.
DESC_METRIC_KEYS: tuple[str, ...] = ("desc_similarity", "desc_valid", "desc_distinct")
#: Timing stages a record may carry (seconds), as ``time_<stage>``; ``time_total`` is their sum.
TIME_STAGES: tuple[str, ...] = ("load", "predict", "score")
STATUSES: tuple[str, ...] = ("ok", "failed")
_ARROW = {str: pa.string(), int: pa.int64(), bool: pa.bool_(), float: pa.float64()}


@dataclass(frozen=True)
class RowContext:
    """What every record of one run shares: the method's name, the dataset's name, the protocol
    (``oracle-k``, ``oracle-k-blind``, ``autonomous``; ``external`` for `bench score`)."""

    method: str
    dataset: str
    protocol: str


@dataclass(kw_only=True)
class RecordRow:
    """One image's result. Field order is column order.

    index: position in the dataset stream (0-based). k_given: the K told to the method (None:
    not told, or `bench score`). height/width: the ground truth's size; pred_height/pred_width:
    the prediction's own size (None when there is none), resized: whether it was resized to the
    ground truth. n_desc: descriptions returned (None for a failed image, or a score without
    ``<id>.json``). Metrics: see the module docstring. time_*: seconds (time_total None when the
    prediction time is unknown). extras: a JSON object (text) of the method's diagnostics.
    """

    index: int
    id: str
    base_id: str | None = None
    status: str
    reason: str | None = None
    method: str
    dataset: str
    protocol: str
    k_given: int | None = None
    n_gt: int | None = None
    n_pred: int | None = None
    n_desc: int | None = None
    height: int
    width: int
    pred_height: int | None = None
    pred_width: int | None = None
    resized: bool | None = None
    miou_matched: float | None = None
    iou_panoptic: float | None = None
    miou_many_to_one: float | None = None
    ari: float | None = None
    vi: float | None = None
    vi_bits: float | None = None
    covering: float | None = None
    pixel_acc_matched: float | None = None
    boundary_f: float | None = None
    boundary_iou: float | None = None
    dice_matched: float | None = None
    dice_panoptic: float | None = None
    dustbin_share: float | None = None
    desc_similarity: float | None = None
    desc_valid: float | None = None
    desc_distinct: float | None = None
    time_load: float | None = None
    time_predict: float | None = None
    time_score: float | None = None
    time_total: float | None = None
    extras: str = "{}"

    @classmethod
    def build(
        cls,
        *,
        index: int,
        sample_id: str,
        base_id: str | None,
        gt_shape: tuple[int, ...],
        context: RowContext,
        scores: Mapping[str, float],
        status: str = "ok",
        reason: str | None = None,
        k_given: int | None = None,
        partition: PartitionInfo | None = None,
        n_desc: int | None = None,
        timings: Mapping[str, float] | None = None,
        extras: Mapping[str, Any] | None = None,
    ) -> RecordRow:
        """The one constructor of records. scores: a ``score_partition`` or ``score_failure`` dict
        (every METRIC_KEY, the counts, optional metrics). partition: how the prediction became the
        scored partition (None when there is none). timings: stage -> seconds (:data:`TIME_STAGES`).
        ValueError for a score key the schema lacks, a missing metric or an infinite score."""
        from benchmark.metrics import COUNT_KEYS, METRIC_KEYS

        if status not in STATUSES:
            raise ValueError(f"record {sample_id}: status must be 'ok' or 'failed', got {status!r}")
        if status == "failed" and not reason:
            raise ValueError(f"record {sample_id}: a failed record needs a reason")
        unknown = (
            set(scores)
            - set(METRIC_KEYS)
            - set(OPTIONAL_METRIC_KEYS)
            - set(DESC_METRIC_KEYS)
            - set(COUNT_KEYS)
        )
        missing = set(METRIC_KEYS) - set(scores)
        if unknown or missing:
            raise ValueError(
                f"record {sample_id}: scores lack {sorted(missing)} or have keys the record schema "
                f"lacks {sorted(unknown)} (add them to RecordRow)"
            )
        values: dict[str, Any] = {}
        for key, value in scores.items():
            if key in COUNT_KEYS:
                values[key] = int(value)
            elif math.isinf(float(value)):
                raise ValueError(f"record {sample_id}: score {key} must be finite, got {value!r}")
            else:
                values[key] = float(value)
        times = dict(timings or {})
        if set(times) - set(TIME_STAGES):
            raise ValueError(
                f"record {sample_id}: unknown timing stages {sorted(set(times) - set(TIME_STAGES))}"
            )
        total = sum(times.values()) if "predict" in times else None
        if partition is not None:
            values.update(
                pred_height=partition.pred_height, pred_width=partition.pred_width, resized=partition.resized
            )
        return cls(
            index=int(index),
            id=str(sample_id),
            base_id=base_id,
            status=status,
            reason=reason,
            method=context.method,
            dataset=context.dataset,
            protocol=context.protocol,
            k_given=k_given,
            n_desc=n_desc,
            height=int(gt_shape[0]),
            width=int(gt_shape[1]),
            **{f"time_{k}": float(v) for k, v in times.items()},
            time_total=total,
            extras=json.dumps(dict(extras or {}), default=str, sort_keys=True),
            **values,
        )

    def to_json(self) -> dict[str, Any]:
        """The journal line: every column, None for nulls."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "records") -> RecordRow:
        """A journal line back as a row; UserError naming the columns the schema does not know."""
        unknown = set(data) - set(columns())
        if unknown:
            raise UserError(f"{where}: record {data.get('id')} has unexpected columns {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise UserError(f"{where}: record {data.get('id')} is incomplete: {exc}") from None


def _base_type(hint: Any) -> type:
    args = [a for a in get_args(hint) if a is not NoneType] if isinstance(hint, UnionType) else [hint]
    return args[0]


@cache
def columns() -> tuple[str, ...]:
    """Every column name, in table order."""
    return tuple(f.name for f in fields(RecordRow))


@cache
def schema() -> pa.Schema:
    """The arrow schema of records.parquet, from RecordRow's field annotations."""
    hints = get_type_hints(RecordRow)
    return pa.schema([pa.field(name, _ARROW[_base_type(hints[name])]) for name in columns()])


def metric_columns() -> tuple[str, ...]:
    """Metric columns in report order: ``METRIC_KEYS``, :data:`OPTIONAL_METRIC_KEYS`, :data:`DESC_METRIC_KEYS`."""
    from benchmark.metrics import METRIC_KEYS

    extra = OPTIONAL_METRIC_KEYS + DESC_METRIC_KEYS
    return tuple(METRIC_KEYS) + tuple(k for k in extra if k not in METRIC_KEYS)


def rows_frame(rows: Iterable[RecordRow]) -> pd.DataFrame:
    """Rows as a DataFrame with the parquet file's dtypes (through the arrow schema)."""
    return pa.Table.from_pylist([r.to_json() for r in rows], schema=schema()).to_pandas()


def read_records(path: str | Path, only: Iterable[str] | None = None) -> pd.DataFrame:
    """The records of a run folder (its records.parquet, else the journal of an unfinished run) or
    of a records.parquet file, typed by the schema. only: the columns wanted (schema names)."""
    path = Path(path)
    wanted = list(only) if only is not None else list(columns())
    unknown = set(wanted) - set(columns())
    if unknown:
        raise ValueError(f"not record columns: {sorted(unknown)}")
    parquet = path / "records.parquet" if path.is_dir() else path
    if parquet.is_file():
        try:
            import pandas as pd
            import pyarrow.parquet as pq

            have = set(pq.ParquetFile(parquet).schema_arrow.names)
            return pd.read_parquet(parquet, columns=[c for c in wanted if c in have])
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read records {parquet}: {first_line(exc)}") from None
    journal = path / "records.jsonl"
    if path.is_dir() and journal.is_file():
        return rows_frame(RecordRow.from_json(line, str(journal)) for line in JsonlLog(journal))[wanted]
    raise UserError(
        f"no records at {path}; pass a run folder (records.parquet or records.jsonl) or a records.parquet"
    )
