"""Gallery entries of one run: per image the picture, the ground truth and the prediction as coloured
overlays, the GT and predicted descriptions side by side as matched, and the image's scores.

The matching is the scorer's own: the Hungarian pairs of ``benchmark.metrics.partition_stats``
(GT region, predicted region) under the run's scoring options (run.json ``dataset.scoring``), so
the table shows the pairs ``miou_matched`` averaged. A matched predicted region is drawn in its GT
region's colour; unmatched predicted regions take colours after the GT's. IoU per pair is over the
scoring domain (GT 0 excluded under ``gt_zero="void"``, ``ignore_index`` excluded).

Thumbnails (``thumbs/<content key>-<kind>.jpg``, :mod:`textureade.preview.render`) are shared by
every run on the same images and written only when absent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.html_report.runs import RunView, open_run_dataset, sort_keys
from benchmark.metrics import higher_is_better
from textureade.errors import first_line
from textureade.preview.render import (
    content_key,
    hex_colour,
    overlay,
    palette,
    resize_image,
    thumb_shape,
    write_jpeg_once,
)
from textureade.readers.mapping import nearest_resize


@dataclass
class Thumbs:
    """Thumbnail bookkeeping of one report: files used (relative paths) and written now."""

    used: set[str] = field(default_factory=set)
    written: int = 0

    def put(self, out: Path, rel: str, draw: Any) -> str:
        if not (out / rel).is_file():
            self.written += write_jpeg_once(out / rel, draw())
        self.used.add(rel)
        return rel


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def read_prediction(
    pred_dir: Path, sample_id: str, shape: tuple[int, int]
) -> tuple[np.ndarray | None, list[str], str]:
    """(label map or None, descriptions, problem) of a saved prediction (benchmark.score's reader)."""
    from benchmark.predictions import safe_name
    from benchmark.score import PredictionProblem, load_prediction

    try:
        pred = load_prediction(pred_dir, sample_id, shape)
    except PredictionProblem as exc:
        return None, [], str(exc)
    descs: list[str] = []
    path = pred_dir / f"{safe_name(sample_id)}.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("descriptions"), list):
                descs = [str(d) for d in data["descriptions"]]
        except (OSError, ValueError):
            pass
    return pred, descs, ""


def matching(pred: np.ndarray, gt: np.ndarray, scoring: dict[str, Any]) -> list[tuple[int, int, float]]:
    """The scorer's Hungarian pairs as (GT id, predicted id, IoU over the scoring domain)."""
    from benchmark.metrics import partition_stats
    from benchmark.metrics.contingency import build_domain

    opts = {k: v for k, v in scoring.items() if k != "n_pred"}
    pairs = partition_stats(pred, gt, **opts).assignment
    outside = build_domain(pred, gt, opts.get("ignore_index"), opts.get("gt_zero", "void")).outside
    domain = np.ones(gt.shape, bool) if outside is None else ~outside
    out = []
    for g, p in pairs:
        a, b = (gt == g) & domain, (pred == p) & domain
        union = int((a | b).sum())
        out.append((int(g), int(p), int((a & b).sum()) / union if union else 0.0))
    return out


def _sample_item(
    view: RunView, sample: Any, rec: dict[str, Any], keys: list[str], out: Path, thumbs: Thumbs
) -> dict[str, Any]:
    gt = sample.label_map
    hw = thumb_shape(*gt.shape)
    key = content_key(sample.image)
    small = resize_image(sample.image, hw)
    n_gt = int(gt.max()) if gt.size else 0
    gt_colours = palette(max(n_gt, len(sample.descriptions)))
    gkey = content_key(sample.image, gt)
    imgs = [
        [thumbs.put(out, f"thumbs/{key}-image.jpg", lambda: small), "image", hw[1], hw[0]],
        [thumbs.put(out, f"thumbs/{gkey}-gt.jpg", lambda: overlay(small, nearest_resize(gt, hw), gt_colours)),
         f"ground truth, {len(np.unique(gt[gt > 0]))} regions", hw[1], hw[0]],
    ]  # fmt: skip
    rows: list[list[Any]] = []
    problem = ""
    if view.pred_dir is not None and rec["status"] == "ok":
        pred, pdescs, problem = read_prediction(view.pred_dir, sample.id, gt.shape)
        if pred is not None:
            pairs = matching(pred, gt, view.info.dataset.scoring)
            n_pred = int(pred.max()) if pred.size else 0
            lut = np.zeros((n_pred + 1, 3), np.uint8)
            lut[0] = (128, 128, 128)
            extra = palette(len(gt_colours) + n_pred)
            matched = {p: g for g, p, _ in pairs}
            for p in range(1, n_pred + 1):
                g = matched.get(p)
                lut[p] = (
                    gt_colours[g] if g is not None and g < len(gt_colours) else extra[len(gt_colours) - 1 + p]
                )
            pkey = content_key(sample.image, gt, pred)
            imgs.append([
                thumbs.put(out, f"thumbs/{pkey}-pred.jpg", lambda: overlay(small, nearest_resize(pred, hw), lut)),
                f"prediction, {len(np.unique(pred[pred > 0]))} regions", hw[1], hw[0],
            ])  # fmt: skip
            gd = sample.descriptions
            for g, p, iou in sorted(pairs):
                rows.append([
                    {"c": hex_colour(gt_colours[g]), "t": g}, gd[g - 1] if 0 < g <= len(gd) else "",
                    f"{iou:.3f}", {"c": hex_colour(lut[p]), "t": p}, pdescs[p - 1] if 0 < p <= len(pdescs) else "",
                ])  # fmt: skip
            gt_matched = {g for g, _, _ in pairs}
            present_gt = [int(g) for g in np.unique(gt) if g > 0 and g not in gt_matched]
            for g in present_gt:
                rows.append(
                    [
                        {"c": hex_colour(gt_colours[g]), "t": g},
                        gd[g - 1] if 0 < g <= len(gd) else "",
                        "unmatched",
                        "",
                        "",
                    ]
                )
            for p in [int(p) for p in np.unique(pred) if p > 0 and p not in matched]:
                text = pdescs[p - 1] if 0 < p <= len(pdescs) else ""
                rows.append(["", "", "unmatched", {"c": hex_colour(lut[p]), "t": p}, text])
    elif view.pred_dir is None and rec["status"] == "ok":
        problem = "no saved predictions (run with --save-predictions)"
    return _item(rec, keys, imgs, rows, problem)


def _item(rec: dict[str, Any], keys: list[str], imgs: list, rows: list, note: str) -> dict[str, Any]:
    values = {k: _num(rec.get(k)) for k in keys}
    scores = ", ".join(f"{k} {v:.4g}" for k, v in values.items() if v is not None)
    kv = [["scores", scores]]
    if note:
        kv.append(["note", note])
    return {
        "id": str(rec["id"]),
        "failed": rec["status"] == "failed",
        "reason": rec.get("reason") if rec["status"] == "failed" else None,
        "imgs": imgs,
        "kv": kv,
        "table": {"head": ["GT", "GT description", "IoU", "pred", "predicted description"], "rows": rows},
        "v": values,
    }


def gallery(
    view: RunView, out: Path, thumbs: Thumbs, datasets: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """(the GALLERY data of one run (site.js format), a note when images are missing)."""
    keys = sort_keys(view)
    records = view.records.to_dict("records")
    by_id = {str(r["id"]): r for r in records}
    items: dict[str, dict[str, Any]] = {}
    handle, note = open_run_dataset(view, datasets)
    if handle is not None:
        try:
            for sample in handle.iter_samples():
                rec = by_id.get(sample.id)
                if rec is not None and sample.id not in items:
                    items[sample.id] = _sample_item(view, sample, rec, keys, out, thumbs)
                    if len(items) == len(by_id):
                        break
        except Exception as exc:  # noqa: BLE001 - a dataset that breaks mid-way: show what we have
            note = f"reading the dataset stopped: {first_line(exc)}"
    missing = [r for r in records if str(r["id"]) not in items]
    if missing and not note:
        note = f"{len(missing)} records have no image in the dataset"
    for r in missing:
        items[str(r["id"])] = _item(r, keys, [], [], "image not available")
    ordered = [items[str(r["id"])] for r in records]
    spec = [{"key": k, "label": k, "hib": higher_is_better(k)} for k in keys]
    return {"page_size": 50, "keys": spec, "default_key": keys[0] if keys else "", "items": ordered}, note
