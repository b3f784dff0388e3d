"""What the fuzz tests share: hypothesis settings, in-process CLI runs, byte-level damage helpers.

Two example budgets: the fast one keeps each property at a few seconds in ``make test``; the deep
one is the ``slow``-marked deeper run, minutes long, so it runs only when asked for:
``TEXTUREADE_FUZZ_DEEP=1 .venv/bin/pytest -m slow tests/fuzz`` (``make test`` lists it as skipped).
Examples are derandomised so a failure reproduces on every machine; nothing is written to a
hypothesis database.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def budget(fast: int, deep: int) -> tuple[settings, settings]:
    """(settings for make test, settings for the slow-marked deeper run)."""
    return settings(max_examples=fast, **_COMMON), settings(max_examples=deep, **_COMMON)


def deep(test: Callable) -> Callable:
    """Mark a deep fuzz run: ``slow``, and skipped unless $TEXTUREADE_FUZZ_DEEP is set."""
    skip = pytest.mark.skipif(
        not os.environ.get("TEXTUREADE_FUZZ_DEEP"),
        reason="deep fuzz run (minutes): TEXTUREADE_FUZZ_DEEP=1 pytest -m slow tests/fuzz",
    )
    return pytest.mark.slow(skip(test))


def run_main(main: Callable[[], None], argv: list[str]) -> tuple[int, str, str]:
    """Run a CLI ``main`` in this process: (exit code, stdout, stderr).

    Only SystemExit ends it normally; any other exception propagates, so a traceback a user
    would see fails the test with that traceback.
    """
    out, err = io.StringIO(), io.StringIO()
    old_argv = sys.argv
    sys.argv = [argv[0], *argv[1:]]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, stderr: str, allowed: tuple[int, ...] = (0, 1, 2)) -> None:
    """Exit code as documented, no traceback, and an error (exit 2) is exactly one line."""
    assert code in allowed, (code, stderr[-2000:])
    assert "Traceback" not in stderr, stderr[-2000:]
    if code == 2:
        errors = [line for line in stderr.splitlines() if ": error: " in line]
        assert len(errors) == 1, stderr[-2000:]


def rewrite(path: Path, data: bytes) -> None:
    """Replace ``path`` by a new file (unlinking first: never write through a symlink)."""
    if path.is_symlink() or path.exists():
        path.unlink()
    path.write_bytes(data)


def damage_bytes(data: bytes, kind: str, at: float, value: int) -> bytes:
    """``data`` truncated at fraction ``at``, with one byte flipped there, emptied or replaced.

    kind: truncate | flip | empty | garbage | text | append.
    """
    n = len(data)
    i = min(max(int(at * n), 0), max(n - 1, 0))
    if kind == "truncate":
        return data[:i]
    if kind == "flip":
        if not n:
            return data
        b = bytearray(data)
        b[i] ^= value % 255 + 1
        return bytes(b)
    if kind == "empty":
        return b""
    if kind == "garbage":
        return bytes((value * 7 + j * 13) % 256 for j in range(1 + value * 3))
    if kind == "text":
        return b"this is not an image\n"
    if kind == "append":
        return data + b"\0junk" * (1 + value % 5)
    raise ValueError(kind)


BYTE_DAMAGE = ("truncate", "flip", "empty", "garbage", "text", "append")
