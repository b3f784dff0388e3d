"""Runner memory is flat in the number of images: RSS after 1k and after 25k tiny samples.

Streams a generator dataset of 25,000 tiny (16 x 16, K=2) samples through ``benchmark.runner.run``
with a trivial brightness-threshold method (the subject is the runner: journal, records, scoring
and progress bookkeeping, not the method) and prints the resident set size after 1,000 and 25,000
samples and their ratio. A runner that kept samples or records would grow by tens of MB.

Usage: python benchmarks/runner_memory.py [--n 25000] [--at 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmark.datasets import DatasetHandle
from benchmark.registry import MethodSpec
from benchmark.runner import RunConfig, run
from textureade.types import Prediction, Sample


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class Threshold:
    """Region 1 = darker than the image mean, region 2 = brighter (a label map)."""

    name = "threshold"

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        gray = image.mean(axis=2)
        return Prediction(label_map=np.where(gray > gray.mean(), 2, 1).astype(np.int32))


def tiny_stream(n: int, size: int, marks: dict[int, float]) -> Iterator[Sample]:
    """n tiny samples; records RSS in ``marks`` when sample index i is requested (i in marks)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        if i in marks:
            marks[i] = rss_mb()
        img = rng.integers(0, 100, (size, size, 3), dtype=np.uint8)
        img[:, size // 2 :] += 100
        lm = np.ones((size, size), np.int32)
        lm[:, size // 2 :] = 2
        yield Sample(id=f"t{i:06d}", image=img, label_map=lm, descriptions=["Texture of a", "Texture of b"])


def measure(n: int, at: int, out_dir: Path, size: int = 16) -> dict[str, float]:
    """Run n samples; RSS (MiB) when sample ``at`` and the last sample are requested."""
    marks = {at: 0.0, n - 1: 0.0}
    handle = DatasetHandle(
        name="tiny-stream",
        form="python",
        factory=lambda: tiny_stream(n, size, marks),
        fingerprint_fn=lambda: f"tiny:{n}",
    )
    spec = MethodSpec(name="threshold", entry=f"{__name__}:Threshold")
    t0 = time.perf_counter()
    summary = run(RunConfig(method=spec, dataset=handle, out=out_dir, progress=False))
    seconds = time.perf_counter() - t0
    assert summary.n_records == n and summary.n_failed == 0
    return {"rss_at": marks[at], "rss_end": marks[n - 1], "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=25_000)
    ap.add_argument("--at", type=int, default=1_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(args.n, args.at, Path(tmp) / "run")
    print(f"RSS after {args.at} samples: {r['rss_at']:.1f} MiB")
    print(f"RSS after {args.n} samples: {r['rss_end']:.1f} MiB")
    print(f"ratio {r['rss_end'] / r['rss_at']:.3f} (growth {r['rss_end'] - r['rss_at']:+.1f} MiB); "
          f"{args.n / r['seconds']:.0f} samples/s")  # fmt: skip


if __name__ == "__main__":
    main()
