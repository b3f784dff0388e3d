"""`textureade` command line: build, mosaic, export, check, preview, stats, compare-descriptions. Thin over the library API."""

from __future__ import annotations

import warnings

import click

from textureade import __version__
from textureade.cliutil import run_cli


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="textureade")
def cli() -> None:
    """Derive the TextureADE sub-semantic segmentation dataset from ADE20K."""


@cli.command("inspect")
@click.argument("path", type=click.Path())
@click.option("--split", default=None, help="training or validation (default: all present).")
@click.option("--limit", type=int, default=5, show_default=True)
@click.option(
    "--mapping", type=click.Path(), default=None, help="mapFromADE.txt: full ADE20K -> 150 classes."
)
def inspect_cmd(path: str, split: str | None, limit: int, mapping: str | None) -> None:
    """Print what the ADE20K reader finds at PATH (form, ids, sizes, classes); rejects go to stderr."""
    import numpy as np

    from textureade.readers import read_ade20k

    def reject(item_id: str, reason: str) -> None:
        click.echo(f"rejected {item_id}: {reason}", err=True)

    for scene in read_ade20k(path, split=split, limit=limit, mapping=mapping, on_reject=reject):
        h, w = scene.labels.shape
        ids = np.flatnonzero(np.bincount(scene.labels.ravel())).tolist()
        extra = ""
        if scene.instances is not None:
            extra = f"\tinstances={int(scene.instances.max())}\tpart_levels={len(scene.parts)}\tobjects={len(scene.objects)}"
        click.echo(
            f"{scene.id}\t{scene.split}\t{w}x{h}\t{scene.source}\tscene={scene.scene}\tclasses={ids}{extra}"
        )


@cli.command("build")
@click.option("--ade20k", "ade20k", type=click.Path(), default=None, help="ADE20K folder or parquet mirror.")
@click.option("--out", type=click.Path(), default=None, help="Output folder (resumes a partial build there).")
@click.option(
    "--describer",
    type=click.Choice(["offline", "vlm"]),
    default=None,
    help="Who describes the regions: offline (no weights, the default) or vlm (with --vlm).",
)
@click.option(
    "--captioner",
    type=click.Choice(["offline", "vlm", "heuristic"]),
    default=None,
    deprecated="use --describer (heuristic = offline)",
    help="Old name of --describer.",
)
@click.option("--vlm", default=None, help="VLM model id or local path (with --describer vlm).")
@click.option("--limit", type=int, default=None, help="Only the first N input images (in id order).")
@click.option("--workers", type=int, default=None, help="Worker processes (results do not depend on it).")
@click.option(
    "--config", "config_path", type=click.Path(), default=None, help="Build YAML (CLI > YAML > defaults)."
)
@click.option(
    "--mapping", type=click.Path(), default=None, help="mapFromADE.txt: full ADE20K -> 150 classes."
)
@click.option("--seed", type=int, default=None, help="Seed of the region miner's sampling (default 0).")
@click.option("--mining", type=click.Choice(["default", "detecture"]), default=None,
              help="Mining recipe: ours (default) or the Detecture Miner's (manifests/mining/detecture.yaml).")  # fmt: skip
@click.option("--no-progress", is_flag=True, default=False, help="No progress bar.")
@click.option("--strict", is_flag=True, default=False, help="Exit 1 when any image was rejected.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default=None,
              help="local (default: this process or --workers processes) or ray (same bytes; README 'Ray').")  # fmt: skip
@click.option("--ray-address", default=None, help="Join this Ray cluster (default: start a local one).")
def build_cmd(
    ade20k,
    out,
    describer,
    captioner,
    vlm,
    limit,
    workers,
    config_path,
    mapping,
    seed,
    mining,
    no_progress,
    strict,
    executor,
    ray_address,
) -> None:
    """Mine TextureADE from ADE20K into OUT (parquet shards, README.md card, manifest.json)."""
    from textureade.config import resolve_build_config
    from textureade.pipeline import build

    if captioner is not None:  # click has printed the deprecation line
        if captioner == "heuristic":
            captioner = "offline"
        if describer is not None and describer != captioner:
            raise click.UsageError(
                f"--describer {describer} and --captioner {captioner} disagree; give --describer"
            )
        describer = describer or captioner
    cli_values = {
        "ade20k": ade20k,
        "out": out,
        "describer": describer,
        "vlm": vlm,
        "limit": limit,
        "workers": workers,
        "mapping": mapping,
        "seed": seed,
        "mining_config": mining,
        "progress": False if no_progress else None,
        "executor": executor,
        "ray_address": ray_address,
    }
    with warnings.catch_warnings(record=True) as caught:  # deprecations as one clean line each
        warnings.simplefilter("always", FutureWarning)
        config = resolve_build_config(cli_values, config_path)
    for w in caught:
        click.echo(f"textureade: warning: {w.message}", err=True)
    report = build(config)
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items()) or "no samples"
    state = "already complete" if report.already_complete else ("resumed" if report.resumed else "built")
    click.echo(
        f"{state}: {report.out}: {counts}; {report.rejects} rejected of {report.items} ({report.seconds:.1f}s)"
    )
    if "cache_hits" in report.describer:
        st = report.describer
        click.echo(f"describer: {st['regions']} regions, {st['cache_hits']} from the cache, "
                   f"{st['generate_calls']} generate calls, {st['fallback_regions']} fell back")  # fmt: skip
    if strict and report.rejects:
        click.echo(f"{report.rejects} image(s) rejected (see {report.out}/rejects.jsonl)", err=True)
        raise click.exceptions.Exit(1)


