"""Segmentation metrics: pure numpy/scipy/OpenCV functions on label maps (no torch, no sklearn).

- :func:`score_partition` / :func:`score_failure`: per-image partition and boundary metrics
  (matched mIoU, panoptic IoU, many-to-one mIoU, ARI, VI, covering, matched pixel accuracy,
  DAVIS boundary F, Boundary IoU) from one contingency table per image (``partition.py``;
  the table and the evaluation domain in ``contingency.py``, boundary maps in ``boundary.py``).
  With ``n_pred=K`` the matched keys follow the Detecture authors' per-sample scorer and Dice and
  the dustbin share are added (``detecture.py``).
- :func:`intersect_and_union` / :class:`IoUMetricAccumulator`: class-indexed mIoU exactly as
  mmsegmentation's IoUMetric (dataset-level sums).
- :class:`PartitionAccumulator`, :func:`bootstrap_ci`: streaming dataset-level aggregation.
- :func:`higher_is_better`: the direction of any metric or record column, for every table,
  leaderboard and report.
"""

from benchmark.metrics.aggregate import PartitionAccumulator, bootstrap_ci
from benchmark.metrics.contingency import (
    adjusted_rand_index,
    ari_from_table,
    conditional_entropies,
    contingency,
    variation_of_information,
    vi_from_table,
)
from benchmark.metrics.detecture import DETECTURE_KEYS
from benchmark.metrics.partition import (
    COUNT_KEYS,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    METRIC_KEYS,
    SCORE_KEYS,
    PartitionStats,
    partition_stats,
    score_failure,
    score_partition,
)
from benchmark.metrics.semantic import IoUMetricAccumulator, intersect_and_union, iou_metrics


def higher_is_better(key: str) -> bool:
    """Whether a larger value of metric or record column ``key`` is better.

    :data:`HIGHER_IS_BETTER` for the partition metrics (VI lower); ``time_*`` columns (seconds)
    lower; every other column (the Detecture keys, ``desc_*``, counts) higher.
    """
    if key in HIGHER_IS_BETTER:
        return HIGHER_IS_BETTER[key]
    return not key.startswith("time_")


__all__ = [
    "COUNT_KEYS",
    "DETECTURE_KEYS",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "METRIC_KEYS",
    "SCORE_KEYS",
    "IoUMetricAccumulator",
    "PartitionAccumulator",
    "PartitionStats",
    "adjusted_rand_index",
    "ari_from_table",
    "bootstrap_ci",
    "higher_is_better",
    "conditional_entropies",
    "contingency",
    "intersect_and_union",
    "iou_metrics",
    "partition_stats",
    "score_failure",
    "score_partition",
    "variation_of_information",
    "vi_from_table",
]
