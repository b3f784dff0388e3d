"""Errors a user can cause. The CLIs print them as one line and exit with code 2, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad path, wrong format, missing weights).

    The message is one line that says what is wrong and what to do.
    """

    exit_code = 2
