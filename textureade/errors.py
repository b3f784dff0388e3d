"""Errors a user can cause, and the one way an error becomes one line of text.

The CLIs print a :class:`UserError` as one line and exit with code 2, never a traceback.
:func:`first_line` is how every module words an exception in one line (a record's ``reason``,
a reader's reject, a UserError that wraps a library's error); :func:`safe_text` makes any text
writable as UTF-8.
"""

from __future__ import annotations

import os

#: The longest reason :func:`first_line` gives with ``with_type`` (characters); a longer one is cut.
REASON_LIMIT = 500


class UserError(Exception):
    """A problem the user can fix (bad path, wrong format, missing weights).

    The message is one line that says what is wrong and what to do.
    """

    exit_code = 2


def safe_text(text: object) -> str:
    """``str(text)`` made encodable as UTF-8 (for JSON lines, parquet and terminals).

    A file name that is not valid UTF-8 reaches Python with its undecodable bytes as lone
    surrogates (``surrogateescape``, e.g. ``b"\\xff"`` -> ``"\\udcff"``): those bytes come back as
    ``\\xff``. Any other lone surrogate (from JSON ``"\\ud800"`` escapes) is written ``\\ud800``.
    Valid text is returned unchanged.
    """
    s = str(text)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        pass
    try:
        return os.fsencode(s).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def first_line(error: object, default: str | None = None, *, with_type: bool = False) -> str:
    """The first non-blank line of ``str(error)``, stripped and made safe (:func:`safe_text`).

    error: an exception (or any text). default: what an empty message gives; None: the
    exception's type name (``""`` for text). with_type: a reason to record, ``"ValueError: <first
    line>"`` (just ``"ValueError"`` when the message is empty) cut at :data:`REASON_LIMIT`
    characters: a failed record's ``reason`` in ``bench run`` and ``bench score`` alike. Without
    it the line is whole (a UserError's message is the advice the user needs).
    """
    lines = [line.strip() for line in safe_text(error).splitlines() if line.strip()]
    name = type(error).__name__ if isinstance(error, BaseException) else ""
    if with_type and name:
        return (f"{name}: {lines[0]}" if lines else name)[:REASON_LIMIT]
    if lines:
        return lines[0]
    return name if default is None else default
