"""Regions per second of the VLM describer on the device present, and of a re-run served by its cache.

Default: a tiny random model of ``--family`` built in a temporary folder (a plumbing benchmark:
its answers are junk, so every region runs all attempts and falls back, the worst case). Real
weights::

    python benchmarks/describe.py --model Qwen/Qwen2.5-VL-3B-Instruct --device cuda --dtype bfloat16 \
        --presentation overlay --images 16 --batch-size 8

Images: scikit-image's bundled photographs resized to ``--size``, each cut into ``--k`` regions
(vertical bands, then the last band split horizontally). Prints one line per phase.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def scenes(n: int, size: int, k: int) -> list[tuple[np.ndarray, np.ndarray, list]]:
    """n (image, label_map, regions) triples: H x W x 3 uint8, H x W int32 with regions 1..k."""
    import cv2
    from skimage import data

    from textureade.describe.base import RegionInfo

    pool = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.immunohistochemistry()]
    out = []
    for i in range(n):
        img = cv2.resize(pool[i % len(pool)], (size, size), interpolation=cv2.INTER_AREA)
        lm = np.zeros((size, size), np.int32)
        edges = np.linspace(0, size, k, dtype=int) if k > 1 else [0, size]
        for j in range(len(edges) - 1):
            lm[:, edges[j] : edges[j + 1]] = j + 1
        if k > 1:
            lm[size // 2 :, edges[-2] :] = k
        out.append((img, lm, [RegionInfo(j, ["thing"]) for j in range(1, k + 1)]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="hub id (local cache), local folder or manifest name")
    ap.add_argument("--family", default="qwen2_5_vl", help="tiny model family when --model is not given")
    ap.add_argument("--presentation", default=None)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--k", type=int, default=3, help="regions per image")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=None)
    ap.add_argument("--max-retries", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args(argv)

    import torch

    from textureade.describe.vlm import VlmDescriber

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from textureade.testing.tiny_vlm import save_tiny_vlm

            model = str(save_tiny_vlm(args.family, Path(tmp) / args.family))
        opts = dict(presentation=args.presentation, batch_size=args.batch_size, max_retries=args.max_retries,
                    max_new_tokens=args.max_new_tokens, device=args.device, dtype=args.dtype)  # fmt: skip
        items = scenes(args.images, args.size, args.k)
        warm = VlmDescriber(model, **opts)
        warm.describe_batch(items[:1])  # loads weights, warms kernels; not timed
        d = VlmDescriber(model, cache_dir=Path(tmp) / "cache", **opts)
        d._model, d._processor = warm._model, warm._processor
        t0 = time.perf_counter()
        results = d.describe_batch(items)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        sec = time.perf_counter() - t0
        regions = sum(len(r.descriptions) for r in results)
        fell = sum(len(r.provenance["fallback_regions"]) for r in results)
        where = f"{d.device} ({torch.cuda.get_device_name()})" if str(d.device).startswith("cuda") else "cpu"
        print(
            f"model {d.model_id} [{d.family}, {d.presentation}, {args.dtype}] on {where}, torch threads "
            f"{torch.get_num_threads()}"
        )
        print(
            f"describe   {regions / sec:8.2f} regions/s  ({regions} regions of {len(items)} images in {sec:.2f} s; "
            f"{d.stats['generate_calls']} generate calls, {d.stats['prompts']} prompts, {fell} regions fell back)"
        )
        again = VlmDescriber(model, cache_dir=Path(tmp) / "cache", **opts)
        again._model, again._processor = warm._model, warm._processor
        t0 = time.perf_counter()
        again.describe_batch(items)
        sec = time.perf_counter() - t0
        print(
            f"cached     {regions / sec:8.2f} regions/s  ({again.stats['cache_hits']} cache hits, "
            f"{again.stats['generate_calls']} generate calls)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
