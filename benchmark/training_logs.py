"""The logs `bench train` writes beside its checkpoints: ``metrics.csv``, ``eval.csv``, ``tb/``, ``curves.png``.

- ``metrics.csv``: one row per optimizer step (the loop's row: step, epoch, stage, loss and its
  terms, the optimizer's numbers, samples seen, seconds); the same terms and numbers as
  TensorBoard scalars ``train/<name>`` at that step.
- ``eval.csv``: one row per evaluated epoch (step, epoch, the ``val_*`` scores, ``best``: 1 when the
  validation mIoU improved); the scores as TensorBoard scalars ``val/<name>`` (without ``val_``).
- ``tb/``: TensorBoard events (``torch.utils.tensorboard``).
- ``curves.png``: loss terms per step and validation scores per epoch, redrawn from the two CSVs.

On resume (:class:`TrainLogs` with ``resumed_from=step``) the CSVs keep the rows up to that step
and TensorBoard purges the events after it, so the logs equal those of an uninterrupted run.
The loop is :mod:`benchmark.training`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from textureade.fileio import atomic_path, atomic_write


class CsvLog:
    """A CSV file of dict rows; the header is fixed by the first row. ``truncate(step)`` on resume."""

    def __init__(self, path: Path):
        self.path, self.fields = path, None
        if path.is_file():
            with open(path, newline="") as f:
                self.fields = next(csv.reader(f), None)

    def truncate(self, step: int) -> None:
        """Keep the whole rows with ``step`` <= the given step (rewritten atomically; a torn last line
        from a killed run is dropped)."""
        if not self.path.is_file():
            return
        with open(self.path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if None not in r.values() and int(float(r["step"])) <= step]
        buf = io.StringIO()
        if self.fields:
            w = csv.DictWriter(buf, fieldnames=self.fields)
            w.writeheader()
            w.writerows(rows)
        atomic_write(self.path, buf.getvalue())

    def append(self, row: dict[str, Any]) -> None:
        new = self.fields is None
        if new:
            self.fields = list(row)
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
            f.flush()

    def rows(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with open(self.path, newline="") as f:
            return list(csv.DictReader(f))


def plot_curves(out: Path) -> Path:
    """``curves.png``: loss terms per step and validation scores per epoch (from the CSVs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, evals = CsvLog(out / "metrics.csv").rows(), CsvLog(out / "eval.csv").rows()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for key in [k for k in (steps[0] if steps else {}) if k == "loss" or k.startswith("loss_")]:
        a.plot([int(r["step"]) for r in steps], [float(r[key]) for r in steps], label=key)
    a.set_xlabel("optimizer step")
    a.set_yscale("log")
    a.legend(fontsize=7)
    for key in ("val_miou", "val_ari", "val_seg_emitted"):
        if evals and key in evals[0]:
            b.plot([int(r["step"]) for r in evals], [float(r[key]) for r in evals], marker="o", label=key)
    b.set_xlabel("optimizer step (epoch ends)")
    if b.lines:
        b.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(out / "curves.png") as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return out / "curves.png"


class TrainLogs:
    """The logs of one training run in ``out`` (see the module docstring); ``close()`` when done.

    resumed_from: the optimizer step of the checkpoint a resumed run starts from (None: a new run);
    the CSV rows and TensorBoard events after it are dropped.
    """

    def __init__(self, out: Path, resumed_from: int | None = None):
        from torch.utils.tensorboard import SummaryWriter

        self.out = out
        self.metrics, self.evals = CsvLog(out / "metrics.csv"), CsvLog(out / "eval.csv")
        if resumed_from is not None:
            self.metrics.truncate(resumed_from)
            self.evals.truncate(resumed_from)
        self.tb = SummaryWriter(str(out / "tb"), purge_step=resumed_from + 1 if resumed_from else None)

    def log_step(self, row: dict[str, Any], scalars: dict[str, float]) -> None:
        """One optimizer step: ``row`` into metrics.csv, ``scalars`` as ``train/<name>`` at ``row["step"]``."""
        self.metrics.append(row)
        for k, v in scalars.items():
            self.tb.add_scalar(f"train/{k}", v, int(row["step"]))

    def log_eval(self, step: int, epoch: int, scores: dict[str, float], best: bool) -> None:
        """One evaluated epoch (1-based ``epoch``): a row of eval.csv, the scores as ``val/<name>``."""
        self.evals.append({"step": step, "epoch": epoch, **scores, "best": int(best)})
        for k, v in scores.items():
            self.tb.add_scalar(f"val/{k.removeprefix('val_')}", v, step)

    def end_epoch(self) -> None:
        """Flush TensorBoard and redraw curves.png."""
        self.tb.flush()
        plot_curves(self.out)

    def close(self) -> None:
        self.tb.close()
