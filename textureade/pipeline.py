"""The TextureADE build: ADE20K -> select -> regions by appearance -> describe -> parquet shards.

``build(config)`` is resumable and deterministic:
- the input items (``open_ade20k(...).items()``, sorted by id, cut to ``limit``) are processed in
  chunks of ``chunk_size`` consecutive items; chunk i writes ``data/<split>-<i:05d>.parquet`` for
  each split it produced samples for (shards are cut by this fixed rule, never by timing);
- shards are written atomically (temp file + os.replace) and a chunk counts as done only once the
  journal (``DIR/.build/journal.jsonl``, fsynced) records it; a killed build (even kill -9) rerun
  with the same command redoes at most the unfinished chunk and ends byte-identical to an
  uninterrupted build;
- workers (a process pool: :class:`textureade.executors.LocalChunks`) or ``executor="ray"``
  (chunks as Ray tasks, the VLM describer in Ray actors: :mod:`textureade.pipeline_ray`) only
  change speed: results are committed in input order by this process, through the same journal;
  only manifest.json's ``executor`` key (the Ray version and cluster size) tells a Ray build from
  a local one;
- at the end: ``rejects.jsonl`` (one line per skipped image, input order), ``manifest.json``
  and ``README.md``; then the journal folder is removed. Rerunning a finished build is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from textureade.config import BuildConfig
from textureade.errors import UserError, first_line
from textureade.executors import LocalChunks, ray_init
from textureade.fileio import atomic_write
from textureade.journal import Journal
from textureade.mining.item import ItemResult, finish_sample, mine_item
from textureade.store.card import ADE20K_TERMS
from textureade.store.manifest import finalise_dataset, read_manifest
from textureade.store.shards import SPLITS, ShardInfo, write_rows

WORK = ".build"
DATASET_NAME = "TextureADE"


@dataclass
class BuildReport:
    """What a build did. counts: samples per split (whole dataset); rejects: skipped images (whole
    dataset); processed: items handled by this call (0 when it found a finished build). describer:
    this call's describer counters (VLM: generate_calls, prompts, regions, cache_hits,
    fallback_regions); run facts, kept out of the dataset so that its bytes never depend on them."""

    out: str
    items: int
    processed: int
    counts: dict[str, int] = field(default_factory=dict)
    rejects: int = 0
    resumed: bool = False
    already_complete: bool = False
    seconds: float = 0.0
    describer: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- worker side ---------------------------------------------------------------------------
_STATE: dict[str, Any] = {}


def _init_worker(config: BuildConfig) -> None:
    from textureade.readers import open_ade20k

    _STATE["source"] = open_ade20k(config.ade20k, mapping=config.mapping)
    _STATE["mining"] = config.mining_resolved()
    _STATE["config"] = config
    _STATE["describer"] = _make_describer(config) if config.describer == "offline" else None


def _make_describer(config: BuildConfig) -> Any:
    from textureade.describe import get_describer

    opts = dict(config.describer_options)
    if config.describer == "vlm":
        from textureade.describe.cache import default_cache_dir

        opts.setdefault("model", config.vlm)
        opts.setdefault("cache_dir", str(default_cache_dir()))
    return get_describer(config.describer, **opts)


def describe_pending(results: list[ItemResult], describer: Any) -> list[ItemResult]:
    """Describe every pending result of a chunk in one ``describe_batch`` call when the describer has
    one (the VLM batches prompts across images), else one image at a time. A batch that fails as a
    whole is retried image by image, so one bad image costs only its own sample."""
    pending = [r for r in results if r.pending is not None]
    described: list[Any] = [None] * len(pending)
    if len(pending) > 1 and hasattr(describer, "describe_batch"):
        try:
            items = [(r.pending.image, r.pending.label_map, r.pending.regions) for r in pending]
            described = list(describer.describe_batch(items))
        except Exception:  # fall back to per-image calls, which record each image's own failure
            described = [None] * len(pending)
    done = {
        id(r): finish_sample(r.id, r.pending.ade_split, r.pending, describer, d)
        for r, d in zip(pending, described)
    }
    return [done.get(id(r), r) for r in results]


def _process(ref: Any) -> ItemResult:
    from textureade.readers import ReadError

    config: BuildConfig = _STATE["config"]
    ade_split = ref.split
    try:
        scene = _STATE["source"].load(ref)
    except Exception as exc:  # ReadError, or a reader bug on one odd file: recorded, never fatal
        reason = first_line(exc) if isinstance(exc, ReadError) else first_line(exc, with_type=True)
        return ItemResult.rejected(ref.id, ade_split, "read", reason)
    try:
        result = mine_item(scene, ade_split, _STATE["mining"], config.seed, config.val_fraction)
        if result.pending is not None and _STATE["describer"] is not None:
            result = finish_sample(scene.id, ade_split, result.pending, _STATE["describer"])
        return result
    except Exception as exc:  # a bug on one image must not stop the build: record it
        return ItemResult.rejected(ref.id, ade_split, "error", first_line(exc, with_type=True))


def process_chunk(config: BuildConfig, refs: list[Any]) -> list[ItemResult]:
    """One chunk's items through ``_process``, in order, with the worker state set up once per
    process and config (what a Ray chunk task runs: :mod:`textureade.pipeline_ray`)."""
    key = config.fingerprint()
    if _STATE.get("key") != key:
        import cv2

        cv2.setNumThreads(1)  # a chunk task holds one CPU; a Ray worker is a fresh process (safe)
        _init_worker(config)
        _STATE["key"] = key
    return [_process(ref) for ref in refs]


# ---- main side -----------------------------------------------------------------------------
def input_fingerprint(form: str, refs: list[Any]) -> str:
    """sha256 over the form and every item's id, split and file size (paths themselves excluded)."""
    h = hashlib.sha256(form.encode())
    for ref in refs:
        try:
            size = os.path.getsize(ref.path)
        except OSError:
            size = -1
        h.update(
            f"\n{ref.id}\t{ref.split}\t{size}\t{getattr(ref, 'row_group', -1)}\t{getattr(ref, 'row', -1)}".encode()
        )
    return h.hexdigest()


