"""`make demo` end to end on a reduced size: data built by the real pipeline, every method run or skipped."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark.demo import _prepare, main
from benchmark.registry import availability, load_method_specs


@pytest.mark.slow  # end to end through subprocesses / the CLI: seconds, not the quick loop
def test_demo_end_to_end_small(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["--out", str(out), "--n-ade", "6", "--n-mosaics", "2", "--limit", "2", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    specs = load_method_specs()
    entries = json.loads((out / "methods.json").read_text())
    ran = {e["method"] for e in entries if e["status"] == "ran"}
    skipped = {e["method"]: e["reason"] for e in entries if e["status"] == "skipped"}
    assert ran | set(skipped) == set(specs) and not ran & set(skipped)
    for name, spec in specs.items():  # skipped exactly when the registry says it cannot run here
        assert (name in skipped) == (availability(spec) is not None)
    for name, reason in skipped.items():
        assert reason and f"{name}: {reason}" in printed
    df = pd.read_csv(out / "leaderboard.csv")
    assert len(df) == 2 * len(ran) and set(df["dataset"]) == {"textureade", "mosaics"}
    assert (df["n_ok"] + df["n_failed"] == 2).all() and df["miou_matched_lo"].notna().all()
    assert (out / "leaderboard.md").exists() and (out / "leaderboard.png").stat().st_size > 1000
    assert "| method | dataset |" in printed
    # both static sites: the report (a gallery per run) and the preview of the mini TextureADE
    assert len(list((out / "report" / "runs").glob("*/items.js"))) == len(df)
    assert (out / "report" / "index.html").is_file() and (out / "preview" / "index.html").is_file()
    assert json.loads((out / "preview" / "stats.json").read_text())["n_samples"] > 0
    _open_in_chromium([out / "report" / "index.html", out / "preview" / "index.html",
                       *sorted((out / "report" / "runs").glob("*/index.html"))[:2]])  # fmt: skip

    # a demo folder is replaced by the next demo; a foreign folder is refused and left alone
    _prepare(out)
    assert [p.name for p in out.iterdir()] == [".demo"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x")
    assert main(["--out", str(tmp_path / "mine"), "--no-progress"]) == 2
    assert (tmp_path / "mine" / "keep.txt").exists()


def _open_in_chromium(pages) -> None:
    """Each page loads in headless Chromium with no console error (skipped without chromium)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import browser

    if browser.chromium_path() is None:
        return
    with browser.Chromium() as chrome:
        opened = [chrome.open(p) for p in pages]
        for page in opened:
            page.wait_for("document.body.getAttribute('data-ready') === '1'")
        chrome.pump(0.2)
        assert [e for page in opened for e in page.errors] == []
