"""`make demo`: the whole benchmark on an embedded default, no downloads, a few minutes on 2 cores.

1. writes a small ADE20K-form folder from scikit-image's bundled images
   (``textureade.testing.synthetic_ade.write_synthetic_ade``) and builds a mini TextureADE from it with the
   real pipeline (``textureade.pipeline.build``, offline describer);
2. makes a set of synthetic texture mosaics (``textureade.mosaic.make_mosaics``);
3. runs every registered method that can run here on both (the ``demo`` suite: each method told
   the ground-truth K; a method without that protocol runs under its first declared one); methods
   that cannot run here (e.g. weights not in the local cache) are listed as skipped with the reason;
4. prints the leaderboard and writes ``OUT/leaderboard.{csv,md,png}``;
5. writes two static sites that open from disk: ``OUT/report/index.html`` (`bench report` of the
   runs: leaderboard, per-run galleries from the saved predictions, comparisons) and
   ``OUT/preview/index.html`` (`textureade preview` of the mini TextureADE).

Usage: ``python -m benchmark.demo --out demo_out [--n-ade 48] [--n-mosaics 16] [--methods a,b]``.
Rerunning wipes OUT only when a previous demo made it (``OUT/.demo`` marker).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from textureade.errors import UserError, first_line

MARKER = ".demo"


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise UserError(f"{out} exists and was not made by the demo; pass another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by python -m benchmark.demo; safe to delete\n")


def make_data(out: Path, n_ade: int, n_mosaics: int, seed: int = 0) -> dict[str, Path]:
    """The two demo datasets (TextureADE-form folders) under ``out/data``."""
    from textureade.config import BuildConfig
    from textureade.mosaic import make_mosaics
    from textureade.pipeline import build
    from textureade.testing.synthetic_ade import write_synthetic_ade

    data = out / "data"
    ade = write_synthetic_ade(data / "ade20k-synthetic", n=n_ade, seed=seed)
    report = build(BuildConfig(ade20k=str(ade), out=str(data / "textureade"), progress=False, seed=seed))
    print(
        f"[demo] mini TextureADE: {report.counts} samples ({report.rejects} images rejected), {report.seconds:.1f} s"
    )
    t0 = time.perf_counter()
    make_mosaics(data / "mosaics", n_mosaics, seed=seed)
    print(f"[demo] {n_mosaics} mosaics, {time.perf_counter() - t0:.1f} s")
    return {"textureade": data / "textureade", "mosaics": data / "mosaics"}


def run_all(
    out: Path,
    datasets: dict[str, Path],
    methods: list[str] | None,
    limit: int | None,
    timeout: float,
    progress: bool,
) -> list[dict[str, Any]]:
    """Run every method that can run here on every dataset; returns one entry per method."""
    from benchmark.registry import availability, load_method_specs
    from benchmark.runner import RunConfig, run
    from benchmark.suites import get_suite

    specs = load_method_specs()
    if methods:
        unknown = sorted(set(methods) - set(specs))
        if unknown:
            raise UserError(f"unknown methods {unknown}; known: {', '.join(specs)}")
        specs = {name: specs[name] for name in methods}
    suite = get_suite("demo")
    entries: list[dict[str, Any]] = []
    for name, spec in specs.items():
        try:
            reason = availability(spec)
        except UserError as exc:
            reason = str(exc)
        if reason:
            print(f"[demo] skip {name}: {reason}")
            entries.append({"method": name, "status": "skipped", "reason": reason})
            continue
        for ds, path in datasets.items():
            protocol, k = suite.setting(ds)
            if protocol not in spec.protocols:
                protocol = spec.protocols[0]
            t0 = time.perf_counter()
            s = run(RunConfig(
                method=spec, dataset=ds, out=out / "runs" / f"{name}__{ds}", protocol=protocol, k=k, data_path=path,
                limit=limit, timeout=timeout, progress=progress, save_predictions=True,
            ))  # fmt: skip
            print(
                f"[demo] {name} on {ds} ({s.protocol}): {s.n_ok} ok, {s.n_failed} failed, "
                f"{time.perf_counter() - t0:.1f} s"
            )
            for sid, why in s.failures[:3]:
                print(f"[demo]   failed {sid}: {why}")
            entries.append({"method": name, "dataset": ds, "status": "ran", "protocol": s.protocol,
                            "ok": s.n_ok, "failed": s.n_failed})  # fmt: skip
    return entries


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmark.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo_out", help="output folder (default demo_out)")
    ap.add_argument("--n-ade", type=int, default=48, help="synthetic ADE20K images (about 1/3 become test)")
    ap.add_argument("--n-mosaics", type=int, default=16)
    ap.add_argument("--methods", default=None, help="comma-separated subset of methods (default: all)")
    ap.add_argument("--limit", type=int, default=None, help="at most N images per dataset")
    ap.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per image before it counts as failed"
    )
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        return _main(args)
    except UserError as exc:
        print(f"demo: error: {first_line(exc)}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    from benchmark.leaderboard import build_leaderboard
    from benchmark.report import to_markdown, write_leaderboard

    t0 = time.perf_counter()
    out = Path(args.out)
    _prepare(out)
    datasets = make_data(out, args.n_ade, args.n_mosaics)
    methods = [m.strip() for m in args.methods.split(",")] if args.methods else None
    entries = run_all(out, datasets, methods, args.limit, args.timeout, not args.no_progress)
    (out / "methods.json").write_text(json.dumps(entries, indent=2) + "\n")
    if not any(e["status"] == "ran" for e in entries):
        raise UserError("no method can run here; see the skip reasons above")
    df = build_leaderboard([out / "runs"])
    paths = write_leaderboard(
        df, out / "leaderboard.csv", ["miou_matched", "iou_panoptic", "ari", "boundary_f"]
    )
    print()
    print(to_markdown(df, ["miou_matched", "iou_panoptic", "ari", "boundary_f"]))
    skipped = [e for e in entries if e["status"] == "skipped"]
    if skipped:
        print("Skipped (cannot run here):")
        for e in skipped:
            print(f"  {e['method']}: {e['reason']}")
    from benchmark.html_report.site import write_report
    from textureade.preview.site import write_preview

    report = write_report([out / "runs"], out / "report")
    preview = write_preview(datasets["textureade"], out / "preview")
    print(f"[demo] report: {report.index} ({report.n_runs} runs, {len(report.comparisons)} comparisons)")
    print(f"[demo] preview: {preview.index} ({preview.n_samples} samples)")
    print(f"\n[demo] wrote {paths['csv']}, {paths['md']}, {paths['png']} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
