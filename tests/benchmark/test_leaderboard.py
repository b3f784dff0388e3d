"""Leaderboards from records only: means with bootstrap CIs, failures counted, provenance; `bench list`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmark.datasets import DatasetHandle
from benchmark.leaderboard import build_leaderboard, metric_columns
from benchmark.registry import MethodSpec
from benchmark.report import write_leaderboard
from benchmark.runner import RunConfig, run
from textureade.errors import UserError

sys.path.insert(0, str(Path(__file__).parent))
import runner_toys  # noqa: E402


def _runs(root: Path) -> None:
    for ds, n in (("toy-a", 10), ("toy-b", 6)):
        h = DatasetHandle(
            name=ds,
            form="python",
            factory=lambda n=n: runner_toys.toy_stream(n),
            fingerprint_fn=lambda ds=ds: ds,
        )
        run(
            RunConfig(
                method=MethodSpec(name="good", entry="runner_toys:Threshold"),
                dataset=h,
                out=root / f"good-{ds}",
                progress=False,
            )
        )
        bad = MethodSpec(
            name="flaky",
            entry="runner_toys:Threshold",
            params={"fail_mod": 3},
            provenance={"reimplementation": True},
        )
        run(RunConfig(method=bad, dataset=h, out=root / f"flaky-{ds}", progress=False))


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    _runs(root)
    return root


def test_one_row_per_method_dataset_protocol_with_cis(results):
    from benchmark.metrics import METRIC_KEYS, bootstrap_ci

    df = build_leaderboard([results])
    assert len(df) == 4 and set(df["method"]) == {"good", "flaky"}
    from benchmark.records import OPTIONAL_METRIC_KEYS

    # score maps: the authors' Dice / dustbin columns too (benchmark.metrics.detecture); the toy
    # describes its regions, so desc_valid (no text model is cached here: no desc_similarity)
    assert metric_columns(df) == [*METRIC_KEYS, *OPTIONAL_METRIC_KEYS, "desc_valid"]
    for _, row in df.iterrows():
        recs = pd.read_parquet(Path(row["run_dir"]) / "records.parquet")
        assert row["n"] == len(recs) and row["n_ok"] + row["n_failed"] == len(recs)
        for key in METRIC_KEYS:
            assert row[key] == pytest.approx(recs[key].mean())  # failures stay in the mean
            lo, hi = bootstrap_ci(recs[key].to_numpy(), n=1000, seed=0)
            assert (row[f"{key}_lo"], row[f"{key}_hi"]) == pytest.approx((lo, hi))
            assert row[f"{key}_lo"] <= row[key] + 1e-12 and row[key] <= row[f"{key}_hi"] + 1e-12
        assert row["images_per_s"] > 0 and row["complete"]
        assert row["dataset_fingerprint"] == row["dataset"]
    flaky = df[df["method"] == "flaky"]
    assert (flaky["n_failed"] > 0).all() and flaky["reimplementation"].all()
    good = df[(df["method"] == "good") & (df["dataset"] == "toy-a")].iloc[0]
    bad = df[(df["method"] == "flaky") & (df["dataset"] == "toy-a")].iloc[0]
    assert bad["miou_matched"] < good["miou_matched"]  # the failures (score 0) pull the mean down


def test_csv_md_png_written_beside_each_other(results, tmp_path):
    df = build_leaderboard([results])
    paths = write_leaderboard(df, tmp_path / "lb" / "leaderboard.csv", ["miou_matched", "ari"])
    back = pd.read_csv(paths["csv"])
    assert len(back) == 4 and {"miou_matched_lo", "git_hash", "weights", "n_failed"} <= set(back.columns)
    md = paths["md"].read_text()
    assert md.count("\n| flaky |") == 2 and "miou_matched ↑" in md and "[" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(UserError, match="unknown metrics"):
        write_leaderboard(df, tmp_path / "x.csv", ["nope"])


def test_duplicate_runs_and_empty_folders_are_user_errors(results, tmp_path):
    with pytest.raises(UserError, match="no run.json"):
        build_leaderboard([tmp_path])
    dup = tmp_path / "dup"
    h = DatasetHandle(
        name="toy-a", form="python", factory=lambda: runner_toys.toy_stream(3), fingerprint_fn=lambda: "x"
    )
    run(
        RunConfig(
            method=MethodSpec(name="good", entry="runner_toys:Threshold"), dataset=h, out=dup, progress=False
        )
    )
    with pytest.raises(UserError, match="two runs of good on toy-a"):
        build_leaderboard([results, dup])


@pytest.mark.slow  # end to end through subprocesses / the CLI: seconds, not the quick loop
def test_cli_leaderboard_and_list_json(results, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "leaderboard", str(results), "--out", str(tmp_path / "lb.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (
        "| good | toy-a |" in out.stdout and (tmp_path / "lb.png").exists() and (tmp_path / "lb.md").exists()
    )

    out = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "list", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    cat = json.loads(out.stdout)
    from benchmark.registry import load_method_specs

    assert [m["name"] for m in cat["methods"]] == list(load_method_specs())
    for entry in cat["methods"] + cat["datasets"]:
        assert entry["available"] == (entry["reason"] is None)
        assert entry["reason"] is None or "\n" not in entry["reason"]
    assert {"rwtd", "textureade", "mosaics"} <= {d["name"] for d in cat["datasets"]}
    assert "detecture" in {s["name"] for s in cat["suites"]}
    table = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "list"], capture_output=True, text=True, timeout=120
    )
    assert table.returncode == 0 and "METHODS" in table.stdout and "DATASETS" in table.stdout


def test_a_stopped_run_is_tabulated_from_its_journal(tmp_path):
    from benchmark.method import MethodUnavailable

    h = DatasetHandle(
        name="toy-c", form="python", factory=lambda: runner_toys.toy_stream(5), fingerprint_fn=lambda: "c"
    )
    with pytest.raises(MethodUnavailable):
        run(
            RunConfig(
                method=MethodSpec(name="lazy", entry="runner_toys:LazyWeights"), dataset=h, out=tmp_path / "r"
            )
        )
    assert not (tmp_path / "r" / "records.parquet").exists()
    row = build_leaderboard([tmp_path / "r"], n_boot=100).iloc[0]
    assert (row["n"], row["n_ok"], row["complete"]) == (2, 2, False) and row["miou_matched"] > 0


def test_bench_list_lists_the_text_models(tmp_path, monkeypatch):
    """`bench list` shows the text_models manifests like the other manifests: hub id and revision, the
    one in force, and whether it is on this machine (the local Hugging Face cache) and why not."""
    import huggingface_hub.constants

    from benchmark.report import catalog, catalog_table

    rev = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"  # the default manifest's pin, in a stand-in cache
    snap = tmp_path / "hf" / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots" / rev
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    user = tmp_path / "extra" / "text_models"
    user.mkdir(parents=True)
    (user / "other.yaml").write_text("name: other\nmodel: org/not-cached\nrevision: " + "a" * 40 + "\n")
    monkeypatch.setenv("TEXTUREADE_EXTRA_MANIFESTS", str(tmp_path / "extra"))
    monkeypatch.setenv("TEXTUREADE_TEXT_MODEL", "other")
    models = {t["name"]: t for t in catalog()["text_models"]}
    assert set(models) == {"all-minilm-l6-v2", "other"}
    default = models["all-minilm-l6-v2"]
    assert (default["model"], default["revision"]) == ("sentence-transformers/all-MiniLM-L6-v2", rev)
    assert default["available"] and default["reason"] is None and not default["in_force"]
    assert default["user_manifest"] is None
    other = models["other"]
    assert (
        other["in_force"]
        and not other["available"]
        and "huggingface-cli download org/not-cached" in other["reason"]
    )
    assert other["user_manifest"] == f"user manifest {user / 'other.yaml'}"
    table = catalog_table(catalog()).split("TEXT MODELS")[1].splitlines()
    assert "all-MiniLM-L6-v2@c9745ed1d9f2" in table[1] and table[1].endswith("ready")
    assert "in force, unavailable: text model 'org/not-cached'" in table[2]


def test_one_direction_for_every_column_and_every_report():
    """higher_is_better decides for the leaderboard Markdown/PNG and the HTML site alike."""
    import pandas as pd

    from benchmark.metrics import higher_is_better
    from benchmark.report import to_markdown

    assert [higher_is_better(k) for k in ("miou_matched", "vi", "vi_bits")] == [True, False, False]
    assert [higher_is_better(k) for k in ("time_predict", "time_total")] == [False, False]
    assert all(higher_is_better(k) for k in ("dice_matched", "desc_similarity"))
    row = {"method": "m", "dataset": "d", "protocol": "oracle-k", "k": None, "n_ok": 1, "n_failed": 0}
    row |= {"images_per_s": 1.0, "time_total": 0.5, "time_total_lo": 0.4, "time_total_hi": 0.6}
    assert "| time_total ↓ |" in to_markdown(pd.DataFrame([row]))  # was ↑ before the one rule


def test_the_k_column_says_not_given_for_autonomous_runs():
    """Autonomous runs and GT-count runs both record k = None; the table tells them apart."""
    import pandas as pd

    from benchmark.leaderboard import k_text
    from benchmark.report import to_markdown

    assert [k_text("autonomous", None), k_text("oracle-k", None), k_text("oracle-k", 3.0)] == [
        "not given",
        "GT",
        "3",
    ]
    base = {"method": "m", "n_ok": 1, "n_failed": 0, "images_per_s": 1.0, "miou_matched": 0.5}
    base |= {"miou_matched_lo": 0.4, "miou_matched_hi": 0.6}
    rows = [{**base, "dataset": "a", "protocol": "autonomous", "k": None},
            {**base, "dataset": "b", "protocol": "oracle-k", "k": None}]  # fmt: skip
    table = to_markdown(pd.DataFrame(rows), ["miou_matched"])
    assert "| m | a | autonomous | not given |" in table and "| m | b | oracle-k | GT |" in table
