"""`textureade` command line: build, mosaic, export, check. Thin over the library API."""

from __future__ import annotations

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


def main() -> None:
    run_cli(cli, "textureade")


if __name__ == "__main__":
    main()
