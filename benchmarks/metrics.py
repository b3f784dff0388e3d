"""Time ``score_partition`` against a naive reference composition on 512 x 683 label maps.

The naive reference computes the same published definitions the usual way: sklearn's
``adjusted_rand_score`` over pixels, skimage's ``variation_of_information`` (bits, converted to
nats), one boolean mask pair per (GT region, predicted region) for the IoU matrix, the
boundary-iou-api ``mask_to_boundary`` (pad + d-fold 3x3 erosion) per region, and DAVIS
``_seg2bmap`` + disk dilation per region. Both run in this process on the same pairs; every
key must agree to 1e-9 (``vi_bits`` against skimage's raw sum). Two id layouts: ids 1..K
(what the readers and the runner write) and the same maps with ids scattered in 1..199 (8-bit
ids are their own codes in ``score_partition``: no compaction pass, so both cost about the same).
OpenCV runs single-threaded on both sides by default (``--threads``), so CPU time = wall time.
Prints, per layout, the best-of-R time per pair in wall and CPU time, the speed-up and a
PASS/FAIL line (CPU speed-up >= ``--target``, default 20, and max abs difference <= 1e-9); exit
status 0 only when both layouts pass.
Usage: ``python benchmarks/metrics.py [--pairs N] [--repeat R] [--threads T] [--target X]``.
Needs scikit-learn (a dev dependency; the metrics themselves never import it).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.metrics import METRIC_KEYS, score_partition  # noqa: E402


def blob_partition(rng: np.random.Generator, h: int, w: int, k: int, zero_frac: float = 0.0) -> np.ndarray:
    """Smooth random partition with k regions (ids 1..k), a share ``zero_frac`` of 0 pixels."""
    field = rng.standard_normal((k, h // 16 + 2, w // 16 + 2)).astype(np.float32)
    up = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in field])
    labels = np.argmax(up, axis=0)
    out = (labels + 1).astype(np.int32)
    if zero_frac > 0:
        hole = cv2.resize(rng.standard_normal((h // 32 + 2, w // 32 + 2)).astype(np.float32), (w, h))
        out[hole > np.quantile(hole, 1 - zero_frac)] = 0
    return out


# ----------------------------------------------------------------------------- naive reference
def _seg2bmap(seg: np.ndarray) -> np.ndarray:
    seg = seg.astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def _disk(r: int) -> np.ndarray:
    x = np.arange(-r, r + 1)
    return ((x[:, None] ** 2 + x[None, :] ** 2) <= r * r).astype(np.uint8)


def _mask_to_boundary(mask: np.ndarray, d: int) -> np.ndarray:
    h, w = mask.shape
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=d)[1 : h + 1, 1 : w + 1]
    return mask - eroded


def naive_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    from skimage.metrics import variation_of_information
    from sklearn.metrics import adjusted_rand_score

    valid = gt != 0
    gz = np.where(valid, gt, 0)
    pz = np.where(valid, pred, 0)
    g_ids = [v for v in np.unique(gz) if v != 0]
    p_ids = [v for v in np.unique(pz) if v != 0]
    gm = [gz == g for g in g_ids]
    pm = [pz == p for p in p_ids]
    iou = np.zeros((len(g_ids), len(p_ids)))
    for i, a in enumerate(gm):
        for j, b in enumerate(pm):
            iou[i, j] = np.logical_and(a, b).sum() / np.logical_or(a, b).sum()
    rows, cols = linear_sum_assignment(iou, maximize=True)
    out = {"miou_matched": iou[rows, cols].mean(), "iou_panoptic": iou[rows, cols].sum() / max(iou.shape)}
    mapped = np.zeros_like(gz)
    for b in pm:
        ov = [np.logical_and(b, a).sum() for a in gm]
        if max(ov) > 0:
            mapped[b] = g_ids[int(np.argmax(ov))]
    out["miou_many_to_one"] = np.mean(
        [
            np.logical_and(mapped == g, a).sum() / np.logical_or(mapped == g, a).sum()
            for g, a in zip(g_ids, gm)
        ]
    )
    out["ari"] = adjusted_rand_score(gt[valid], pred[valid])
    out["vi_bits"] = variation_of_information(gt[valid], pred[valid]).sum()  # skimage: bits
    out["vi"] = out["vi_bits"] * math.log(2)
    sizes = np.array([a.sum() for a in gm])
    out["covering"] = (sizes * iou.max(axis=1)).sum() / sizes.sum()
    out["pixel_acc_matched"] = (
        sum(np.logical_and(gm[r], pm[c]).sum() for r, c in zip(rows, cols)) / valid.sum()
    )
    # DAVIS: boundary map and dilation region by region, then OR.
    h, w = gt.shape
    r = math.ceil(0.008 * math.hypot(h, w))

    def bmaps(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = np.zeros((h, w), bool)
        dil = np.zeros((h, w), bool)
        for v in np.unique(z):
            bk = _seg2bmap(z == v)
            b |= bk
            dil |= cv2.dilate(bk.astype(np.uint8), _disk(r)).astype(bool)
        return b, dil

    gb, gdil = bmaps(gz)
    pb, pdil = bmaps(pz)
    n_fg, n_gt = pb.sum(), gb.sum()
    if n_fg == 0 or n_gt == 0:
        prec, rec = (1.0, 0.0) if n_gt else ((0.0, 1.0) if n_fg else (1.0, 1.0))
    else:
        prec, rec = (pb & gdil).sum() / n_fg, (gb & pdil).sum() / n_gt
    out["boundary_f"] = 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)
    d = max(1, int(round(0.02 * math.hypot(h, w))))
    gbs = [_mask_to_boundary(m.astype(np.uint8), d) for m in gm]  # every region's boundary
    pbs = [_mask_to_boundary(m.astype(np.uint8), d) for m in pm]
    vals = [((gbs[i] * pbs[j]) > 0).sum() / ((gbs[i] + pbs[j]) > 0).sum() for i, j in zip(rows, cols)]
    out["boundary_iou"] = float(np.mean(vals))
    return {k: float(v) for k, v in out.items()}


def make_pairs(
    n: int, seed: int = 0, h: int = 512, w: int = 683, scattered: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """GT with ids 1..K (as the readers write them; 10% dustbin in every other image) and a
    prediction with 2-6 regions (5% unassigned in every third); every fourth prediction is the
    GT shifted by (3, -5) pixels. ``scattered``: the same maps with every non-zero id sent to
    a distinct random id in 1..199 (same work for the naive side; still 8-bit codes for ours, but
    a 200 x 200 joint table instead of a small one)."""
    rng = np.random.default_rng(seed)
    lut_g = np.concatenate([[0], rng.permutation(np.arange(1, 200))])
    lut_p = np.concatenate([[0], rng.permutation(np.arange(1, 200))])
    pairs = []
    for i in range(n):
        gt = blob_partition(rng, h, w, int(rng.integers(2, 7)), 0.1 if i % 2 else 0.0)
        pred = blob_partition(rng, h, w, int(rng.integers(2, 7)), 0.05 if i % 3 == 0 else 0.0)
        if i % 4 == 0:  # a prediction close to the GT: shifted by a few pixels
            pred = np.roll(gt, (3, -5), axis=(0, 1))
        if scattered:
            gt, pred = lut_g[gt], lut_p[pred]
        pairs.append((pred.astype(np.uint16), gt.astype(np.uint8)))
    return pairs


def check(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Largest |score_partition - naive| over every pair and metric key (prints mismatches)."""
    worst = 0.0
    for pred, gt in pairs:
        fast, slow = score_partition(pred, gt), naive_scores(pred, gt)
        for k in METRIC_KEYS:
            diff = abs(fast[k] - slow[k])
            worst = max(worst, diff)
            if diff > 1e-9:
                print(f"MISMATCH {k}: fast {fast[k]!r} naive {slow[k]!r}")
    return worst


