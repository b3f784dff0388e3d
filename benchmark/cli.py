"""`bench` command line: run, score, leaderboard, table, list. Thin over the library API."""

from __future__ import annotations

import click

from benchmark import __version__
from textureade.cliutil import run_cli

#: the readers' bad-input options `bench run` and `bench score` share (README "Bad input")
_strict_option = click.option(
    "--strict", is_flag=True,
    help="Exit 1 when any image failed or was skipped; reject masks that are not binary 0/255.",
)  # fmt: skip
_skip_bad_shards_option = click.option(
    "--skip-bad-shards", is_flag=True, default=None,
    help="A damaged or missing shard is a warning and skipped (default: stop, exit 2).",
)  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bench")
def cli() -> None:
    """Run and score sub-semantic segmentation methods; publish leaderboards."""


@cli.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Run YAML (any of the options below; CLI > YAML > defaults).")  # fmt: skip
@click.option("--method", default=None, help="Method name (see `bench list`).")
@click.option("--dataset", default=None, help="Dataset name (manifests/datasets) or a folder path.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False), help="Results folder.")
@click.option("--protocol", type=click.Choice(["oracle-k", "oracle-k-blind", "autonomous"]), default=None)
@click.option("--suite", default=None, help="Suite fixing protocol and K per dataset (manifests/suites).")
@click.option("--k", "k", type=int, default=None, help="K told to the method (default: dataset/suite rule).")
@click.option("--data-path", default=None, help="Where the named dataset lives (overrides its manifest).")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Only the first N samples.")
@click.option("--option", "options", multiple=True, help="key=value overriding a manifest param.")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=None, help="Seconds per image."
)
@click.option(
    "--save-predictions", is_flag=True, default=None, help="Write predictions/<id>.png and <id>.json."
)
@_strict_option
@click.option("--no-verify", is_flag=True, default=None,
              help="Do not check TextureADE shards against manifest.json's sha256 as they are opened.")  # fmt: skip
@_skip_bad_shards_option
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default=None,
              help="local (default) or ray: the method in Ray actors, scoring in Ray tasks (same records).")  # fmt: skip
@click.option("--ray-address", default=None, help="Join this Ray cluster (default: start a local one).")
@click.option("--text-model", default=None,
              help="Text model of the description metrics: text_models manifest, hub id (local cache) or folder; "
                   "'none' = off (default: $TEXTUREADE_TEXT_MODEL, else all-minilm-l6-v2).")  # fmt: skip
def run_cmd(config_path, method, dataset, out_dir, protocol, suite, k, data_path, limit, options, timeout,
            save_predictions, strict, no_verify, skip_bad_shards, no_progress, executor, ray_address,
            text_model) -> None:  # fmt: skip
    """Run METHOD on DATASET, one record per image, into OUT (resumes a partial run there)."""
    from benchmark.registry import parse_options
    from benchmark.runconfig import resolve_run_config
    from benchmark.runner import run

    cli_values = {
        "method": method, "dataset": dataset, "out": out_dir, "protocol": protocol, "suite": suite, "k": k,
        "data_path": data_path, "limit": limit, "options": parse_options(options) if options else None,
        "timeout": timeout, "save_predictions": save_predictions or None, "progress": False if no_progress else None,
        "verify": False if no_verify else None, "skip_bad_shards": skip_bad_shards or None, "strict": strict or None,
        "executor": executor, "ray_address": ray_address, "text_model": text_model,
    }  # fmt: skip
    config = resolve_run_config(cli_values, config_path)
    summary = run(config)
    from benchmark.leaderboard import k_text

    k = k_text(summary.protocol, summary.k)
    click.echo(
        f"{summary.method} on {summary.dataset} ({summary.protocol}, K={k}): {summary.n_records} images, "
        f"{summary.n_ok} ok, {summary.n_failed} failed ({summary.n_resumed} resumed) -> {summary.records_path}"
    )
    for sid, reason in summary.failures:
        click.echo(f"  failed {sid}: {reason}")
    if summary.n_rejected:
        click.echo(
            f"  {summary.n_rejected} samples could not be read and were skipped (see run.json)", err=True
        )
    if summary.n_failed > len(summary.failures):
        click.echo(
            f"  ... {summary.n_failed - len(summary.failures)} more failures in {summary.records_path}"
        )
    _echo_reader_report(summary.out_dir / "run.json")
    _exit_if_strict(config.strict, summary.n_failed, summary.n_rejected)


