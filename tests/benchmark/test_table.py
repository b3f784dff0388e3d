"""`bench table` (#11 items 6 and 9): the paper's table from a small results folder made here by
running toy methods through the real runner on datasets named as the `detecture` suite's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.datasets import DatasetHandle
from benchmark.records import read_records
from benchmark.registry import MethodSpec
from benchmark.runner import RunConfig, run
from benchmark.suites import get_suite
from benchmark.table import ORACLE_TAG, OURS_TAG, RowKey, build_table
from benchmark.table_format import to_latex, to_markdown, write_table
from textureade.errors import UserError
from textureade.types import Sample

sys.path.insert(0, str(Path(__file__).parent))
import runner_toys  # noqa: E402


def stripes(n: int, size: int = 24, seed: int = 1):
    """n images of 1, 2 or 3 vertical stripes (dark / bright / dark), label = stripe index + 1."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        k = 1 + i % 3
        img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
        lm = np.ones((size, size), np.int32)
        bounds = np.linspace(0, size, k + 1).astype(int)
        for j in range(k):
            lm[:, bounds[j] : bounds[j + 1]] = j + 1
            if j % 2:
                img[:, bounds[j] : bounds[j + 1]] += 150
        yield Sample(id=f"s{i:03d}", image=img, label_map=lm, descriptions=[f"Texture {j}" for j in range(k)])


def handle(name: str, n: int, protocol: str, k: int | None = None, stream=stripes) -> DatasetHandle:
    return DatasetHandle(
        name=name,
        form="python",
        factory=lambda: stream(n),
        fingerprint_fn=lambda: name,
        protocol=protocol,
        k=k,
        scoring={"gt_zero": "background"},
    )


GOOD = MethodSpec(name="good", entry="runner_toys:Threshold")
FLAKY = MethodSpec(
    name="flaky", entry="runner_toys:Threshold", params={"fail_mod": 3}, provenance={"design": "ours"}
)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    runs = [
        (GOOD, handle("RWTD", 9, "oracle-k-blind", 2), "good-rwtd"),  # a folder named as released
        (GOOD, handle("rwtd", 9, "oracle-k", 2), "good-rwtd-oracle"),
        (GOOD, handle("ade20k-detecture", 12, "autonomous"), "good-ade"),
        (FLAKY, handle("rwtd", 9, "oracle-k-blind", 2), "flaky-rwtd"),
        (
            MethodSpec(name="k3", entry="runner_toys:Threshold"),
            handle("rwtd", 3, "oracle-k-blind", 3),
            "k3-rwtd",
        ),
        (GOOD, handle("toy-elsewhere", 3, "autonomous", stream=runner_toys.toy_stream), "good-other"),
    ]
    for method, h, out in runs:
        run(RunConfig(method=method, dataset=h, out=root / out, progress=False))
    return root


def _records(results: Path, run: str) -> pd.DataFrame:
    return read_records(results / run)


def test_cells_are_the_runs_means_under_both_aggregations(results):
    ours = build_table([results], "detecture", n_boot=200)
    authors = build_table([results], "detecture", drop_failures=True, n_boot=200)
    assert ours.datasets == list(get_suite("detecture").datasets)  # columns in the suite's order
    assert set(ours.rows) == {RowKey("good"), RowKey("good", oracle=True), RowKey("flaky"), RowKey("k3")}
    assert len(ours.skipped) == 1 and "toy-elsewhere" in ours.skipped[0]
    flaky = _records(results, "flaky-rwtd")
    n_failed = int((flaky["status"] == "failed").sum())
    assert 0 < n_failed < len(flaky)  # the toy fails on some images, not all
    ok = flaky[flaky["status"] == "ok"]
    for metric in ("miou_matched", "ari", "iou_panoptic", "boundary_f"):
        mean_ours, lo, hi = ours.cells[RowKey("flaky"), "rwtd"].metrics[metric]
        assert mean_ours == pytest.approx(flaky[metric].mean()) and lo <= mean_ours <= hi
        assert authors.cells[RowKey("flaky"), "rwtd"].metrics[metric][0] == pytest.approx(ok[metric].mean())
    cell = ours.cells[RowKey("flaky"), "rwtd"]
    assert (cell.n, cell.n_ok, cell.n_failed) == (len(flaky), len(ok), n_failed)
    # failures score 0 in our aggregation, so it is lower whenever the method fails
    assert cell.metrics["miou_matched"][0] < authors.cells[RowKey("flaky"), "rwtd"].metrics["miou_matched"][0]
    assert ours.cells[RowKey("good"), "ade20k-detecture"].given_k == "none"
    assert ours.cells[RowKey("good", oracle=True), "rwtd"].protocol == "oracle-k"


def test_breakdown_by_gt_regions_and_predicted_k(results):
    t = build_table([results], "detecture", n_boot=200)
    recs = _records(results, "good-ade")
    got = {
        (b.n_gt, b.n): b.mean
        for b in t.by_regions
        if b.row == RowKey("good") and b.dataset == "ade20k-detecture"
    }
    want = recs.groupby("n_gt")["iou_panoptic"].agg(["size", "mean"])
    assert sorted(got) == [(int(k), int(r["size"])) for k, r in want.iterrows()]
    assert sorted(k for k, _ in got) == [1, 2, 3]
    for (k, _), mean in got.items():
        assert mean == pytest.approx(want.loc[k, "mean"])
    dist = t.pred_k[RowKey("good"), "ade20k-detecture"]
    assert dist == {int(k): int(v) for k, v in recs["n_pred"].value_counts().items()}
    assert sum(dist.values()) == len(recs)