def best_times(cases: dict[str, list[tuple[np.ndarray, np.ndarray]]], repeat: int) -> dict[str, dict]:
    """Best per-pair time of each side for each case, in wall and in this process's CPU time.

    Each of the ``repeat`` rounds times, for every case in turn, all its pairs with one function,
    then all with the other: the blocks alternate between sides and cases, so neither a shared
    machine's load drifting nor a first-run warm-up favours one of them; the minimum over the
    rounds filters out other processes.
    """
    out = {k: {c: {"fast": math.inf, "naive": math.inf} for c in ("wall", "cpu")} for k in cases}
    for _ in range(repeat):
        for kind, pairs in cases.items():
            for name, fn in (("fast", score_partition), ("naive", naive_scores)):
                t0, c0 = time.perf_counter(), time.process_time()
                for pred, gt in pairs:
                    fn(pred, gt)
                t = out[kind]
                t["wall"][name] = min(t["wall"][name], (time.perf_counter() - t0) / len(pairs))
                t["cpu"][name] = min(t["cpu"][name], (time.process_time() - c0) / len(pairs))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads (both sides; default 1)")
    ap.add_argument("--target", type=float, default=20.0, help="speed-up needed to PASS (CPU time)")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    cases = {
        "ids 1..K": make_pairs(args.pairs),
        "ids scattered in 1..199": make_pairs(args.pairs, scattered=True),
    }
    worst = {kind: check(pairs) for kind, pairs in cases.items()}  # also warms both sides up
    times = best_times(cases, args.repeat)
    ok = True
    for kind, pairs in cases.items():
        t = times[kind]
        print(
            f"{len(pairs)} pairs of 512x683, 2-6 regions, {kind}: {len(METRIC_KEYS)} keys, "
            f"max abs diff {worst[kind]:.1e}"
        )
        for label in ("wall", "cpu"):
            f, n = t[label]["fast"], t[label]["naive"]
            print(
                f"  {label:>4}: score_partition {f * 1e3:.2f} ms/pair, naive {n * 1e3:.2f} ms/pair, speed-up {n / f:.1f}x"
            )
        ratio = t["cpu"]["naive"] / t["cpu"]["fast"]
        case_ok = worst[kind] <= 1e-9 and ratio >= args.target
        ok &= case_ok
        print(
            f"  {'PASS' if case_ok else 'FAIL'}: {kind}: speed-up {ratio:.1f}x (target >= {args.target:g}x), "
            f"max abs diff {worst[kind]:.1e} (limit 1e-9)"
        )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