@cli.command("mosaic")
@click.option("--out", required=True, type=click.Path(), help="Empty or new folder for the dataset.")
@click.option("--n", "n", type=click.IntRange(min=0), default=100, show_default=True, help="Mosaics to make.")
@click.option(
    "--k", "k", default="2..5", show_default=True, help="Textures per mosaic: a range lo..hi or one int."
)
@click.option(
    "--textures", default=None, type=click.Path(), help="Folder of texture images (default: built-in)."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", type=int, default=256, show_default=True, help="Side of the square mosaics (px).")
def mosaic_cmd(out: str, n: int, k: str, textures: str | None, seed: int, size: int) -> None:
    """Write N synthetic texture mosaics (warped Voronoi partitions) as a TextureADE-form dataset."""
    from textureade.mosaic import make_mosaics

    path = make_mosaics(out, n, k=k, seed=seed, textures=textures, size=(size, size))
    click.echo(f"wrote {n} mosaics -> {path}")


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["detecture"]), default="detecture", show_default=True)
@click.option("--split", default=None, help="Only this split (train, validation, test).")
@click.argument("dataset", type=click.Path())
@click.argument("dest", type=click.Path())
def export_cmd(fmt: str, split: str | None, dataset: str, dest: str) -> None:
    """Export the TextureADE folder DATASET to DEST (Detecture metadata.json + 0/255 masks)."""
    from textureade.detecture_format import write_detecture_folder
    from textureade.store import read_textureade

    path = write_detecture_folder(read_textureade(dataset, split=split), dest)
    click.echo(f"exported {dataset} -> {path}")


@cli.command("check")
@click.argument("dataset", type=click.Path())
def check_cmd(dataset: str) -> None:
    """Verify DATASET's shard checksums and that no base image is in two splits (exit 1 on failure)."""
    from textureade.store import check_dataset

    problems = check_dataset(dataset)
    for p in problems:
        click.echo(p)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(f"ok: {dataset}")


@cli.command("preview")
@click.argument("dataset", type=click.Path())
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the HTML site."
)
@click.option("--baseline-regions", "baseline", type=click.Choice(["class", "none"]), default="class", show_default=True,
              help="Compare region quality with one mask per stored region class id (class) or not at all.")  # fmt: skip
@click.option("--split", default=None, help="Only this split (train, validation, test).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N samples.")
def preview_cmd(dataset: str, out_dir: str, baseline: str, split: str | None, limit: int | None) -> None:
    """Write a static HTML preview of the TextureADE folder DATASET (samples, provenance, statistics)."""
    from textureade.preview.site import write_preview

    s = write_preview(dataset, out_dir, baseline=baseline, split=split, limit=limit)
    click.echo(f"{s.n_samples} samples ({s.thumbs_written} thumbnails written) -> {s.index}")


@cli.command("stats")
@click.argument("dataset", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--baseline-regions", "baseline", type=click.Choice(["class", "none"]), default="class", show_default=True,
              help="Compare region quality with one mask per stored region class id (class) or not at all.")  # fmt: skip
@click.option("--split", default=None, help="Only this split (train, validation, test).")
@click.option("--per-sample", is_flag=True, help="JSON: include every sample's numbers.")
def stats_cmd(dataset: str, fmt: str, baseline: str, split: str | None, per_sample: bool) -> None:
    """Dataset statistics and region quality of DATASET (the numbers `textureade preview` shows)."""
    import json

    from textureade.preview.stats import dataset_stats, stats_text

    stats = dataset_stats(dataset, baseline=baseline, split=split)
    if fmt == "json":
        click.echo(json.dumps(stats.to_json(per_sample=per_sample), indent=1, sort_keys=True))
    else:
        click.echo(stats_text(stats))


@cli.command("compare-descriptions")
@click.argument("a", type=click.Path())
@click.argument("b", type=click.Path())
@click.option("--text-model", default=None,
              help="Sentence-embedding model: text_models manifest, hub id (local cache) or folder "
                   "(default: $TEXTUREADE_TEXT_MODEL, else all-minilm-l6-v2).")  # fmt: skip
@click.option("--split", default=None, help="Only this split (train, validation, test).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--per-sample", is_flag=True, help="JSON: include every sample's numbers.")
def compare_descriptions_cmd(a: str, b: str, text_model: str | None, split: str | None, fmt: str,
                             per_sample: bool) -> None:  # fmt: skip
    """Score build B's descriptions against build A's (same sample ids): similarity, validity, distinctness."""
    import json

    from textureade.describe.compare import compare_descriptions, comparison_text

    c = compare_descriptions(a, b, text_model=text_model, split=split)
    if fmt == "json":
        click.echo(json.dumps(c.to_json(per_sample=per_sample), indent=1, sort_keys=True))
    else:
        click.echo(comparison_text(c))


def main() -> None:
    run_cli(cli, "textureade")


if __name__ == "__main__":
    main()
