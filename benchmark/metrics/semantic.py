"""Class-indexed mIoU exactly as mmsegmentation's IoUMetric (for ADE-150 style semantic maps).

Dataset-level: I, U, P (predicted area) and L (label area) are summed over all images first;
IoU_c = sum I_c / sum U_c, mIoU = nanmean over classes (a class with union 0 is NaN and skipped),
Acc_c = sum I_c / sum L_c, mAcc = nanmean, aAcc = sum I / sum L. This is NOT the mean of
per-image mIoUs (torchmetrics' ``segmentation.MeanIoU`` averages per sample). Values are
fractions in [0, 1] (mmseg prints them x100, rounded to 2 decimals).

No `bench` command calls this module: the benchmark scores class-free partitions
(:mod:`benchmark.metrics.partition`). It is kept as a checked reference of the class-indexed
ADE-150 metric, for comparing a semantic model's maps with mmseg's published numbers;
``tests/benchmark/test_metrics_semantic.py`` pins it to mmseg's rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from textureade.types import ValidationError


def intersect_and_union(
    pred: np.ndarray,
    gt: np.ndarray,
    num_classes: int,
    ignore_index: int = 255,
    reduce_zero_label: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class (intersection, union, pred area, label area) of one image, float64 arrays (C,).

    pred, gt: equally shaped integer class maps. With ``reduce_zero_label`` the GT is first
    mapped 0 -> 255, then minus 1, then 254 -> 255 (mmseg's rule; 255 is hard-coded there).
    Pixels with ``gt == ignore_index`` are dropped; then I_c = #(pred == gt == c),
    P_c = #(pred == c), L_c = #(gt == c), U_c = P_c + L_c - I_c. Values outside 0..C-1 fall out
    of the histograms (a pixel whose GT is out of range still counts in P of its prediction).
    """
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValidationError(f"prediction shape {pred.shape} differs from ground truth shape {gt.shape}")
    if num_classes < 1:
        raise ValidationError(f"num_classes must be >= 1, got {num_classes}")
    label = gt.astype(np.int64).ravel()
    if reduce_zero_label:
        label = label.copy()
        label[label == 0] = 255
        label = label - 1
        label[label == 254] = 255
    p = pred.astype(np.int64).ravel()
    keep = label != ignore_index
    p, label = p[keep], label[keep]

    def hist(v: np.ndarray) -> np.ndarray:
        v = v[(v >= 0) & (v < num_classes)]
        return np.bincount(v, minlength=num_classes).astype(np.float64)

    area_i = hist(p[p == label])
    area_p = hist(p)
    area_l = hist(label)
    return area_i, area_p + area_l - area_i, area_p, area_l


def iou_metrics(area_i: np.ndarray, area_u: np.ndarray, area_l: np.ndarray) -> dict:
    """mmseg's ``total_area_to_metrics`` for IoU and Acc from summed areas (fractions, NaN-aware)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = area_i / area_u
        acc = area_i / area_l
        total_l = area_l.sum()
        a_acc = float(area_i.sum() / total_l) if total_l > 0 else float("nan")
    m_iou = float(np.nanmean(iou)) if np.any(~np.isnan(iou)) else float("nan")
    m_acc = float(np.nanmean(acc)) if np.any(~np.isnan(acc)) else float("nan")
    return {"aAcc": a_acc, "mIoU": m_iou, "mAcc": m_acc, "IoU": iou, "Acc": acc}


@dataclass
class IoUMetricAccumulator:
    """Streaming mmseg IoUMetric: ``add`` each image, ``compute`` the dataset-level metrics.

    Memory is four float64 vectors of length ``num_classes`` whatever the number of images.
    """

    num_classes: int
    ignore_index: int = 255
    reduce_zero_label: bool = False
    area_i: np.ndarray = field(init=False)
    area_u: np.ndarray = field(init=False)
    area_p: np.ndarray = field(init=False)
    area_l: np.ndarray = field(init=False)
    n_images: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.area_i = np.zeros(self.num_classes)
        self.area_u = np.zeros(self.num_classes)
        self.area_p = np.zeros(self.num_classes)
        self.area_l = np.zeros(self.num_classes)

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        i, u, p, lab = intersect_and_union(
            pred, gt, self.num_classes, self.ignore_index, self.reduce_zero_label
        )
        self.area_i += i
        self.area_u += u
        self.area_p += p
        self.area_l += lab
        self.n_images += 1

    def merge(self, other: IoUMetricAccumulator) -> None:
        """Add another accumulator's sums (parallel workers)."""
        self.area_i += other.area_i
        self.area_u += other.area_u
        self.area_p += other.area_p
        self.area_l += other.area_l
        self.n_images += other.n_images

    def compute(self) -> dict:
        """{"aAcc", "mIoU", "mAcc": float, "IoU", "Acc": per-class arrays (NaN = absent class)}."""
        return iou_metrics(self.area_i, self.area_u, self.area_l)
