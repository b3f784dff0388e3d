"""What both CLIs share: one-line errors with exit code 2, never a traceback for user mistakes."""

from __future__ import annotations

import sys

import click

from textureade.errors import UserError, first_line
from textureade.types import ValidationError


def run_cli(group: click.Group, prog_name: str) -> None:
    """Run a click group; UserError/ValidationError -> ``prog: error: ...`` on stderr and exit 2."""
    try:
        # without standalone mode click returns ctx.exit()/Exit codes instead of raising them
        rc = group.main(prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: click's own one-liners
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo(f"{prog_name}: aborted", err=True)
        sys.exit(130)
    except (UserError, ValidationError) as exc:
        click.echo(f"{prog_name}: error: {first_line(exc)}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo(f"{prog_name}: interrupted", err=True)
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) and not isinstance(rc, bool) else 0)