def _detecture_recipe_lines(m: Any) -> list[str]:
    """The card's selection/regions lines for ``--mining detecture`` (mining.detecture_recipe)."""
    rc = m.detecture
    return [
        "Selection: the Detecture Miner's recipe (manifests/mining/detecture.yaml): keyword typing by substring, "
        f"their texture-priority score; images scoring < {rc.selected_min:g} are skipped.",
        f"Regions: one per ADE class (instances merged, class 0 dropped), classes under {rc.min_region_frac:.0%} "
        f"dropped, the {rc.max_regions} largest kept; images with fewer than {rc.min_regions} skipped.",
    ]


def _card(config: BuildConfig, form: str) -> dict[str, Any]:
    m = config.mining_resolved()
    return {
        "pretty_name": DATASET_NAME,
        "description": "Sub-semantic (texture) segmentation data mined from ADE20K: each image is partitioned into "
        f"{m.min_regions}-{m.max_regions} regions of stable appearance, each with a short description.",
        "how_built": [
            f"Source: ADE20K ({form}); ADE validation -> test, {config.val_fraction:.0%} of ADE training base "
            "images (by a hash of the id) -> validation, the rest -> train. No base image is in two splits.",
            *(
                _detecture_recipe_lines(m)
                if m.recipe == "detecture"
                else [
                    f"Selection: a per-image texture score (class typing by keyword, label statistics, geometry, "
                    f"object/ambiguous penalties); images scoring < {m.min_score:g} are skipped.",
                    "Regions by appearance: segments from the annotation; adjacent or same-class segments with Fisher "
                    f"separability J < {m.merge_separability:g} merged; clearly bimodal segments split by 2-means "
                    f"(J > {m.split_separability:g}, a valley in the 2-means axis, spatial coherence); regions under "
                    f"{m.min_region_frac:.0%} dropped; images with fewer than {m.min_regions} regions skipped.",
                ]
            ),
            f"Descriptions: the {config.describer} describer"
            + (
                f" ({config.vlm})"
                if config.vlm
                else " (no weights: class names, Lab colour names, granularity, "
                "orientation, regularity, position)"
            )
            + ".",
            "Every merge, split, drop and score is recorded in each sample's provenance; skipped images and "
            "why are in rejects.jsonl.",
        ],
        "terms": [
            f'ADE20K images: "{ADE20K_TERMS}"',
            "Annotations derive from ADE20K (MIT CSAIL); cite Zhou et al., Scene Parsing through ADE20K "
            "Dataset (CVPR 2017) and Semantic Understanding of Scenes through the ADE20K Dataset (IJCV 2019).",
        ],
    }


