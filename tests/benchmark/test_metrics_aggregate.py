"""Bootstrap intervals and the streaming (pooled) dataset-level partition metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.metrics import (
    METRIC_KEYS,
    PartitionAccumulator,
    bootstrap_ci,
    partition_stats,
    score_failure,
)


def test_bootstrap_ci_is_seeded_and_brackets_the_mean():
    rng = np.random.default_rng(0)
    v = rng.normal(0.6, 0.1, 200)
    lo, hi = bootstrap_ci(v)
    assert (lo, hi) == bootstrap_ci(list(v), n=1000, seed=0)
    assert lo < v.mean() < hi
    # The percentile interval of the mean is close to +-1.96 standard errors.
    se = v.std(ddof=1) / math.sqrt(len(v))
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert bootstrap_ci(v, seed=1) != (lo, hi)
    lo90, hi90 = bootstrap_ci(v, alpha=0.1)
    assert lo < lo90 < hi90 < hi


def test_bootstrap_ci_edge_cases():
    assert all(math.isnan(x) for x in bootstrap_ci([]))
    assert bootstrap_ci([0.25]) == (0.25, 0.25)
    assert bootstrap_ci([0.5, 0.5, 0.5]) == (0.5, 0.5)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([0.1, float("nan")])
    with pytest.raises(ValueError):
        bootstrap_ci([0.1], alpha=1.5)


def test_bootstrap_ci_chunking_matches_one_shot():
    v = np.random.default_rng(3).random(5000)  # 4e6 / 5000 = 800 resamples per chunk
    a = bootstrap_ci(v, n=1000, seed=4)
    rng = np.random.default_rng(4)
    means = np.concatenate(
        [
            v[rng.integers(0, len(v), size=(800, len(v)))].mean(1),
            v[rng.integers(0, len(v), size=(200, len(v)))].mean(1),
        ]
    )
    assert a == tuple(np.quantile(means, [0.025, 0.975]))


def test_partition_accumulator_pooled_and_means():
    rng = np.random.default_rng(0)
    acc = PartitionAccumulator()
    stats = []
    for _ in range(5):
        gt = rng.integers(1, 4, (12, 15))
        pred = rng.integers(0, 5, (12, 15))
        st = partition_stats(pred, gt)
        stats.append(st)
        acc.add(st)
    gt_fail = np.array([[1, 1], [2, 2]])
    fail = score_failure(gt_fail)
    acc.add_failure(fail, partition_stats(np.zeros_like(gt_fail), gt_fail))
    res = acc.result()
    assert res["n_images"] == 6
    for k in METRIC_KEYS:
        want = (sum(s.scores[k] for s in stats) + fail[k]) / 6
        assert res[f"mean_{k}"] == pytest.approx(want)
    assert res["pooled_miou_matched"] == pytest.approx(
        sum(s.matched_iou_sum for s in stats) / sum(s.n_matched for s in stats)
    )
    assert res["pooled_iou_panoptic"] == pytest.approx(
        sum(s.matched_iou_sum for s in stats) / (sum(s.max_gp for s in stats) + 2)
    )
    assert res["pooled_pixel_acc_matched"] == pytest.approx(sum(s.correct for s in stats) / (5 * 180 + 4))
    assert 0 <= res["pooled_boundary_f"] <= 1 and 0 <= res["pooled_boundary_iou"] <= 1
