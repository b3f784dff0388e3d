"""`textureade preview` / `textureade stats`: region quality measures, dataset statistics, the static
site (thumbnails written once) and the site in headless Chromium."""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from textureade.cli import cli
from textureade.preview.quality import chi_square, class_regions, pixel_codes, region_quality
from textureade.preview.site import write_preview
from textureade.preview.stats import dataset_stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import browser  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A mini TextureADE built by the real pipeline from the synthetic ADE20K folder."""
    from textureade.config import BuildConfig
    from textureade.pipeline import build
    from textureade.testing.synthetic_ade import write_synthetic_ade

    root = tmp_path_factory.mktemp("preview")
    ade = write_synthetic_ade(root / "ade", n=10, seed=0)
    build(BuildConfig(ade20k=str(ade), out=str(root / "tade"), progress=False, seed=0))
    return root / "tade"


def _stripes(
    h: int, w: int, period: int, rng: np.random.Generator, colour: tuple[int, int, int]
) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = colour
    img[(np.arange(h) // period % 2 == 1)] //= 3
    return np.clip(img.astype(int) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)


def test_chi_square_bounds():
    a = np.array([[0.5, 0.5, 0.0, 0.0]])
    assert chi_square(a, a)[0] == 0.0
    assert chi_square(a, np.array([[0.0, 0.0, 0.5, 0.5]]))[0] == pytest.approx(1.0)


def test_quality_prefers_regions_that_follow_the_textures():
    rng = np.random.default_rng(0)
    img = np.concatenate(
        [_stripes(128, 64, 2, rng, (200, 60, 60)), _stripes(128, 64, 8, rng, (60, 60, 200))], axis=1
    )
    codes = pixel_codes(img)
    truth = np.ones((128, 128), np.int32)
    truth[:, 64:] = 2
    across = np.ones((128, 128), np.int32)  # cuts both textures in half, top vs bottom
    across[64:] = 2
    good, bad = region_quality(truth, codes), region_quality(across, codes)
    assert good.n_pairs == 1 and bad.n_pairs == 1 and good.n_regions == 2
    assert good.separability > 0.3 > 0.05 > bad.separability
    assert good.spread < bad.spread
    one = region_quality(np.ones((128, 128), np.int32), codes)
    assert one.n_pairs == 0 and math.isnan(one.separability)
    empty = region_quality(np.zeros((128, 128), np.int32), codes)
    assert math.isnan(empty.spread) and empty.n_regions == 0


def test_class_regions_merge_regions_of_one_class():
    labels = np.array([[0, 1, 2, 3, 4]])
    assert class_regions(labels, [7, 9, 7, -1]).tolist() == [[0, 1, 2, 1, 3]]
    assert class_regions(labels, [-1, -1, 5, 5]).tolist() == [[0, 1, 2, 3, 3]]


def test_stats_count_the_dataset_and_match_the_cli(built):
    from textureade.store import read_textureade

    samples = list(read_textureade(built))
    stats = dataset_stats(str(built))
    assert stats.n_samples == len(samples)
    assert stats.n_regions == sum(s.k for s in samples)
    assert sum(stats.splits.values()) == len(samples)
    assert sum(stats.region_area.values()) == sum(
        int((np.bincount(s.label_map.ravel())[1:] > 0).sum()) for s in samples
    )
    assert sum(stats.description_words.values()) == stats.n_regions == sum(stats.describers.values())
    assert set(stats.quality) == {"mined", "class"}
    assert stats.n_class_differs == sum(s.class_differs for s in stats.samples)
    differs = [s for s in samples if len(set(s.provenance["region_class_ids"])) < s.k]
    assert stats.n_class_differs == len(differs)
    result = CliRunner().invoke(cli, ["stats", str(built), "--format", "json", "--per-sample"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == stats.to_json()
    text = CliRunner().invoke(cli, ["stats", str(built)])
    assert text.exit_code == 0 and "region quality, class" in text.output


def test_stats_without_baseline(built):
    stats = dataset_stats(str(built), baseline="none")
    assert set(stats.quality) == {"mined"} and stats.mined_more_homogeneous is None
    assert all(s.baseline is None for s in stats.samples)


def test_preview_writes_thumbnails_once(built, tmp_path):
    out = tmp_path / "site"
    first = write_preview(built, out)
    thumbs = sorted((out / "thumbs").glob("*.jpg"))
    assert first.thumbs_written == len(thumbs) == 2 * first.n_samples
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in thumbs}
    second = write_preview(built, out)
    assert second.thumbs_written == 0
    assert {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in (out / "thumbs").glob("*.jpg")} == before
    stats = json.loads((out / "stats.json").read_text())
    assert stats == first.stats.to_json()
    data = (out / "samples.js").read_text()
    assert data.startswith('window["GALLERY"] = ') and "</" not in data
    for name in ("regions_per_image", "region_area", "description_words", "classes", "describers", "splits"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 0
    limited = write_preview(built, tmp_path / "two", limit=2)
    assert limited.n_samples == 2 and len(list((tmp_path / "two" / "thumbs").glob("*.jpg"))) == 4


def test_preview_cli(built, tmp_path):
    result = CliRunner().invoke(
        cli, ["preview", str(built), "--out", str(tmp_path / "p"), "--baseline-regions", "none"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "index.html").is_file() and "index.html" in result.output


def non_blank(png: bytes) -> bool:
    """Whether a screenshot has real content (more than a flat background)."""
    from PIL import Image

    arr = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32)
    return arr.std() > 10 and len(np.unique(arr)) > 20


@pytest.mark.slow  # drives a headless browser: seconds, not the quick loop
@pytest.mark.skipif(browser.chromium_path() is None, reason=f"chromium not installed; {browser.INSTALL}")
def test_preview_in_headless_chromium(built, tmp_path):
    write_preview(built, tmp_path / "site")
    with browser.Chromium() as chrome:
        page = chrome.open(tmp_path / "site" / "index.html")
        page.wait_for("document.body.getAttribute('data-ready') === '1'")
        n = page.evaluate("document.querySelectorAll('#cards .card').length")
        assert n == dataset_stats(str(built)).n_samples
        assert (
            page.wait_for(
                "(() => { const i = document.querySelector('#cards img'); return i && i.complete && i.naturalWidth; })()"
            )
            > 0
        )
        # the class table sorts by its count column: a click ascending, a second descending
        col = "Array.from(document.querySelectorAll('table.sortable tbody tr')).map(r => Number(r.cells[1].dataset.v))"
        page.evaluate("document.querySelectorAll('table.sortable th')[1].click()")
        up = page.evaluate(col)
        assert up == sorted(up) and len(up) > 1
        page.evaluate("document.querySelectorAll('table.sortable th')[1].click()")
        assert page.evaluate(col) == sorted(up, reverse=True)
        assert non_blank(page.screenshot())
        chrome.pump(0.2)
        assert page.errors == []


def test_provenance_of_a_vlm_sample_with_fallback():
    from textureade.preview.stats import StatsAccumulator
    from textureade.types import Sample

    lm = np.zeros((64, 64), np.int32)
    lm[:, :32], lm[:, 32:48], lm[:, 48:] = 1, 2, 3
    prov = {
        "region_class_ids": [4, 4, 9],
        "regions": {"merges": [{"a": 1}], "splits": [{"s": 1}, {"s": 2}], "dropped": []},
        "describer": {"describer": "vlm", "model": "tiny/vlm", "sources": ["model", "fallback", "model"],
                      "fallback_describer": "offline"},
    }  # fmt: skip
    rng = np.random.default_rng(0)
    sample = Sample(id="s1", image=rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), label_map=lm,
                    descriptions=["Texture of a b c d", "Texture of e f g h", "Texture of i j k l m"],
                    region_names=["wall", "wall", "floor"], provenance=prov)  # fmt: skip
    acc = StatsAccumulator("x")
    s = acc.add(sample)
    assert (s.merges, s.splits, s.dropped, s.fallback_regions) == (1, 2, 0, 1)
    assert s.describer == "vlm (tiny/vlm)" and s.class_differs
    stats = acc.finish()
    assert stats.describers == {"vlm (tiny/vlm)": 2, "offline (fallback)": 1}
    assert stats.provenance == {"dropped": 0, "fallback_regions": 1, "merges": 1, "splits": 2}
    assert stats.classes == {"wall": 2, "floor": 1} and stats.n_class_differs == 1
    assert stats.regions_per_image == {"3": 1} and stats.description_words == {"0-5": 0, "5-10": 3}