def _prepare_out(out: Path, header: dict[str, Any]) -> tuple[Journal, bool]:
    work = out / WORK
    if (out / "manifest.json").exists() and not work.exists():
        raise FileExistsError  # a finished build; the caller decides
    if work.exists():
        journal = Journal(work / "journal.jsonl")
        old = journal.header or {}
        keys = ("config_fingerprint", "input_fingerprint", "items", "chunk_size")
        if journal.header is not None and any(old.get(k) != header[k] for k in keys):
            raise UserError(
                f"{out} holds a partial build of a different config or input; use another --out or delete {out}"
            )
        if journal.header is None:
            journal.start(header)
        for tmp in (out / "data").glob(".*.tmp-*") if (out / "data").is_dir() else []:
            tmp.unlink()
        return journal, bool(journal.chunks)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty and holds no TextureADE build; choose an empty --out folder")
    work.mkdir(parents=True, exist_ok=True)
    journal = Journal(work / "journal.jsonl")
    journal.start(header)
    return journal, False


def build(config: BuildConfig) -> BuildReport:
    """Build (or resume, or confirm) the dataset described by ``config``; see the module docstring."""
    from tqdm import tqdm

    from textureade.readers import open_ade20k

    t0 = time.perf_counter()
    config.validate()
    out = Path(config.out)  # type: ignore[arg-type]
    source = open_ade20k(config.ade20k, mapping=config.mapping)  # type: ignore[arg-type]
    refs = source.items()
    if config.limit is not None:
        refs = refs[: config.limit]
    if not refs:
        raise UserError(f"{config.ade20k} holds no images to mine")
    header = {
        "config_fingerprint": config.fingerprint(),
        "input_fingerprint": input_fingerprint(source.form, refs),
        "items": len(refs),
        "chunk_size": config.chunk_size,
    }
    if config.executor == "ray":  # joined before --out is touched: a cluster that cannot be joined
        ray_init(config.ray_address)  # leaves no folder behind
    try:
        journal, resumed = _prepare_out(out, header)
    except FileExistsError:
        manifest = read_manifest(out)
        if (
            manifest.get("config_fingerprint") != header["config_fingerprint"]
            or manifest.get("input_fingerprint") != header["input_fingerprint"]
        ):
            raise UserError(
                f"{out} holds a finished build of a different config or input; use another --out"
            ) from None
        return BuildReport(
            str(out),
            len(refs),
            0,
            dict(manifest.get("counts", {})),
            int(manifest.get("rejects", 0)),
            already_complete=True,
            seconds=time.perf_counter() - t0,
        )
    chunks = [refs[i : i + config.chunk_size] for i in range(0, len(refs), config.chunk_size)]
    todo = [i for i in range(len(chunks)) if i not in journal.chunks]
    done_items = sum(len(chunks[i]) for i in range(len(chunks)) if i in journal.chunks)
    processed = 0
    main_describer = None
    bar = tqdm(
        total=len(refs), initial=done_items, unit="img", desc="textureade build", disable=not config.progress
    )
    local = None  # the local executor: this process or --workers processes
    on_ray = None  # the Ray executor's ordered (chunk, described results) stream
    try:
        if config.executor == "ray" and todo:
            from textureade.pipeline_ray import RayChunks

            on_ray = RayChunks(config, chunks, todo, bar, process_chunk, _make_describer, describe_pending)
        else:
            local = LocalChunks(chunks, todo, bar, _process, workers=config.workers, init=_init_worker,
                                init_args=(config,), fork_safe=config.describer == "offline")  # fmt: skip
        if config.describer == "vlm" and todo and on_ray is None:
            # load the model now: a folder that cannot load (a missing package, bad files) is one
            # UserError before any work, not a per-image "describe" reject of every image
            main_describer = _make_describer(config)
            if hasattr(main_describer, "load"):
                main_describer.load()
        # the same chunks, read, mined (and offline-described) here, in worker processes or on Ray
        stream = iter(on_ray if on_ray is not None else local)
        for ci in todo:
            chunk = chunks[ci]
            got, results = next(stream)
            assert got == ci, (got, ci)
            if any(r.pending is not None for r in results):
                if main_describer is None:
                    main_describer = _make_describer(config)
                results = describe_pending(results, main_describer)
            rows: dict[str, list] = {s: [] for s in SPLITS}
            rejects: list[dict] = []
            for res in results:
                if res.row is not None:
                    rows[res.row["split"]].append(res.row)
                else:
                    rejects.append(res.reject)
                processed += 1
            shards = [write_rows(rows[s], out, s, ci).to_dict() for s in SPLITS if rows[s]]
            journal.finish_chunk(ci, {"shards": shards, "rejects": rejects, "items": len(chunk)})
    finally:
        bar.close()
        if local is not None:
            local.close()
        if on_ray is not None:
            on_ray.close()
    executor = on_ray.info if on_ray is not None else None
    report = _finish(out, config, source.form, journal, header, len(refs), processed, resumed, t0, executor)
    report.describer = dict(
        on_ray.stats if on_ray is not None else getattr(main_describer, "stats", None) or {}
    )
    return report