def test_labels_formats_and_published(results, tmp_path):
    t = build_table([results], "detecture", published=True, n_boot=200)
    assert t.label(RowKey("flaky")) == f"flaky {OURS_TAG}"
    assert t.label(RowKey("good", oracle=True)) == f"good {ORACLE_TAG}"
    md = to_markdown(t)
    assert "failed images count with score 0" in md and f"| good {ORACLE_TAG} |" in md
    assert "| SAM3 (ours: sam3) | 0.6337 / 0.4427 |" in md  # the final table, rwtd first
    assert "TextureSAM (ours: not run)" in md
    tex = to_latex(t)
    # the toy describes its regions ("Texture of dark": 3 words, invalid): a third, description table
    assert tex.count(r"\toprule") == 3 and r"\cmidrule(lr){2-3}" in tex and r"\bottomrule" in tex
    assert "dValid" in tex and "## Descriptions: desc_valid (mean [95% CI])" in md
    assert r"good [oracle: GT text]" in tex and r"published: 2026-04-22" in tex
    paths = write_table(t, tmp_path / "out")
    assert sorted(paths) == [
        "by_regions.csv",
        "pred_k.csv",
        "published.csv",
        "table.csv",
        "table.md",
        "table.tex",
    ]
    cells = pd.read_csv(paths["table.csv"])
    assert len(cells) == 5 and set(cells["aggregation"]) == {"failures_zero"}
    assert (cells["desc_valid"] == 0.0).all() and "desc_similarity" not in cells  # no text model cached
    assert cells.loc[cells["row"] == f"flaky {OURS_TAG}", "our_design"].item()
    pub = pd.read_csv(paths["published.csv"])
    final = pub[(pub["table"] == "final") & (pub["method"] == "Detecture") & (pub["dataset"] == "caid")]
    assert dict(zip(final["metric"], final["value"])) == {"mIoU": 0.7450, "ARI": 0.5883}
    assert len(pub) == 5 * 4 * 2 + 4 * 4 * 7  # both tables, every cell and metric


def test_cli_table_and_user_errors(results, tmp_path):
    out = tmp_path / "t"
    res = CliRunner().invoke(
        cli, ["table", str(results), "--out", str(out), "--drop-failures", "--n-boot", "100"]
    )
    assert res.exit_code == 0, res.output
    assert "Authors' aggregation (--drop-failures)" in res.output
    assert "authors' aggregation (--drop-failures)" in (out / "table.md").read_text().lower()
    assert set(pd.read_csv(out / "table.csv")["aggregation"]) == {"drop_failures"}
    with pytest.raises(UserError, match="no run under"):
        build_table([results / "good-other"], "detecture")
    dup = tmp_path / "dup"
    run(RunConfig(method=GOOD, dataset=handle("rwtd", 2, "oracle-k-blind", 2), out=dup / "a", progress=False))
    run(RunConfig(method=GOOD, dataset=handle("rwtd", 2, "oracle-k-blind", 2), out=dup / "b", progress=False))
    with pytest.raises(UserError, match="two runs of good on rwtd"):
        build_table([dup], "detecture")


def test_our_designs_say_so_in_their_manifests():
    """detecture-zs and naive-coupling are this project's designs (#11): their rows are labelled."""
    from benchmark.registry import load_method_specs

    specs = load_method_specs()
    assert {n for n, s in specs.items() if s.provenance.get("design") == "ours"} >= {
        "detecture-zs",
        "naive-coupling",
    }
    for name in ("sam3", "grounded-sam3", "sa2va", "qwen2sam-zs", "detecture"):
        assert specs[name].provenance.get("design") != "ours", name


def test_cells_off_the_suites_setting_are_marked(results):
    """detecture gives every method K=2 under oracle-k-blind on rwtd, autonomous on ade20k-detecture."""
    t = build_table([results], "detecture", n_boot=100)
    assert t.cells[RowKey("good"), "rwtd"].off_suite is None
    assert t.cells[RowKey("good"), "ade20k-detecture"].off_suite is None
    assert t.cells[RowKey("k3"), "rwtd"].off_suite == "K 3 (suite: 2)"
    oracle = t.cells[RowKey("good", oracle=True), "rwtd"].off_suite
    assert oracle == "protocol oracle-k (suite: oracle-k-blind)"
    md = to_markdown(t)
    assert "| k3 | " in md and " * |" in md and "k3 on rwtd: K 3 (suite: 2)" in md
    k3_row = next(line for line in to_latex(t).splitlines() if line.startswith("k3 &"))
    assert k3_row.split(" & ")[2].endswith("$^*$")  # rwtd's ARI cell, the last of its group


def test_a_broken_published_manifest_is_one_line_also_without_published(results, tmp_path, monkeypatch):
    # read once for the dataset aliases and the published tables: one error policy for both
    (tmp_path / "published").mkdir()
    broken = tmp_path / "published" / "detecture.yaml"
    monkeypatch.setenv("TEXTUREADE_EXTRA_MANIFESTS", str(tmp_path))
    broken.write_text("datasets: {RWTD: [\n")
    with pytest.raises(
        UserError, match=r"^published-results manifest .* is not valid YAML .*; fix the file$"
    ):
        build_table([results], "detecture", n_boot=50)
    broken.write_text("datasets: [RWTD]\n")
    with pytest.raises(UserError, match="is not a published-results manifest: AttributeError"):
        build_table([results], "detecture", published=True, n_boot=50)
