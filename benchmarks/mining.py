"""Mining cost per image against decoding cost: is selection + regions cheap next to reading?

Usage: ``python benchmarks/mining.py [ADE20K_PATH] [--repeat N] [--limit N] [--target X]``. Without a
path it uses the genuine SceneParse150 samples in ../shared when present, else a synthetic ADE20K
folder (``write_synthetic_ade``). OpenCV runs single-threaded; times are process CPU time
(``time.process_time``: every thread of the process, the honest figure on a shared, busy machine).
For each image: decode = ``source.load(ref)`` (image + annotation -> Scene); mine = ``mine_scene``
(class typing, texture score, regions by appearance; no describer). Each figure is the median over
``--repeat`` rounds; the rounds interleave decode and mine so that a load spike on the machine
hits both. Prints per image decode ms, mine ms and ratio = mine / decode, then the mean ratio
(and a PASS / FAIL line when ``--target`` is given). Users wait for the whole build:
``benchmarks/build_e2e.py`` measures that (there, mining and the offline describer are each about
half of the per-image cost).
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


def _cpu_ms(fn, inner: int) -> float:
    """Process CPU ms per call over ``inner`` back-to-back calls."""
    c = time.process_time()
    for _ in range(inner):
        fn()
    return (time.process_time() - c) * 1000.0 / inner


def _measure(decode, mine, repeat: int, inner: int) -> tuple[float, float]:
    """Median CPU ms per call of ``decode`` and ``mine`` over ``repeat`` interleaved rounds."""
    dec, mn = [], []
    for _ in range(repeat):
        dec.append(_cpu_ms(decode, inner))
        mn.append(_cpu_ms(mine, inner))
    return statistics.median(dec), statistics.median(mn)


def main(argv: list[str] | None = None) -> int:
    import cv2

    from textureade.config import load_mining_config
    from textureade.mining import mine_scene
    from textureade.readers import open_ade20k

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=None)
    ap.add_argument("--repeat", type=int, default=7, help="rounds (the median is reported)")
    ap.add_argument("--inner", type=int, default=5, help="calls per round")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument(
        "--target", type=float, default=None, help="print PASS when the mean mine / decode ratio <= this"
    )
    args = ap.parse_args(argv)
    tmp = None
    if args.path:
        path, what = Path(args.path), "given"
    elif GENUINE.is_dir():
        path, what = GENUINE, "genuine SceneParse150 samples"
    else:
        from textureade.testing.synthetic_ade import write_synthetic_ade

        tmp = tempfile.TemporaryDirectory()
        path, what = write_synthetic_ade(Path(tmp.name) / "syn", n=8), "synthetic ADE20K"
    cv2.setNumThreads(0)
    cfg = load_mining_config()
    src = open_ade20k(path)
    refs = src.items()[: args.limit]
    mine_scene(src.load(refs[0]), cfg)  # warm-up: imports, kernels
    rows = []
    print(
        f"{what}: {len(refs)} images, work_max_side {cfg.work_max_side}, {args.repeat} rounds x {args.inner} calls"
    )
    print(f"{'image':24s} {'size':>9s} {'decode ms':>10s} {'mine ms':>9s} {'ratio':>6s}")
    for ref in refs:
        scene = src.load(ref)
        dec, mine = _measure(
            lambda r=ref: src.load(r), lambda s=scene: mine_scene(s, cfg), args.repeat, args.inner
        )
        h, w = scene.labels.shape
        rows.append((dec, mine))
        print(f"{ref.id:24s} {w:>4d}x{h:<4d} {dec:10.2f} {mine:9.2f} {mine / dec:6.2f}")
    ratios = [m / d for d, m in rows]
    mean_ratio = statistics.mean(ratios)
    d_mean = statistics.mean(r[0] for r in rows)
    m_mean = statistics.mean(r[1] for r in rows)
    print(
        f"{'mean':24s} {'':9s} {d_mean:10.2f} {m_mean:9.2f} {mean_ratio:6.2f}   (ratio of means {m_mean / d_mean:.2f})"
    )
    if args.target is not None:
        verdict = "PASS" if mean_ratio <= args.target else "FAIL"
        print(f"{verdict}: mean mine / decode = {mean_ratio:.2f} (target <= {args.target:g})")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
