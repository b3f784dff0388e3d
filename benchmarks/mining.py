"""Mining cost per image against decoding cost: is selection + regions cheap next to reading?

Usage: ``python benchmarks/mining.py [ADE20K_PATH] [--repeat N] [--limit N]``. Without a path it uses
the genuine SceneParse150 samples in ../shared when present, else a synthetic ADE20K folder
(``write_synthetic_ade``). OpenCV runs single-threaded so that the thread's CPU time is the whole
cost (CPU time is also what to read on a shared, busy machine). For each image: decode = ``source.load(ref)`` (image + annotation ->
Scene); mine = ``mine_scene`` (class typing, texture score, regions by appearance; no describer).
Prints per-image medians over ``--repeat`` runs and the ratios (mine / decode and
(decode + mine) / decode). The design target is (decode + mine) / decode <= 3.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GENUINE = ROOT.parent / "shared" / "data" / "ade20k-sceneparsing-samples" / "ADEChallengeData2016"


def _median_ms(fn, repeat: int) -> tuple[float, float]:
    """Median (wall ms, CPU ms of this thread) over ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - t)
    return statistics.median(wall) * 1000.0, statistics.median(cpu) * 1000.0


def main(argv: list[str] | None = None) -> int:
    import cv2

    from textureade.config import load_mining_config
    from textureade.mining import mine_scene
    from textureade.readers import open_ade20k

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=None)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--limit", type=int, default=20)
    args = ap.parse_args(argv)
    tmp = None
    if args.path:
        path, what = Path(args.path), "given"
    elif GENUINE.is_dir():
        path, what = GENUINE, "genuine SceneParse150 samples"
    else:
        from textureade.synthetic_ade import write_synthetic_ade

        tmp = tempfile.TemporaryDirectory()
        path, what = write_synthetic_ade(Path(tmp.name) / "syn", n=8), "synthetic ADE20K"
    cv2.setNumThreads(0)
    cfg = load_mining_config()
    src = open_ade20k(path)
    refs = src.items()[: args.limit]
    mine_scene(src.load(refs[0]), cfg)  # warm-up: imports, kernels
    rows = []
    for ref in refs:
        scene = src.load(ref)
        dec = _median_ms(lambda r=ref: src.load(r), args.repeat)
        mine = _median_ms(lambda s=scene: mine_scene(s, cfg), args.repeat)
        h, w = scene.labels.shape
        rows.append((dec, mine))
        print(
            f"{ref.id:24s} {w}x{h}  decode {dec[0]:6.1f} ms wall {dec[1]:6.1f} ms cpu   "
            f"mine {mine[0]:6.1f} ms wall {mine[1]:6.1f} ms cpu   ratio(cpu) {mine[1] / dec[1]:5.2f}"
        )
    print(f"\n{what}: {len(rows)} images, work_max_side {cfg.work_max_side}, repeat {args.repeat}")
    for i, kind in enumerate(("wall", "cpu")):
        d = statistics.mean(r[0][i] for r in rows)
        m = statistics.mean(r[1][i] for r in rows)
        print(
            f"{kind:4s}: decode {d:6.1f} ms, mine {m:6.1f} ms per image (no describer); "
            f"mine / decode = {m / d:5.2f}, (decode + mine) / decode = {(d + m) / d:5.2f} (target <= 3)"
        )
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
