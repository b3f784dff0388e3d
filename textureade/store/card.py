"""The dataset card (README.md) with Hugging Face YAML metadata and the ADE20K terms carried forward."""

from __future__ import annotations

from typing import Any

import yaml

ADE20K_TERMS = (
    "Image might be subject to copyright. Use only for non-commercial research and educational purposes."
)


def render_card(name: str, card: dict[str, Any], counts: dict[str, int], shards: list[dict]) -> str:
    """README.md text. ``card`` keys (all optional): pretty_name, description, how_built (list of
    lines), terms (list of lines), license, source, citation. ``counts``: rows per split."""
    splits = [s for s in ("train", "validation", "test") if counts.get(s)]
    header = {
        "pretty_name": card.get("pretty_name", name),
        "license": card.get("license", "other"),
        "license_name": card.get("license_name", "ade20k-terms-of-use"),
        "task_categories": ["image-segmentation"],
        "tags": ["texture", "sub-semantic-segmentation", "textureade"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits],
            }
        ],
        "dataset_info": {
            "splits": [{"name": s, "num_examples": int(counts[s])} for s in splits],
        },
    }
    lines = ["---", yaml.safe_dump(header, sort_keys=False).rstrip(), "---", ""]
    lines += [f"# {card.get('pretty_name', name)}", ""]
    if card.get("description"):
        lines += [str(card["description"]).strip(), ""]
    lines += ["## Splits", "", "| split | samples | shards |", "|---|---:|---:|"]
    for s in splits:
        lines.append(f"| {s} | {counts[s]} | {sum(1 for x in shards if x['split'] == s)} |")
    lines += [
        "",
        "## Fields",
        "",
        "- `image`: the RGB image (PNG); `label_map`: the partition (PNG; 0 = unassigned, 1..K = regions)",
        "- `descriptions`: K region descriptions in region order (`Texture of <name>, <visual features>,"
        " <spatial context>`)",
        "- `region_names`, `region_class_ids`: the largest source class of each region",
        "- `base_id`: the source image (splits never share one), `source`, `split`",
        "- `provenance`: JSON (selection score and terms, merges, splits and drops of regions, describer)",
        "",
        'Load with `datasets.load_dataset("parquet", data_dir=...)` or `textureade.store.read_textureade`.',
    ]
    if card.get("how_built"):
        lines += ["", "## How it was built", ""] + [f"- {x}" for x in card["how_built"]]
    terms = list(card.get("terms", []))
    lines += ["", "## Licence and terms", ""]
    lines += [f"- {t}" for t in terms] if terms else ["- See the sources' terms."]
    if card.get("citation"):
        lines += ["", "## Citation", "", str(card["citation"]).strip()]
    return "\n".join(lines) + "\n"
