"""The published Detecture release (#11 item 7): each dataset manifest and the missing-data error
name the Hugging Face dataset and the exact command that fetches it; the checkpoint's md5."""

from __future__ import annotations

import pytest

from benchmark.datasets import dataset_availability, load_dataset_specs
from benchmark.registry import load_method_specs

RELEASE = {"rwtd": "RWTD", "stld": "STLD", "caid": "CAID", "ade20k-detecture": "ADE20k_Detecture"}


@pytest.mark.parametrize("name", sorted(RELEASE))
def test_missing_dataset_error_gives_the_fetch_command(name, tmp_path):
    spec = load_dataset_specs()[name]
    reason = dataset_availability(spec, tmp_path / "nothing-here")
    command = (
        f"huggingface-cli download anon-detecture-neurips-2026/{RELEASE[name]} --repo-type dataset "
        f"--local-dir ${{TEXTUREADE_DATA:-$HOME/data}}/{RELEASE[name]}"
    )
    assert reason is not None and "\n" not in reason
    assert command in reason, reason
    # the local folder the command fills is the manifest's default location
    assert spec.path == "{data_root}/" + RELEASE[name]


def test_detecture_checkpoint_names_the_release_and_its_md5():
    get = load_method_specs()["detecture"].weights["checkpoint"]["get"]
    assert "huggingface-cli download anon-detecture-neurips-2026/Detecture-NeurIPS" in get
    assert "1f69377996e487fdc6b70120a42d2b4f" in get and "best.pt" in get
