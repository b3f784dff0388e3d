"""`bench` command line: run, score, leaderboard, list. Thin over the library API."""

from __future__ import annotations

import click

from benchmark import __version__
from textureade.cliutil import run_cli


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bench")
def cli() -> None:
    """Run and score sub-semantic segmentation methods; publish leaderboards."""


def main() -> None:
    run_cli(cli, "bench")


if __name__ == "__main__":
    main()