def _finish(
    out, config, form, journal, header, n_items, processed, resumed, t0, executor=None
) -> BuildReport:
    """Write rejects.jsonl, manifest.json (plus ``executor``: the Ray cluster facts of a build that
    ran on Ray; a local build's manifest has no such key) and README.md; remove the journal."""
    shards: list[ShardInfo] = []
    rejects: list[dict] = []
    for ci in sorted(journal.chunks):
        shards += [ShardInfo(**s) for s in journal.chunks[ci]["shards"]]
        rejects += journal.chunks[ci]["rejects"]
    lines = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in rejects)
    atomic_write(out / "rejects.jsonl", lines.encode())
    stages: dict[str, int] = {}
    for r in rejects:
        stages[r["stage"]] = stages.get(r["stage"], 0) + 1
    extra = {
        "config_fingerprint": header["config_fingerprint"],
        "input_fingerprint": header["input_fingerprint"],
        "input_form": form,
        "items": n_items,
        "rejects": len(rejects),
        "rejects_by_stage": dict(sorted(stages.items())),
        "rejects_sha256": hashlib.sha256(lines.encode()).hexdigest(),
    }
    if executor is not None:
        extra["executor"] = executor
    finalise_dataset(
        out,
        name=DATASET_NAME,
        card=_card(config, form),
        config=config.output_dict(),
        shards=shards,
        extra=extra,
    )
    shutil.rmtree(out / WORK, ignore_errors=True)
    counts: dict[str, int] = {}
    for s in shards:
        counts[s.split] = counts.get(s.split, 0) + s.rows
    return BuildReport(
        str(out),
        n_items,
        processed,
        dict(sorted(counts.items())),
        len(rejects),
        resumed,
        seconds=time.perf_counter() - t0,
    )
