"""`bench report`: the leaderboard's numbers, galleries (matching, failures, worst first), comparisons,
thumbnails written once, and the site in headless Chromium (a 2,000-image gallery included)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.html_report.runs import load_runs, sort_keys
from benchmark.html_report.site import write_report
from benchmark.leaderboard import build_leaderboard, find_runs, metric_columns
from benchmark.records import read_records
from benchmark.registry import MethodSpec
from benchmark.runner import RunConfig, run
from textureade.errors import UserError
from textureade.store.writer import DatasetWriter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import browser  # noqa: E402
import runner_toys  # noqa: E402

needs_chromium = pytest.mark.skipif(
    browser.chromium_path() is None, reason=f"chromium not installed; {browser.INSTALL}"
)


def make_results(root: Path, n: int, methods: dict[str, dict]) -> Path:
    """A TextureADE folder of n toy samples and one run per method (predictions saved)."""
    data = root / "toyset"
    with DatasetWriter(data, name="toyset", card={}, config={}) as writer:
        for sample in runner_toys.toy_stream(n, size=48):
            writer.add(sample)
    for name, params in methods.items():
        spec = MethodSpec(name=name, entry="runner_toys:Threshold", params=params)
        run(
            RunConfig(
                method=spec, dataset=data, out=root / "runs" / name, progress=False, save_predictions=True
            )
        )
    return root / "runs"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    return make_results(tmp_path_factory.mktemp("report"), 20, {"good": {}, "flaky": {"fail_mod": 3}})


@pytest.fixture(scope="module")
def site(results, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    write_report([results], out, n_boot=200)
    return out


def gallery_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith('window["GALLERY"] = ') and text.endswith(";\n")
    return json.loads(text[len('window["GALLERY"] = ') : -2])


def test_leaderboard_numbers_are_the_csv(results, site):
    df = build_leaderboard([results], n_boot=200)
    html = (site / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>", 1)[1].split("</tbody>", 1)[0])
    assert len(rows) == len(df)
    for (_, r), row in zip(df.iterrows(), rows):
        values = re.findall(r'data-v="([^"]*)"', row)
        assert values[0] == r["method"]
        for m in metric_columns(df):
            assert repr(float(r[m])) in values, m
        assert repr(float(r["n_failed"])) in values and repr(float(r["images_per_s"])) in values
    csv = (site / "leaderboard.csv").read_text()
    assert csv.splitlines()[0].startswith("method,dataset,protocol,k")


def test_gallery_every_image_matching_and_failures(results, site):
    for view in load_runs(find_runs([results])):
        data = gallery_data(site / "runs" / view.slug / "items.js")
        recs = read_records(view.run_dir)
        assert [it["id"] for it in data["items"]] == list(recs["id"])
        assert data["default_key"] == "miou_matched"
        by_id = {r["id"]: r for r in recs.to_dict("records")}
        for it in data["items"]:
            rec = by_id[it["id"]]
            assert it["failed"] == (rec["status"] == "failed")
            assert it["v"]["miou_matched"] == pytest.approx(rec["miou_matched"])
            if it["failed"]:
                assert it["reason"] == rec["reason"] and len(it["imgs"]) == 2
                continue
            assert len(it["imgs"]) == 3 and all((site / im[0]).is_file() for im in it["imgs"])
            ious = [float(row[2]) for row in it["table"]["rows"] if row[2] != "unmatched"]
            assert np.mean(ious) == pytest.approx(rec["miou_matched"], abs=1e-3)
            assert {row[4] for row in it["table"]["rows"]} <= {"Texture of dark", "Texture of bright", ""}
            assert {row[1] for row in it["table"]["rows"]} <= {
                "Texture of dark noise, left side", "Texture of bright noise, right side", ""
            }  # fmt: skip
    flaky = [v for v in load_runs(find_runs([results])) if v.method == "flaky"][0]
    assert (read_records(flaky.run_dir)["status"] == "failed").any()


def test_comparison_of_two_methods(results, site):
    pages = sorted((site / "compare").glob("*.js"))
    assert len(pages) == 1
    data = gallery_data(pages[0])
    assert len(data["items"]) == 20
    name_a = pages[0].stem.split("__vs__")[0].split("__")[0]
    views = {v.method: v for v in load_runs(find_runs([results]))}
    a, b = views[name_a], views[({"good", "flaky"} - {name_a}).pop()]
    ra = read_records(a.run_dir).set_index("id")
    rb = read_records(b.run_dir).set_index("id")
    for it in data["items"]:
        diff = rb.loc[it["id"], "ari"] - ra.loc[it["id"], "ari"]
        assert it["v"]["ari B-A"] == pytest.approx(diff)
        assert len(it["imgs"]) == 2 + (ra.loc[it["id"], "status"] == "ok") + (
            rb.loc[it["id"], "status"] == "ok"
        )


def test_thumbnails_written_once(results, tmp_path):
    first = write_report([results], tmp_path, n_boot=200)
    thumbs = sorted((tmp_path / "thumbs").glob("*.jpg"))
    assert first.thumbs_written == len(thumbs) > 0
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in thumbs}
    again = write_report([results], tmp_path, n_boot=200)
    assert again.thumbs_written == 0
    assert {
        p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in (tmp_path / "thumbs").glob("*.jpg")
    } == before


def test_options_and_errors(results, tmp_path):
    s = write_report([results], tmp_path / "a", metric="ari", compare=[("good", "flaky")], n_boot=200)
    assert [p.name.split("__")[0] for p in s.comparisons] == ["good"]
    for view in load_runs(find_runs([results])):
        assert gallery_data(tmp_path / "a" / "runs" / view.slug / "items.js")["default_key"] == "ari"
    # a later report of one run into the same folder removes the other run's pages and thumbnails
    one = write_report([results / "good"], tmp_path / "a", n_boot=200)
    assert one.thumbs_written == 0 and one.comparisons == []
    assert [p.name for p in (tmp_path / "a" / "runs").iterdir()] == ["good__toyset__autonomous"]
    assert list((tmp_path / "a" / "compare").iterdir()) == []
    used = set(
        re.findall(
            r"thumbs/[0-9a-f]+-\w+\.jpg",
            (tmp_path / "a" / "runs" / "good__toyset__autonomous" / "items.js").read_text(),
        )
    )
    assert {f"thumbs/{p.name}" for p in (tmp_path / "a" / "thumbs").iterdir()} == used
    with pytest.raises(UserError, match="--metric"):
        write_report([results], tmp_path / "b", metric="no_such", n_boot=200)
    with pytest.raises(UserError, match="--compare"):
        write_report([results], tmp_path / "c", compare=[("good", "nobody")], n_boot=200)
    result = CliRunner().invoke(
        cli, ["report", str(results), "--out", str(tmp_path / "d"), "--n-boot", "200"]
    )
    assert result.exit_code == 0, result.output
    assert "2 runs, 40 images, 1 comparisons" in result.output


def test_moved_dataset_is_a_note_and_data_finds_it(results, tmp_path):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(results.parent, moved)
    shutil.rmtree(moved / "toyset")
    shutil.copytree(results.parent / "toyset", tmp_path / "elsewhere")
    # run.json still names the original folder: point it at a missing one
    for run_json in (moved / "runs").glob("*/run.json"):
        info = json.loads(run_json.read_text())
        info["dataset"]["path"] = str(moved / "toyset")
        run_json.write_text(json.dumps(info))
    s = write_report([moved / "runs"], tmp_path / "site", n_boot=200)
    assert s.notes and all("cannot open the dataset" in n for n in s.notes)
    s = write_report(
        [moved / "runs"], tmp_path / "site2", datasets={"toyset": tmp_path / "elsewhere"}, n_boot=200
    )
    assert s.notes == []


def test_every_numeric_record_column_is_a_sort_key(results):
    view = load_runs(find_runs([results]))[0]
    view.records["desc_similarity"] = np.linspace(0, 1, len(view.records))
    keys = sort_keys(view)
    first = [k for k in view.info.metric_keys if k in keys]  # metric columns with a value lead
    assert keys[: len(first)] == first
    assert "desc_similarity" in keys and "index" not in keys and "height" not in keys


def non_blank(png: bytes) -> bool:
    from PIL import Image

    arr = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32)
    return arr.std() > 10 and len(np.unique(arr)) > 20


FIRST_IMAGE = (
    "(() => { const i = document.querySelector('#cards img'); return i && i.complete && i.naturalWidth; })()"
)


@pytest.mark.slow  # a headless browser
@needs_chromium
def test_report_in_headless_chromium(site):
    with browser.Chromium() as chrome:
        page = chrome.open(site / "index.html")
        page.wait_for("document.body.getAttribute('data-ready') === '1'")
        col = (
            "Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
            ".map(r => Number(r.cells[{i}].dataset.v))"
        )
        heads = page.evaluate(
            "Array.from(document.querySelectorAll('#leaderboard th')).map(h => h.textContent)"
        )
        i = next(j for j, h in enumerate(heads) if h.startswith("miou_matched"))
        page.evaluate(f"document.querySelectorAll('#leaderboard th')[{i}].click()")
        up = page.evaluate(col.format(i=i))
        assert up == sorted(up) and up[0] < up[-1]
        page.evaluate(f"document.querySelectorAll('#leaderboard th')[{i}].click()")
        assert page.evaluate(col.format(i=i)) == sorted(up, reverse=True)
        assert non_blank(page.screenshot())
        for html in [
            *sorted((site / "runs").glob("*/index.html")),
            *sorted((site / "compare").glob("*.html")),
        ]:
            gallery = chrome.open(html)
            assert gallery.wait_for(FIRST_IMAGE) > 0
            assert non_blank(gallery.screenshot())
            # worst first by the default key: the first card is the lowest miou_matched
            first = gallery.evaluate("document.querySelector('#cards .card h3').textContent")
            data = gallery_data(
                html.with_name("items.js") if html.parent.parent.name == "runs" else html.with_suffix(".js")
            )
            key = data["default_key"]
            worst = min((it for it in data["items"] if it["v"][key] is not None), key=lambda it: it["v"][key])
            assert data["items"][[it["id"] for it in data["items"]].index(first)]["v"][key] == worst["v"][key]
        chrome.pump(0.2)
        errors = [e for p in (page, gallery) for e in p.errors]
        assert errors == []
        assert all(e.get("method") != "Runtime.exceptionThrown" for e in chrome.events), (
            "an uncaught exception on some page"
        )


@pytest.mark.slow
@needs_chromium
def test_2000_image_gallery_loads(tmp_path):
    """A 2,000-image results folder: the gallery page loads, shows page 1 of 40 with its images."""
    results = make_results(tmp_path, 2000, {"big": {"fail_mod": 7}})
    write_report([results], tmp_path / "site", n_boot=100)
    (html,) = (tmp_path / "site" / "runs").glob("*/index.html")
    with browser.Chromium(timeout=60) as chrome:
        page = chrome.open(html)
        assert page.wait_for(FIRST_IMAGE, timeout=30) > 0
        assert page.evaluate("document.querySelectorAll('#cards .card').length") == 50
        assert (
            page.evaluate("document.getElementById('count').textContent")
            == "2000 of 2000 images, page 1 of 40"
        )
        page.evaluate("document.querySelector('.pager button:last-child').click()")
        assert "page 2 of 40" in page.evaluate("document.getElementById('count').textContent")
        chrome.pump(0.2)
        assert page.errors == []


def test_a_bench_score_folder_shows_its_predictions(results, tmp_path):
    from benchmark.score import score_folder

    score_folder(results.parent / "toyset", results / "good" / "predictions", tmp_path / "scored" / "ext",
                 name="external", n_boot=100)  # fmt: skip
    s = write_report([tmp_path / "scored"], tmp_path / "site", n_boot=200)
    assert s.n_runs == 1 and s.notes == []
    (items,) = (tmp_path / "site" / "runs").glob("*/items.js")
    data = gallery_data(items)
    assert len(data["items"]) == 20 and all(len(it["imgs"]) == 3 for it in data["items"])
    assert all(it["table"]["rows"] for it in data["items"])
