"""The one weights fingerprint (provenance and the VLM cache): by content, not by names and sizes."""

from __future__ import annotations

import numpy as np

from textureade.fingerprint import weights_fingerprint


def _save(folder, seed: int) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text('{"hidden_size": 4}')
    weights = np.random.default_rng(seed).standard_normal((8, 4)).astype(np.float32)
    (folder / "model.safetensors").write_bytes(b"header" + weights.tobytes())


def test_same_shape_new_weights_give_another_fingerprint(tmp_path):
    folder = tmp_path / "m"
    _save(folder, 0)
    first = weights_fingerprint(folder)
    assert (first.files, first.bytes) == (2, len('{"hidden_size": 4}') + 6 + 8 * 4 * 4)
    _save(folder, 0)  # the same weights saved again: the same fingerprint
    assert weights_fingerprint(folder) == first
    _save(folder, 1)  # new weights of the same shapes: same names and sizes, other content
    second = weights_fingerprint(folder)
    assert (second.files, second.bytes) == (first.files, first.bytes) and second.sha256 != first.sha256
    assert second.short == f"{folder.resolve()}#{second.sha256[:12]}"


def test_a_single_file_and_hidden_files(tmp_path):
    folder = tmp_path / "m"
    _save(folder, 0)
    before = weights_fingerprint(folder)
    (folder / ".cache").mkdir()
    (folder / ".cache" / "download.lock").write_text("timestamp 1")  # tool metadata: not the model
    assert weights_fingerprint(folder) == before
    one = weights_fingerprint(folder / "model.safetensors")
    assert one.files == 1 and one.path == str((folder / "model.safetensors").resolve())
    assert one.sha256 != before.sha256
