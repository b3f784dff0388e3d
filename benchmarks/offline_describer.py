"""The offline describer's cost per image, against another git revision of it, and what it says differently.

Usage: ``python benchmarks/offline_describer.py [--against REV] [--repeat N] [--mosaics N]``. Inputs: the
genuine SceneParse150 samples in ../shared (each mined with the default mining config, so the
describer sees the build's label maps and regions), and ``--mosaics`` texture mosaics of the default
bank at 384 x 512 (``textureade.mosaic.render_mosaic``, seeds 0..N-1), a wider variety of textures.

The describer of the working tree ("new") runs against ``textureade/describe/offline.py`` as it was
at ``--against`` ("old", loaded from ``git show``; default HEAD). OpenCV runs single-threaded; times
are process CPU ms per image, each the best of ``--repeat`` rounds, the rounds alternating old and
new so that a load spike on the shared machine hits both. Then every description of both is compared
and each changed one is printed (old, then new), with the count.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GENUINE = ROOT.parent / "shared" / "data" / "ade20k-sceneparsing-samples" / "ADEChallengeData2016"


def load_revision(rev: str, folder: Path):
    """The module ``textureade/describe/offline.py`` of git revision ``rev`` (imported from ``folder``)."""
    text = subprocess.run(
        ["git", "show", f"{rev}:textureade/describe/offline.py"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    path = folder / "offline_old.py"
    path.write_bytes(text)
    spec = importlib.util.spec_from_file_location("offline_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def genuine_inputs() -> list[tuple[str, object, object, list]]:
    """(name, image, label map, regions) of each genuine sample, mined as a build mines it."""
    from textureade.config import load_mining_config
    from textureade.mining import mine_scene
    from textureade.readers import open_ade20k

    src, cfg = open_ade20k(GENUINE), load_mining_config()
    out = []
    for ref in src.items():
        scene = src.load(ref)
        rs = mine_scene(scene, cfg).regions
        out.append((scene.id, scene.image, rs.label_map, rs.regions))
    return out


def mosaic_inputs(n: int) -> list[tuple[str, object, object, list]]:
    """(name, image, label map, regions) of ``n`` mosaics of the default texture bank, 384 x 512."""
    import numpy as np

    from textureade.describe.base import RegionInfo
    from textureade.mosaic import render_mosaic
    from textureade.textures import texture_bank

    bank = texture_bank(None)
    out = []
    for i in range(n):
        rng = np.random.default_rng([0, i])
        k = int(rng.integers(2, 6))
        image, labels, chosen, _ = render_mosaic(rng, bank, k, (384, 512))
        areas = np.bincount(labels.ravel(), minlength=k + 1)  # as textureade.mosaic gives them
        regions = [RegionInfo(j, [t.name], area=int(areas[j])) for j, t in enumerate(chosen, 1)]
        out.append((f"mosaic-{i}", image, labels, regions))
    return out


def cpu_ms_per_image(describer, inputs: list, inner: int) -> float:
    c = time.process_time()
    for _ in range(inner):
        for _, image, labels, regions in inputs:
            describer.describe(image, labels, regions)
    return (time.process_time() - c) * 1000.0 / (inner * len(inputs))


def main(argv: list[str] | None = None) -> int:
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", default="HEAD", help="the git revision of the 'old' describer")
    ap.add_argument("--repeat", type=int, default=20, help="rounds (the best is reported)")
    ap.add_argument("--inner", type=int, default=3, help="passes over the genuine samples per round")
    ap.add_argument("--mosaics", type=int, default=40, help="mosaics compared (not timed)")
    args = ap.parse_args(argv)
    if not GENUINE.is_dir():
        ap.error(f"the genuine samples are not at {GENUINE}")
    cv2.setNumThreads(0)
    from textureade.describe.offline import OfflineDescriber

    with tempfile.TemporaryDirectory() as tmp:
        old = load_revision(args.against, Path(tmp)).OfflineDescriber()
    new = OfflineDescriber()
    genuine = genuine_inputs()
    regions = sum(len(r) for *_, r in genuine)
    print(f"{len(genuine)} genuine images ({regions} regions), old = {args.against}, new = working tree")
    for d in (old, new):  # warm-up: imports, kernels
        cpu_ms_per_image(d, genuine, 1)
    best = {"old": float("inf"), "new": float("inf")}
    for _ in range(args.repeat):
        for name, d in (("old", old), ("new", new)):
            best[name] = min(best[name], cpu_ms_per_image(d, genuine, args.inner))
    print(
        f"describe ms per image (best of {args.repeat}): old {best['old']:.2f}, new {best['new']:.2f}, "
        f"{best['old'] / best['new']:.2f}x faster"
    )
    for label, inputs in (("genuine", genuine), ("mosaics", mosaic_inputs(args.mosaics))):
        changed = total = 0
        for name, image, labels, regs in inputs:
            a = old.describe(image, labels, regs).descriptions
            b = new.describe(image, labels, regs).descriptions
            total += len(a)
            for i, (x, y) in enumerate(zip(a, b, strict=True), 1):
                if x != y:
                    changed += 1
                    print(f"  {name} region {i}:\n    old: {x}\n    new: {y}")
        print(f"{label}: {changed} of {total} descriptions changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
