"""The Detecture benchmark's published tables as data: shape, sources and names against our registries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from benchmark.datasets import load_dataset_specs
from benchmark.registry import load_method_specs

PUBLISHED = Path(__file__).resolve().parents[2] / "manifests" / "published" / "detecture.yaml"


@pytest.fixture(scope="module")
def published():
    return yaml.safe_load(PUBLISHED.read_text())


def test_names_map_to_our_registries_or_say_why_not(published):
    methods, datasets = load_method_specs(), load_dataset_specs()
    for name, entry in published["methods"].items():
        if entry["ours"] is None:
            assert entry["not_run"].strip(), f"{name}: not run by us, but no reason given"
        else:
            assert entry["ours"] in methods, f"{name} -> {entry['ours']} is not a method manifest"
    for name, entry in published["datasets"].items():
        assert entry["ours"] in datasets, f"{name} -> {entry['ours']} is not a dataset manifest"


def test_both_tables_with_sources_and_full_rows(published):
    tables = {t["id"]: t for t in published["tables"]}
    assert set(tables) == {"final", "2026-04-22"}
    for tid, table in tables.items():
        src = table["source"]
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", src["repo"]) and re.fullmatch(r"[0-9a-f]{40}", src["commit"])
        assert src["path"] and table["suite"] and table["protocol"].strip()
        metrics = set(table["metrics"])
        assert {"mIoU", "ARI"} <= metrics
        for method, cells in table["rows"].items():
            assert method in published["methods"], f"{tid}: row {method} not in methods"
            assert set(cells) == set(published["datasets"]), f"{tid}/{method}: datasets {sorted(cells)}"
            for dataset, values in cells.items():
                assert set(values) == metrics, f"{tid}/{method}/{dataset}: {sorted(values)}"
                for key, value in values.items():
                    if key.startswith("n_"):
                        assert isinstance(value, int) and value > 0
                    else:
                        assert isinstance(value, float) and 0.0 <= value <= 1.0, (tid, method, dataset, key)
                if "n_ok" in values:
                    assert values["n_ok"] <= values["n_total"]
    assert set(tables["final"]["rows"]) == {"SAM3", "Grounding_SAM3", "SA2VA", "TextureSAM", "Detecture"}
    assert set(tables["2026-04-22"]["rows"]) == {"sam3_vanilla", "grounded_sam3", "sa2va", "qwen2sam_zs"}


def test_caid_cells_agree_across_the_two_protocols(published):
    """CAID is K=1 "water surface" in both protocols, so the baselines' CAID numbers coincide."""
    tables = {t["id"]: t["rows"] for t in published["tables"]}
    pairs = {"SAM3": "sam3_vanilla", "Grounding_SAM3": "grounded_sam3", "SA2VA": "sa2va"}
    for final_name, old_name in pairs.items():
        new, old = tables["final"][final_name]["CAID"], tables["2026-04-22"][old_name]["CAID"]
        assert (new["mIoU"], new["ARI"]) == (old["mIoU"], old["ARI"]), final_name
    # ... while the K=2 cells differ (the inverse trick / K=2 prompts replaced K_GT fixed prompts)
    assert tables["final"]["SAM3"]["RWTD"]["mIoU"] != tables["2026-04-22"]["sam3_vanilla"]["RWTD"]["mIoU"]