def _exit_if_strict(strict: bool, n_failed: int, n_rejected: int) -> None:
    """Exit 1 under --strict when an image failed or a sample was rejected (README "Bad input")."""
    if strict and (n_failed or n_rejected):
        raise click.exceptions.Exit(1)


def _echo_reader_report(run_json) -> None:
    """Warnings and skipped shards of a run (from its run.json), one line each, on stderr."""
    from benchmark.runinfo import RunInfo

    info = RunInfo.read(run_json)
    _echo_text_model(info.text_model)
    warned = info.reader_warnings or {}
    if warned.get("count"):
        kinds = ", ".join(f"{n} {kind}" for kind, n in warned.get("by_kind", {}).items())
        click.echo(f"  {warned['count']} samples kept with a warning ({kinds}; see run.json)", err=True)
    for path, reason in info.skipped_shards or []:
        click.echo(f"  skipped shard {path}: {reason}", err=True)


def _echo_text_model(text_model) -> None:
    """The one line saying the description metrics were left out (run.json ``text_model.note``), on
    stderr, when the model was absent."""
    if text_model and text_model.get("note") and text_model.get("status") == "absent":
        click.echo(f"  {text_model['note']}", err=True)


@cli.command("score")
@click.option("--dataset", required=True, help="Detecture folder, TextureADE folder or dataset name.")
@click.option("--predictions", required=True, type=click.Path(), help="Folder of <id>.png label maps.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Results folder.")
@click.option("--name", default=None, help="Method name for run.json (default: the predictions folder name).")
@click.option("--channels", type=click.IntRange(min=1), default=None,
              help="K: every label map holds the method's channels 1..K (0 = dustbin); scored with the Detecture "
                   "authors' convention (matching over all K, absent ones included). Default: each <id>.json's "
                   "\"channels\", else the regions present.")  # fmt: skip
@_strict_option
@_skip_bad_shards_option
@click.option("--text-model", default=None,
              help="Text model of the description metrics: text_models manifest, hub id (local cache) or folder; "
                   "'none' = off (default: $TEXTUREADE_TEXT_MODEL, else all-minilm-l6-v2).")  # fmt: skip
def score_cmd(dataset, predictions, out_dir, name, channels, strict, skip_bad_shards, text_model) -> None:
    """Score predicted label maps (0 = unassigned) against DATASET: records.parquet + summary.json."""
    from pathlib import Path

    from benchmark.datasets.handle import N_LISTED
    from benchmark.score import score_folder

    s = score_folder(dataset, predictions, out_dir, name=name, channels=channels, text_model=text_model,
                     strict=strict, skip_bad_shards=bool(skip_bad_shards))  # fmt: skip
    click.echo(
        f"{s['n_images']} images: {s['n_ok']} ok, {s['n_failed']} failed, "
        f"{s['n_rejected_gt']} ground-truth samples rejected -> {out_dir}"
    )
    for key, m in s["metrics"].items():
        lo, hi = m["ci95"]
        click.echo(
            f"  {key:<18} {m['mean']:.4f}  [{lo:.4f}, {hi:.4f}]{'' if m['higher_is_better'] else '  (lower is better)'}"
        )
    for f in s["failures"][:N_LISTED]:
        click.echo(f"  failed {f['id']}: {f['reason']}")
    _echo_reader_report(Path(out_dir) / "run.json")  # text model note, warnings, skipped shards
    _exit_if_strict(strict, s["n_failed"], s["n_rejected_gt"])


@cli.command("train")
@click.option(
    "--method", required=True, help="Method with a training recipe (manifests/train), e.g. detecture."
)
@click.option(
    "--dataset",
    required=True,
    help="Training data: TextureADE build (train split), mosaics or Detecture folder.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML overriding recipe values (same shape as manifests/train/<method>.yaml).")  # fmt: skip
