"""How fast a `bench report` gallery of N images loads in headless Chromium (issue #13: 2,000 in < 2 s).

Builds a TextureADE folder of N toy samples (48 x 48, tests/benchmark/runner_toys.py), runs the
toy threshold method on it with saved predictions (1 image in 7 fails), writes the report twice
(the second run reuses every thumbnail) and opens the run's gallery page from disk in headless
Chromium (tests/browser.py) several times. Prints the seconds from navigation to the load event
and to the first gallery image decoded (naturalWidth > 0), median over the loads.

Usage: ``python benchmarks/report_gallery.py [--n 2000] [--loads 5] [--keep DIR]``.
No assertion: the numbers are printed for a person to read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "benchmark")]

FIRST_IMAGE = (
    "(() => { const i = document.querySelector('#cards img'); return i && i.complete && i.naturalWidth; })()"
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--keep", default=None, help="work in this folder (kept) instead of a temporary one")
    args = ap.parse_args()

    import browser
    import runner_toys

    from benchmark.html_report.site import write_report
    from benchmark.registry import MethodSpec
    from benchmark.runner import RunConfig, run
    from textureade.store.writer import DatasetWriter

    if browser.chromium_path() is None:
        print(f"chromium not installed; {browser.INSTALL}")
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="report-gallery-"))
    work.mkdir(parents=True, exist_ok=True)
    data, runs, site = work / "toyset", work / "runs", work / "site"
    if not data.exists():
        with DatasetWriter(data, name="toyset", card={}, config={}) as writer:
            for sample in runner_toys.toy_stream(args.n, size=48):
                writer.add(sample)
    t0 = time.perf_counter()
    spec = MethodSpec(name="toy", entry="runner_toys:Threshold", params={"fail_mod": 7})
    run(RunConfig(method=spec, dataset=data, out=runs / "toy", progress=False, save_predictions=True))
    print(f"run of {args.n} images: {time.perf_counter() - t0:.1f} s")
    for label in ("report (thumbnails written)", "report again (thumbnails reused)"):
        t0 = time.perf_counter()
        s = write_report([runs], site, n_boot=200)
        print(f"{label}: {time.perf_counter() - t0:.1f} s, {s.thumbs_written} thumbnails written")
    (page_path,) = (site / "runs").glob("*/index.html")
    size = (page_path.parent / "items.js").stat().st_size
    loads, firsts = [], []
    with browser.Chromium(timeout=60) as chrome:
        for _ in range(args.loads):
            page = chrome.open(page_path)  # includes opening a new tab
            t0 = time.perf_counter()
            loads.append(page.navigate(page_path))
            page.wait_for(FIRST_IMAGE, timeout=30)
            firsts.append(time.perf_counter() - t0)
            cards = page.evaluate("document.querySelectorAll('#cards .card').length")
        chrome.pump(0.2)
        errors = page.errors
    print(f"gallery of {args.n} images (items.js {size / 1e6:.1f} MB, {cards} cards on page 1):")
    print(
        f"  load event: median {statistics.median(loads):.3f} s (min {min(loads):.3f}, max {max(loads):.3f})"
    )
    print(f"  first image shown: median {statistics.median(firsts):.3f} s (max {max(firsts):.3f})")
    print(f"  console errors: {len(errors)}")
    print(f"  ratio to the 2 s target: {statistics.median(firsts) / 2.0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
