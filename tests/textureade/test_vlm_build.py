"""End to end: `textureade build --describer vlm --vlm <tiny model>` offline, then a re-run from the cache.

A tiny random Qwen2.5-VL answers junk, so every region falls back to the offline describer with the
reason recorded in the sample's provenance; the second build (new output folder, same cache) hits
the cache for every region and never calls ``generate``.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

pytest.importorskip("transformers")


pytestmark = [pytest.mark.models, pytest.mark.usefixtures("one_torch_thread")]


def test_vlm_build_then_cached_rebuild(tmp_path, monkeypatch):
    from textureade.cli import cli
    from textureade.describe.vlm import VlmDescriber
    from textureade.store import read_textureade
    from textureade.testing.synthetic_ade import write_synthetic_ade
    from textureade.testing.tiny_vlm import save_tiny_vlm

    ade = write_synthetic_ade(tmp_path / "ade", n=4, form="challenge", seed=1)
    model = save_tiny_vlm("qwen2_5_vl", tmp_path / "vlm")
    config = tmp_path / "build.yaml"
    config.write_text(
        f"describer_options:\n  cache_dir: {tmp_path / 'cache'}\n  max_new_tokens: 12\n  max_retries: 1\n"
    )
    calls = []
    real = VlmDescriber.generate
    monkeypatch.setattr(
        VlmDescriber,
        "generate",
        lambda self, jobs, attempt: calls.append(len(jobs)) or real(self, jobs, attempt),
    )

    def build(out, *extra):
        args = ["build", "--ade20k", str(ade), "--out", str(out), "--describer", "vlm", "--vlm", str(model),
                "--config", str(config), "--no-progress", *extra]  # fmt: skip
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output
        return list(read_textureade(out)), res.output

    first, log = build(tmp_path / "out1")
    assert " 0 from the cache" in log
    assert first, "the synthetic folder should yield samples"
    assert calls, "the model was asked"
    first_calls = list(calls)
    for s in first:
        prov = s.provenance["describer"]
        k = len(s.descriptions)
        assert prov["describer"] == "vlm" and prov["presentation"] == "overlay"
        assert prov["sources"] == ["fallback"] * k and len(prov["fallback_reasons"]) == k
        assert prov["fallback_describer"] == "offline" and "cache_hits" not in prov

    calls.clear()
    second, log = build(tmp_path / "out2")
    assert calls == []  # every region came from the cache
    regions = sum(len(s.descriptions) for s in second)
    assert f"describer: {regions} regions, {regions} from the cache, 0 generate calls" in log
    # the warm-cache build is byte-identical to the cold one: a hit reproduces the original provenance
    files = sorted(p.relative_to(tmp_path / "out1") for p in (tmp_path / "out1").rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(tmp_path / "out2") for p in (tmp_path / "out2").rglob("*") if p.is_file()
    )
    for f in files:
        assert (tmp_path / "out1" / f).read_bytes() == (tmp_path / "out2" / f).read_bytes(), f

    # a partly warm cache elsewhere (a --limit 2 build filled it; the resumed chunk of a killed build
    # looks the same): cached images leave the generate batches, the others are asked; same bytes again
    config.write_text(config.read_text().replace(str(tmp_path / "cache"), str(tmp_path / "cache2")))
    calls.clear()
    build(tmp_path / "out-limit2", "--limit", "2")
    calls.clear()
    build(tmp_path / "out3")
    assert 0 < sum(calls) < sum(first_calls)  # only the images the --limit build did not see were asked
    for f in files:
        assert (tmp_path / "out1" / f).read_bytes() == (tmp_path / "out3" / f).read_bytes(), f


def test_default_cache_and_cross_image_batches(tmp_path, monkeypatch):
    """Without a cache_dir the build caches under $TEXTUREADE_CACHE, so a rebuild (or a resumed build)
    asks the model nothing; a chunk's images share generate batches (overlay: one prompt per image)."""
    from textureade.config import BuildConfig
    from textureade.describe.vlm import VlmDescriber
    from textureade.pipeline import build
    from textureade.testing.synthetic_ade import write_synthetic_ade
    from textureade.testing.tiny_vlm import save_tiny_vlm

    monkeypatch.setenv("TEXTUREADE_CACHE", str(tmp_path / "envcache"))
    ade = write_synthetic_ade(tmp_path / "ade", n=4, form="challenge", seed=1)
    model = save_tiny_vlm("qwen2_5_vl", tmp_path / "vlm")
    calls = []
    real = VlmDescriber.generate
    monkeypatch.setattr(
        VlmDescriber,
        "generate",
        lambda self, jobs, attempt: calls.append(len(jobs)) or real(self, jobs, attempt),
    )

    def run(out):
        cfg = BuildConfig(ade20k=str(ade), out=str(out), describer="vlm", vlm=str(model), progress=False,
                          describer_options={"max_new_tokens": 12, "max_retries": 0})  # fmt: skip
        return build(cfg)

    first = run(tmp_path / "a")
    assert sum(first.counts.values()) >= 2
    assert max(calls) > 1, f"images were not batched together: generate batch sizes {calls}"
    assert (tmp_path / "envcache" / "descriptions" / "descriptions.sqlite").is_file()
    calls.clear()
    run(tmp_path / "b")
    assert calls == []


def test_a_model_that_cannot_load_stops_the_build(tmp_path):
    """Truncated weights or a processor needing a missing package are one UserError (exit 2) before any
    image is described, never a "describe" reject of every image in a dataset that exits 0."""
    from textureade.cli import cli
    from textureade.errors import UserError
    from textureade.testing.synthetic_ade import write_synthetic_ade
    from textureade.testing.tiny_vlm import save_tiny_vlm

    ade = write_synthetic_ade(tmp_path / "ade", n=2, form="challenge", seed=1)
    model = save_tiny_vlm("qwen2_5_vl", tmp_path / "vlm")
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:2000])
    args = ["build", "--ade20k", str(ade), "--out", str(tmp_path / "out"), "--describer", "vlm", "--vlm",
            str(model), "--config", str(_cache_config(tmp_path)), "--no-progress"]  # fmt: skip
    res = CliRunner().invoke(cli, args)  # textureade's main() turns a UserError into exit code 2
    assert isinstance(res.exception, UserError), res.output
    assert "cannot load" in str(res.exception) and "\n" not in str(res.exception)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_load_pretrained_turns_any_load_failure_into_one_line():
    from textureade.errors import UserError
    from textureade.hf import load_pretrained

    class NeedsPackage:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            raise ImportError("Package `num2words` is required to run SmolVLM processor. Install it.\nmore")

    with pytest.raises(UserError) as exc:
        load_pretrained(NeedsPackage, "org/model", what="vlm processor")
    assert str(exc.value) == (
        "vlm processor: cannot load org/model: Package `num2words` is required to run SmolVLM processor. "
        "Install it."
    )

    class Missing:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            raise OSError("./no/such/folder is not a local folder and is not a valid model identifier")

    with pytest.raises(UserError, match="folder ./no/such/folder does not exist"):
        load_pretrained(Missing, "./no/such/folder", what="vlm processor")
    with pytest.raises(UserError, match="not in the local Hugging Face cache"):
        load_pretrained(Missing, "org/model", what="vlm processor")


def _cache_config(tmp_path):
    config = tmp_path / "build.yaml"
    config.write_text(f"describer_options:\n  cache_dir: {tmp_path / 'cache'}\n")
    return config
