"""How far `textureade build` and `bench run` scale on Ray: per-stage costs here, and a throughput model.

Usage: ``python benchmarks/scale.py [ADE20K_PATH] [--limit N] [--cpus C] [--vlm-s S] [--detecture-s S]
[--gpu-method-s S] [--cpus-per-gpu C] [--fs-gbs B]``. Without a path it reads the genuine
SceneParse150 samples in ../shared when present, else a synthetic ADE20K folder.

1. Per-stage costs, measured in this process, one image at a time (process CPU ms per image):
   build: read (decode image + annotation), select (class typing + texture score), mine (regions
   by appearance), describe (the offline describer, and the sample's encoding as its shard row,
   which the workers do), write (the parquet shard from the rows, on the driver);
   bench: predict (texture-kmeans, a weight-free method, on 256 px mosaics) and score.
   Driver commit costs: one build journal append (fsynced) per chunk, one records journal append
   (fsynced) per image.
2. The same build and a bench run on a local Ray instance (``--cpus`` CPUs), wall time beside the
   local executor's, and a check that the bytes / records are equal.
3. A throughput model, wall time = the slowest of four pipes working in parallel:
   GPU work / GPUs, CPU work / (GPUs x cpus-per-gpu), the driver's commits (one process), and the
   bytes read and written over a shared file system (``--fs-gbs`` GB/s). Printed for the full
   ADE20K with a VLM describer and for the four Detecture datasets x every registered method, on
   1, 8 and 64 GPUs, naming the pipe that binds.

Per-image GPU costs are parameters, not measurements (nothing here runs a real model on a GPU;
the tiny test models' costs say nothing about a 7B VLM):
- ``--detecture-s 6.0``: the Detecture paper's ~6 s per image for DETECTURE (Qwen VLM + SAM 3)
  on one GPU;
- ``--vlm-s 6.0``: a VLM describing one image's regions; by default the same published figure,
  an upper bound (the describer runs the VLM only, no SAM 3);
- ``--gpu-method-s 6.0``: every other method with weights (SAM 3, CLIP family, Sa2VA, ...); by
  default the same figure, an assumption to replace with measured numbers.
Counts: ADE20K 25,574 images (issue #16's figure for the full release); RWTD 253, STLD 200,
CAID 3,091, ADE20K-Detecture 212 images (the dataset manifests); methods from manifests/methods
(with a ``weights:`` block = GPU, else CPU).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GENUINE = ROOT.parent / "shared" / "data" / "ade20k-sceneparsing-samples"
ADE_FULL = 25_574
DETECTURE_SETS = {"rwtd": 253, "stld": 200, "caid": 3_091, "ade20k-detecture": 212}
GPUS = (1, 8, 64)


def _cpu(fn):
    c = time.process_time()
    out = fn()
    return out, time.process_time() - c


def build_stages(src: Path, limit: int, work: Path) -> dict[str, float]:
    """Mean CPU seconds per input image of each build stage, the share kept, the bytes per image."""
    from textureade.config import BuildConfig
    from textureade.describe import get_describer
    from textureade.journal import Journal
    from textureade.mining import mine as m
    from textureade.mining.item import finish_sample, mine_item
    from textureade.readers import open_ade20k
    from textureade.store.shards import write_rows

    cfg = BuildConfig(ade20k=str(src), out=str(work / "x"))
    mining = cfg.mining_resolved()
    source = open_ade20k(str(src))
    refs = source.items()[:limit]
    describer = get_describer("offline")
    t = dict.fromkeys(("read", "select", "mine", "describe", "write"), 0.0)
    rows, in_bytes = [], 0
    for ref in refs:
        in_bytes += Path(ref.path).stat().st_size if Path(ref.path).is_file() else 0
        scene, dt = _cpu(lambda ref=ref: source.load(ref))
        t["read"] += dt

        def select(scene=scene):
            counts = m.label_counts(scene.labels)
            types = m.type_classes(scene.class_names, sorted(set(m.np.flatnonzero(counts).tolist())), mining)
            return m.score_image(scene.labels, types, mining, counts=counts)

        _, dt_sel = _cpu(select)
        res, dt = _cpu(lambda scene=scene, ref=ref: mine_item(scene, ref.split, mining, 0, 0.05))
        t["select"] += dt_sel
        t["mine"] += max(0.0, dt - dt_sel)
        if res.pending is not None:
            done, dt = _cpu(lambda res=res, ref=ref: finish_sample(ref.id, ref.split, res.pending, describer))
            t["describe"] += dt
            if done.row is not None:
                rows.append(done.row)
    if rows:
        _, dt = _cpu(lambda: write_rows(rows, work / "shards", "train", 0))
        t["write"] = dt
    out_bytes = sum(p.stat().st_size for p in (work / "shards").rglob("*.parquet")) if rows else 0
    journal = Journal(work / "journal.jsonl")
    journal.start({"what": "timing"})
    c = time.perf_counter()
    for i in range(20):
        journal.finish_chunk(i, {"shards": [], "rejects": [], "items": 64})
    per = {k: v / len(refs) for k, v in t.items()}
    per["keep"] = len(rows) / len(refs)
    per["regions"] = sum(r["num_regions"] for r in rows) / max(1, len(rows))
    per["journal_chunk"] = (time.perf_counter() - c) / 20
    per["in_bytes"] = in_bytes / len(refs)
    per["out_bytes"] = out_bytes / max(1, len(refs))
    per["n"] = len(refs)
    return per


def bench_stages(data: Path, work: Path) -> dict[str, float]:
    """Mean CPU seconds per image of predict (texture-kmeans) and score; fsynced record append."""
    from benchmark.datasets import open_dataset
    from benchmark.evaluate import predict_sample, score_predicted
    from benchmark.journal import Journal
    from benchmark.protocol import method_inputs
    from benchmark.records import RowContext
    from benchmark.registry import build_method, get_method_spec

    handle = open_dataset(str(data))
    method = build_method(get_method_spec("texture-kmeans"))
    ctx = RowContext(method="texture-kmeans", dataset=handle.name, protocol=handle.protocol)
    tp = ts = 0.0
    n = 0
    journal = Journal(work / "records.jsonl")
    tj = 0.0
    for i, sample in enumerate(handle.iter_samples(None)):
        k_given, desc = method_inputs(ctx.protocol, sample, handle.k)
        pred, dt = _cpu(lambda s=sample, k=k_given, d=desc: predict_sample(method, s.image, k, d, None))
        tp += dt
        row, dt = _cpu(lambda p=pred, s=sample, k=k_given, i=i: score_predicted(
            p, s, index=i, context=ctx, k_given=k, scoring=handle.scoring))  # fmt: skip
        ts += dt
        c = time.perf_counter()
        journal.append(row)
        tj += time.perf_counter() - c
        n += 1
    journal.close()
    return {"predict": tp / n, "score": ts / n, "journal_record": tj / n, "n": n}


def on_ray(src: Path, mosaics: Path, limit: int, cpus: int, work: Path) -> dict[str, float]:
    """Wall seconds of the same build and bench run, local executor and Ray; equality checked."""
    import pandas as pd

    from benchmark.runconfig import RunConfig
    from benchmark.runner import run
    from textureade.config import BuildConfig
    from textureade.pipeline import build
    from textureade.testing.ray_local import local_ray

    walls: dict[str, float] = {}
    c = time.perf_counter()
    with local_ray(num_cpus=cpus):
        walls["ray_start"] = time.perf_counter() - c
        for ex in ("local", "ray"):
            cfg = BuildConfig(ade20k=str(src), out=str(work / f"b-{ex}"), limit=limit, chunk_size=4,
                              progress=False, executor=ex, workers=1)  # fmt: skip
            c = time.perf_counter()
            build(cfg)
            walls[f"build_{ex}"] = time.perf_counter() - c
            rc = RunConfig(method="texture-kmeans", dataset=str(mosaics), out=str(work / f"r-{ex}"),
                           progress=False, executor=ex)  # fmt: skip
            c = time.perf_counter()
            run(rc)
            walls[f"bench_{ex}"] = time.perf_counter() - c
    shards = [sorted((work / f"b-{ex}" / "data").glob("*.parquet")) for ex in ("local", "ray")]
    walls["build_equal"] = float(
        [p.name for p in shards[0]] == [p.name for p in shards[1]]
        and all(a.read_bytes() == b.read_bytes() for a, b in zip(*shards))
    )
    recs = [pd.read_parquet(work / f"r-{ex}" / "records.parquet") for ex in ("local", "ray")]
    recs = [df.drop(columns=[c for c in df.columns if c.startswith("time_")]) for df in recs]
    walls["bench_equal"] = float(recs[0].equals(recs[1]))
    return walls


def model(name: str, pipes: dict[str, float], startup: float) -> None:
    """Print wall time per GPU count; ``pipes``: seconds of work per pipe on 1 GPU (cpu, gpu scale)."""
    print(f"\n{name}")
    print(f"  {'GPUs':>5} {'wall':>10}  {'gpu':>9} {'cpu':>9} {'driver':>9} {'fs':>9}  bound by")
    for g in GPUS:
        terms = {
            "gpu": pipes["gpu"] / g,
            "cpu": pipes["cpu"] / g,
            "driver": pipes["driver"],
            "fs": pipes["fs"],
        }
        bound = max(terms, key=terms.get)
        wall = startup + terms[bound]
        cells = " ".join(f"{terms[k] / 3600:8.2f}h" for k in ("gpu", "cpu", "driver", "fs"))
        print(f"  {g:>5} {wall / 3600:9.2f}h  {cells}  {bound}")
    fixed = max(pipes["driver"], pipes["fs"])
    per_gpu = max(pipes["gpu"], pipes["cpu"])
    if fixed > 0:
        which = "driver's commits bind" if pipes["driver"] >= pipes["fs"] else "shared file system binds"
        print(f"  beyond ~{per_gpu / fixed:,.0f} GPUs the {which}: more GPUs no longer shorten the run")


def main(argv: list[str] | None = None) -> int:
    from benchmark.registry import load_method_specs
    from textureade.mosaic import make_mosaics
    from textureade.testing.synthetic_ade import write_synthetic_ade

    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument(
        "path", nargs="?", default=None,
        help="an ADE20K folder (default: the genuine samples in ../shared, else a synthetic folder)",
    )  # fmt: skip
    ap.add_argument("--limit", type=int, default=12, help="input images measured and built")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    ap.add_argument("--vlm-s", type=float, default=6.0, help="GPU s per image, VLM describer")
    ap.add_argument("--detecture-s", type=float, default=6.0, help="GPU s per image, DETECTURE")
    ap.add_argument("--gpu-method-s", type=float, default=6.0, help="GPU s per image, other GPU methods")
    ap.add_argument("--cpus-per-gpu", type=int, default=8, help="cluster CPU cores per GPU")
    ap.add_argument("--fs-gbs", type=float, default=1.0, help="shared file system GB/s (read + write)")
    ap.add_argument("--keep", type=float, default=None, help="share of ADE20K kept (default: measured here)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        work = Path(tmp)
        if args.path:
            src = Path(args.path)
        elif (GENUINE / "ADEChallengeData2016").is_dir():
            src = GENUINE
        else:
            src = write_synthetic_ade(work / "ade", n=args.limit, form="challenge", seed=0)
        mosaics = make_mosaics(work / "mos", n=8, k=(2, 4), size=(256, 256), seed=0)
        (work / "s").mkdir()
        b = build_stages(src, args.limit, work / "s")
        r = bench_stages(mosaics, work / "s")
        walls = on_ray(src, mosaics, args.limit, args.cpus, work)

    print(
        f"input: {src} ({b['n']:.0f} images; {b['keep']:.0%} kept, {b['regions']:.1f} regions per kept image)"
    )
    keep = b["keep"] if args.keep is None else args.keep
    print("build, CPU ms per input image: " + ", ".join(
        f"{k} {b[k] * 1e3:.1f}" for k in ("read", "select", "mine", "describe", "write")))  # fmt: skip
    print(f"  driver: journal append {b['journal_chunk'] * 1e3:.2f} ms per chunk; write (driver) "
          f"{b['write'] * 1e3:.1f} ms per image; {b['in_bytes'] / 1e3:.0f} kB read, {b['out_bytes'] / 1e3:.0f} kB "
          "written per image")  # fmt: skip
    print(f"bench, CPU ms per image (texture-kmeans, 256 px): predict {r['predict'] * 1e3:.1f}, "
          f"score {r['score'] * 1e3:.1f}; driver record append {r['journal_record'] * 1e3:.2f} ms")  # fmt: skip
    print(f"local Ray instance ({args.cpus} CPUs): start {walls['ray_start']:.1f} s; build of {b['n']:.0f} images "
          f"{walls['build_local']:.1f} s local vs {walls['build_ray']:.1f} s Ray (bytes equal: "
          f"{bool(walls['build_equal'])}); bench of 8 mosaics {walls['bench_local']:.1f} s local vs "
          f"{walls['bench_ray']:.1f} s Ray (records equal: {bool(walls['bench_equal'])})")  # fmt: skip

    fs_bps = args.fs_gbs * 1e9
    cpu_img = b["read"] + b["select"] + b["mine"] + b["describe"]
    chunk = 64
    ade = {
        "gpu": ADE_FULL * keep * args.vlm_s,
        "cpu": ADE_FULL * cpu_img / args.cpus_per_gpu,
        "driver": ADE_FULL * (b["write"] + b["journal_chunk"] / chunk),
        "fs": ADE_FULL * (b["in_bytes"] + b["out_bytes"]) / fs_bps,
    }
    print("\nThroughput model (hours). GPU s/image: "
          f"VLM {args.vlm_s:g}, DETECTURE {args.detecture_s:g}, other GPU methods {args.gpu_method_s:g} "
          f"(defaults: the Detecture paper's ~6 s/image on one GPU); {args.cpus_per_gpu} CPUs per GPU; "
          f"shared FS {args.fs_gbs:g} GB/s; CPU and driver costs measured above")  # fmt: skip
    model(
        f"full ADE20K ({ADE_FULL:,} images), VLM describer on the {keep:.0%} kept",
        ade,
        walls["ray_start"],
    )
    specs = load_method_specs()
    gpu_methods = [s for s in specs.values() if s.weights]
    cpu_methods = [s for s in specs.values() if not s.weights]
    n_img = sum(DETECTURE_SETS.values())
    gpu_s = sum(
        args.detecture_s if s.name.startswith("detecture") else args.gpu_method_s for s in gpu_methods
    )
    bench = {
        "gpu": n_img * gpu_s,
        "cpu": n_img * (len(cpu_methods) * r["predict"] + len(specs) * r["score"]) / args.cpus_per_gpu,
        "driver": n_img * len(specs) * r["journal_record"],
        "fs": n_img * len(specs) * 1.0e6 / fs_bps,  # ~1 MB per image read per method (assumption)
    }
    model(f"4 Detecture datasets ({n_img:,} images) x {len(specs)} methods ({len(gpu_methods)} GPU, "
          f"{len(cpu_methods)} CPU)", bench, walls["ray_start"])  # fmt: skip
    print(
        "\nThe model stops holding where the driver or the shared file system binds: the driver commits "
        "every shard and record itself (one process), and every node reads inputs and weights from the share."
    )
    return 0 if walls["build_equal"] and walls["bench_equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
