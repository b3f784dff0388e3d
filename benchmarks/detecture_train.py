"""`bench train --method detecture` step time and memory on the tiny random models (CPU or GPU).

Builds the tiny Qwen3-VL + tiny SAM 3 (``baselines.testing``) and ``--n`` mosaics in a temp folder,
runs the published recipe (``manifests/train/detecture.yaml``: batch 2 x accumulation 4, 1008 x
1008 images and masks, crop augmentation) for ``--steps`` optimizer steps in stage 1 and in
stage 2, and prints seconds per optimizer step, peak RSS (and peak CUDA memory on a GPU) and the
trainable parameter counts per group. The numbers are what README "Training DETECTURE" quotes;
the real-model figures there are derived from parameter counts, not measured here.

Usage: python benchmarks/detecture_train.py [--steps 3] [--n 24] [--device cpu] [--threads 1]
"""

from __future__ import annotations

import argparse
import csv
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    from baselines.testing.tiny_weights import TinyWeights
    from benchmark.training import TrainConfig, train
    from textureade.mosaic import make_mosaics

    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="detecture-train-bench-"))
    tiny = TinyWeights(root / "weights")
    params = {"vlm": str(tiny.vlm("qwen3_vl")), "sam3": str(tiny.sam3()), "device": args.device,
              "dtype": "float32" if args.device == "cpu" else "bfloat16"}  # fmt: skip
    make_mosaics(root / "data", n=args.n, k=(2, 5), size=(256, 256), seed=0)
    for stage, first in ((1, 8), (2, 0)):
        cfg = root / f"stage{stage}.yaml"
        cfg.write_text(f"curriculum: {{stage1_epochs: {first}}}\ntraining: {{save_every_steps: 0}}\n")
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        train(TrainConfig(method="detecture", dataset=str(root / "data"), out=root / f"run{stage}", config=cfg,
                          max_steps=args.steps, options=params, progress=False))  # fmt: skip
        wall = time.perf_counter() - t0
        with open(root / f"run{stage}" / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        secs = [float(b["seconds"]) - float(a["seconds"]) for a, b in zip(rows, rows[1:], strict=False)]
        per_step = sum(secs) / max(len(secs), 1)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        line = f"stage {stage}: {per_step:.2f} s per optimizer step (8 samples), peak RSS {rss:.0f} MiB"
        if args.device.startswith("cuda"):
            line += f", peak CUDA {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
        print(f"{line}; whole call {wall:.1f} s (model load + count pass + {args.steps} steps)")

    from baselines.detecture_train import DetectureTrainer
    from benchmark.training import load_recipe

    trainer = DetectureTrainer(params, load_recipe("detecture"))
    counts = {g["name"]: sum(p.numel() for p in g["params"]) for g in trainer.optimizer.param_groups}
    print("trainable parameters (tiny):", counts, "total", sum(counts.values()))


if __name__ == "__main__":
    main()
