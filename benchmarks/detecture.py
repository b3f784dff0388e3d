"""Seconds per image of the DETECTURE methods, split by stage, and a check that SAM 3's vision
encoder runs once per image.

Stages: ``vlm_generate`` (VLM generation, plus the seg-state re-read for the trained model),
``sam3_vision`` (SAM 3 image encoder), ``sam3_text_decode`` (SAM 3 text encoder, fusion encoder,
decoders and upsampling). Default: tiny random models built in a temporary folder (a plumbing
benchmark, not a speed claim). Real models::

    python benchmarks/detecture.py --vlm PATH --sam3 PATH [--checkpoint best.pt] --device cuda \
        --vlm-dtype bfloat16 --images 8 --k 2

Images: scikit-image's bundled photographs, resized to ``--size``. Exits 1 when the vision encoder
ran a different number of times than there were images.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def images(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    import cv2
    from skimage import data

    pool = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.hubble_deep_field()]
    return [
        cv2.resize(pool[i % len(pool)], (size[1], size[0]), interpolation=cv2.INTER_AREA) for i in range(n)
    ]


def run(name: str, method, imgs: list[np.ndarray], k: int | None, oracle: list[str] | None) -> bool:
    counter = [0]
    hook = method.grounder.model.vision_encoder.register_forward_hook(
        lambda *a: counter.__setitem__(0, counter[0] + 1)
    )
    method.predict(imgs[0], k, oracle)  # warm-up (lazy loads, kernels); not timed
    counter[0] = 0
    totals: dict[str, float] = {}
    t0 = time.perf_counter()
    for img in imgs:
        pred = method.predict(img, k, oracle)
        for stage, sec in pred.extras["timings"].items():
            totals[stage] = totals.get(stage, 0.0) + sec
    wall = (time.perf_counter() - t0) / len(imgs)
    hook.remove()
    n = len(imgs)
    split = "  ".join(f"{s} {totals[s] / n:.3f}" for s in ("vlm_generate", "sam3_vision", "sam3_text_decode"))
    ok = counter[0] == n
    print(
        f"{name:14s} {wall:.3f} s/image  ({split})  vision runs {counter[0]}/{n} images {'OK' if ok else 'FAIL'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vlm", help="VLM folder or hub id (default: a tiny random Qwen3-VL)")
    ap.add_argument("--sam3", help="SAM 3 folder or hub id (default: a tiny random SAM 3)")
    ap.add_argument("--checkpoint", help="published Detecture checkpoint (tiny mode: a random one)")
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--size", default="480x640", help="HxW of the test images")
    ap.add_argument("--k", type=int, default=2, help="regions asked for (oracle-k-blind)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", help="SAM 3 dtype")
    ap.add_argument("--vlm-dtype", default="float32")
    ap.add_argument("--max-new-tokens", type=int, default=40)
    args = ap.parse_args(argv)

    from baselines.detecture import Detecture
    from baselines.detecture_zs import DetectureZS
    from baselines.testing.tiny_detecture import save_random_checkpoint

    tmp = Path(tempfile.mkdtemp(prefix="bench-detecture-"))
    vlm, sam3, ckpt = args.vlm, args.sam3, args.checkpoint
    if not vlm or not sam3:
        from baselines.testing.tiny_sam3 import save_tiny_sam3
        from textureade.testing.tiny_vlm import save_tiny_vlm

        vlm = vlm or str(save_tiny_vlm("qwen3_vl", tmp / "vlm"))
        sam3 = sam3 or str(save_tiny_sam3(tmp / "sam3"))
        ckpt = ckpt or str(save_random_checkpoint(vlm, sam3, tmp / "ckpt.pt"))
        print("tiny random models (plumbing check; pass --vlm/--sam3 for real timings)")
    h, w = (int(x) for x in args.size.lower().split("x"))
    imgs = images(args.images, (h, w))
    import torch

    print(
        f"{args.images} images {h}x{w}, k={args.k}, device {args.device}, torch threads {torch.get_num_threads()}"
    )
    common = {"vlm": vlm, "sam3": sam3, "device": args.device, "dtype": args.dtype}
    zs = DetectureZS(**common, vlm_dtype=args.vlm_dtype, max_new_tokens=args.max_new_tokens)
    oracle = [f"Texture of region {i + 1} surface, plain, somewhere" for i in range(args.k)]
    ok = run("zs oracle-k", zs, imgs, args.k, oracle)
    ok &= run("zs blind", zs, imgs, args.k, None)
    if ckpt:
        det = Detecture(
            checkpoint=ckpt, **{**common, "dtype": args.vlm_dtype}, max_new_tokens=args.max_new_tokens
        )
        ok &= run("trained blind", det, imgs, args.k, None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
