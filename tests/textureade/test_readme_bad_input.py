"""README's "Bad input: what you see" table quotes the messages the code really gives.

Each case makes the bad input, takes the one-line message, writes the temporary folder as ``DIR``
(or drops it before a bare file name) and finds it in the table; a quote ending in `` ...`` stands
for the message's start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from textureade.errors import UserError

README = Path(__file__).resolve().parents[2] / "README.md"
DEEP_JSON = "[" * 100_000 + "]" * 100_000


def _table() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Bad input: what you see", 1)[1].split("\n## ", 1)[0]


def _quotes(table: str) -> list[str]:
    """The table's `code` quotes (``double-backtick`` ones, which hold backticks, left out)."""
    return re.findall(r"`([^`]+)`", re.sub(r"``.+?``", "", table))


def _message(call) -> str:  # noqa: ANN001
    with pytest.raises(UserError) as err:
        call()
    return str(err.value)


def _config(kind: str, tmp_path: Path, text: str) -> str:
    from benchmark.runconfig import resolve_run_config
    from textureade.config import resolve_build_config

    (tmp_path / "c.yaml").write_text(text)
    if kind == "build":
        return _message(lambda: resolve_build_config({"ade20k": "x", "out": "y"}, tmp_path / "c.yaml"))
    return _message(
        lambda: resolve_run_config({"method": "m", "dataset": "d", "out": "o"}, tmp_path / "c.yaml")
    )


def _deep_file(name: str, tmp_path: Path) -> str:
    from benchmark.runinfo import RunInfo
    from benchmark.score import load_sidecar
    from textureade.detecture_format import load_metadata
    from textureade.store import check_dataset

    (tmp_path / name).write_text(
        '{"a":' * 100_000 + "1" + "}" * 100_000 if name == "manifest.json" else DEEP_JSON
    )
    if name == "metadata.json":
        return _message(lambda: load_metadata(tmp_path))
    if name == "manifest.json":
        return _message(lambda: check_dataset(tmp_path))
    if name == "run.json":
        return _message(lambda: RunInfo.read(tmp_path / "run.json"))
    return load_sidecar(tmp_path, "a")[2].replace("a.json", "<id>.json")


CASES = {
    "limit: abc in a build config": lambda p: _config("build", p, "limit: abc\n"),
    "progress: 1 in a run config": lambda p: _config("run", p, "progress: 1\n"),
    "mining: bogus in a build config": lambda p: _config("build", p, "mining: bogus\n"),
    "a mining threshold of the wrong type": lambda p: _config("build", p, "mining: {min_score: abc}\n"),
    "a mining keyword list that is not a list": lambda p: _config(
        "build", p, "mining: {texture_surface: 5}\n"
    ),
    "an unknown mining key": lambda p: _config("build", p, "mining: {bogus_key: 1}\n"),
    "a config YAML nested too deep": lambda p: _config("build", p, "[" * 5000 + "]" * 5000),
    "metadata.json nested too deep": lambda p: _deep_file("metadata.json", p),
    "manifest.json nested too deep": lambda p: _deep_file("manifest.json", p),
    "run.json nested too deep": lambda p: _deep_file("run.json", p),
    "a prediction <id>.json nested too deep": lambda p: _deep_file("a.json", p),
}


@pytest.mark.parametrize("case", CASES)
def test_the_bad_input_table_quotes_the_real_message(tmp_path, case):
    message = CASES[case](tmp_path).replace(f"{tmp_path}/", "DIR/").replace("DIR/c.yaml", "c.yaml")
    quotes = _quotes(_table())
    assert any(q == message or (q.endswith(" ...") and message.startswith(q[:-4])) for q in quotes), message