@click.option("--val-dataset", default=None, help="Validation data (default: the build's validation split).")
@click.option("--data-path", default=None, help="Where the named dataset lives (overrides its manifest).")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after N optimizer steps.")
@click.option("--resume", is_flag=True, help="Continue the run in OUT from its last.pt.")
@click.option(
    "--option", "options", multiple=True, help="key=value overriding a method param (vlm=, sam3=...)."
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train_cmd(method, dataset, out_dir, config_path, val_dataset, data_path, max_steps, resume, options,
              no_progress) -> None:  # fmt: skip
    """Train METHOD on DATASET with its published recipe: metrics.csv, eval.csv, last.pt, best.pt in OUT."""
    from pathlib import Path

    from benchmark.registry import parse_options
    from benchmark.training import TrainConfig, train

    s = train(TrainConfig(
        method=method, dataset=dataset, out=Path(out_dir), config=Path(config_path) if config_path else None,
        val_dataset=val_dataset, data_path=data_path, max_steps=max_steps, resume=resume,
        options=parse_options(options), progress=not no_progress,
    ))  # fmt: skip
    best = "no validation" if s.best_miou is None else f"best val mIoU {s.best_miou:.4f}"
    loss = "n/a" if s.last_loss is None else f"{s.last_loss:.4f}"
    click.echo(
        f"{method}: {s.steps} optimizer steps, {s.epochs_done} epochs, last loss {loss}, {best} -> {s.out}"
    )


@cli.command("leaderboard")
@click.argument("results", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out", "out_csv", default="leaderboard.csv", show_default=True, type=click.Path(dir_okay=False)
)
@click.option("--metrics", default=None, help="Comma-separated metrics for the .md/.png (CSV has all).")
@click.option("--n-boot", type=click.IntRange(min=100), default=1000, show_default=True)
def leaderboard_cmd(results, out_csv, metrics, n_boot) -> None:
    """Tabulate runs (folders with run.json, searched recursively): CSV, .md and .png beside it."""
    from benchmark.leaderboard import build_leaderboard
    from benchmark.report import to_markdown, write_leaderboard

    df = build_leaderboard(results, n_boot=n_boot)
    chosen = [m.strip() for m in metrics.split(",")] if metrics else None
    paths = write_leaderboard(df, out_csv, chosen)
    click.echo(to_markdown(df, chosen))
    click.echo(f"wrote {paths['csv']}, {paths['md']}, {paths['png']}")


@cli.command("table")
@click.argument("results", nargs=-1, required=True, type=click.Path())
@click.option("--suite", default="detecture", show_default=True, help="Suite whose datasets are the columns.")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the files."
)
@click.option("--drop-failures", is_flag=True,
              help="The authors' aggregation: average over scored images (default: failed images score 0).")  # fmt: skip
@click.option(
    "--published", is_flag=True, help="Print the published numbers (manifests/published) beside ours."
)
@click.option("--n-boot", type=click.IntRange(min=100), default=1000, show_default=True)
def table_cmd(results, suite, out_dir, drop_failures, published, n_boot) -> None:
    """The paper's table (methods x datasets) from runs: CSV, Markdown and LaTeX in OUT."""
    from benchmark.table import build_table
    from benchmark.table_format import to_markdown, write_table

    t = build_table(results, suite, drop_failures=drop_failures, published=published, n_boot=n_boot)
    paths = write_table(t, out_dir)
    click.echo(to_markdown(t))
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))


@cli.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the HTML site."
)
@click.option(
    "--metric", default=None, help="Default sort key of the galleries (a record column; worst first)."
)
@click.option("--compare", "compare", multiple=True,
              help="A,B: a comparison page of methods A and B (repeatable; default: every pair on a dataset).")  # fmt: skip
@click.option(
    "--data",
    "data",
    multiple=True,
    help="NAME=PATH: where dataset NAME lives now (default: run.json's path).",
)
@click.option("--n-boot", type=click.IntRange(min=100), default=1000, show_default=True)
def report_cmd(results, out_dir, metric, compare, data, n_boot) -> None:
    """Static HTML report of runs: sortable leaderboard, per-run galleries (worst first), comparisons."""
    from benchmark.html_report.site import write_report
    from textureade.errors import UserError

    pairs = []
    for text in compare:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise UserError(f"--compare takes A,B (two method names), got {text!r}")
        pairs.append((parts[0], parts[1]))
    datasets = {}
    for text in data:
        name, sep, path = text.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--data takes NAME=PATH, got {text!r}")
        datasets[name] = path
    s = write_report(
        list(results), out_dir, metric=metric, compare=pairs or None, datasets=datasets, n_boot=n_boot
    )
    for note in s.notes:
        click.echo(f"  note: {note}", err=True)
    click.echo(
        f"{s.n_runs} runs, {s.n_images} images, {len(s.comparisons)} comparisons "
        f"({s.thumbs_written} thumbnails written) -> {s.index}"
    )


@cli.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_cmd(fmt) -> None:
    """Methods, datasets, suites and text models known here, and whether each can be used here (and why not)."""
    import json

    from benchmark.report import catalog, catalog_table

    cat = catalog()
    click.echo(json.dumps(cat, indent=2) if fmt == "json" else catalog_table(cat))


def main() -> None:
    run_cli(cli, "bench")


if __name__ == "__main__":
    main()
