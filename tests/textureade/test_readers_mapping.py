"""Full ADE20K -> SceneParse150 conversion (convertFromADE.m), checked on the genuine sample files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from textureade.errors import UserError
from textureade.readers.mapping import (
    challenge_size,
    convert_from_ade,
    decode_class,
    load_map_from_ade,
    map_classes,
    nearest_indices,
    nearest_resize,
    resolve_mapping,
)


def test_convert_reproduces_the_genuine_challenge_png(ade_samples):
    d = ade_samples / "convertFromADE"
    table = load_map_from_ade(d / "mapFromADE.txt")
    raw = np.asarray(Image.open(d / "ADE_train_00000970_raw.png"))
    expected = np.asarray(Image.open(d / "ADE_train_00000970_challenge.png"))
    assert raw.shape == (768, 1024, 3) and expected.shape == (512, 683)
    out = convert_from_ade(raw, table)
    assert out.shape == expected.shape
    assert np.array_equal(out, expected.astype(np.int32))
    assert len(np.unique(expected)) > 3  # a real scene, not an empty map


def test_map_from_ade_has_the_three_double_rows(ade_samples):
    table = load_map_from_ade(ade_samples / "convertFromADE" / "mapFromADE.txt")
    assert len(table) == 153
    assert table[774] == table[783] == 15
    assert table[2985] == table[533] == 36
    assert table[246] == table[247] == 89
    assert table[2978] == 1 and table[2420] == 3
    assert sorted(set(table.values())) == list(range(1, 151))


def test_challenge_size_follows_the_matlab_script():
    assert challenge_size(768, 1024) == (512, 683)
    assert challenge_size(1024, 768) == (683, 512)
    assert challenge_size(1000, 1000) == (1000, 1000)  # squares are never resized
    assert challenge_size(400, 3000) == (400, 3000)  # short side already <= 512
    assert challenge_size(1536, 2048) == (512, 683)
    # MATLAB round: halves away from zero (Python's round would give 682 here)
    assert challenge_size(1024, 1364) == (512, 682)
    assert challenge_size(1024, 1365) == (512, 683)  # 682.5 -> 683


def test_nearest_indices_equal_matlab_float_formula():
    for n_in, n_out in [(1024, 683), (768, 512), (2048, 683), (1536, 512), (7, 3), (3, 7), (10, 10)]:
        s = n_out / n_in
        x = np.arange(1, n_out + 1)
        u = x / s + 0.5 * (1 - 1 / s)
        matlab = np.clip(np.floor(u + 0.5).astype(int) - 1, 0, n_in - 1)
        assert np.array_equal(nearest_indices(n_in, n_out), matlab), (n_in, n_out)


def test_nearest_resize_hand_computed_cases():
    # output pixel i reads input floor((i + 0.5) * n_in / n_out) on each axis
    up = nearest_resize(np.array([[1, 2, 3], [4, 5, 6]], np.uint8), (4, 6))  # rows 0,0,1,1; cols 0,0,1,1,2,2
    assert up.dtype == np.uint8
    assert up.tolist() == [
        [1, 1, 2, 2, 3, 3],
        [1, 1, 2, 2, 3, 3],
        [4, 4, 5, 5, 6, 6],
        [4, 4, 5, 5, 6, 6],
    ]
    down = nearest_resize(np.arange(25, dtype=np.int64).reshape(5, 5), (2, 2))  # rows/cols 1 and 3
    assert down.dtype == np.int64 and down.tolist() == [[6, 8], [16, 18]]
    one = nearest_resize(np.array([[7]], np.int32), (3, 3))
    assert one.dtype == np.int32 and one.tolist() == [[7, 7, 7]] * 3
    assert nearest_resize(np.arange(25).reshape(5, 5), (1, 1)).tolist() == [[12]]  # the centre pixel
    rgb = np.arange(2 * 3 * 3).reshape(2, 3, 3)  # trailing channels are carried along
    assert np.array_equal(nearest_resize(rgb, (4, 6))[:, :, 1], nearest_resize(rgb[:, :, 1], (4, 6)))
    same = np.zeros((5, 5), np.int32)
    assert nearest_resize(same, (5, 5)) is same


def test_decode_class_handles_ids_above_255():
    rgb = np.zeros((1, 4, 3), np.uint8)
    for i, cid in enumerate([0, 64, 2978, 3688]):
        rgb[0, i] = ((cid // 256) * 10, cid % 256, 7)
    assert decode_class(rgb).tolist() == [[0, 64, 2978, 3688]]


def test_map_classes_unlisted_ids_become_zero():
    ids = np.array([[0, 5, 2978, 99999]])
    assert map_classes(ids, {2978: 1, 5: 7}).tolist() == [[0, 7, 1, 0]]


def test_bad_mapping_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        load_map_from_ade(tmp_path / "absent.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2978\nwall sky\n")
    with pytest.raises(UserError, match="expected 'challenge_id full_id'"):
        load_map_from_ade(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(UserError, match="no 'challenge_id full_id' rows"):
        load_map_from_ade(empty)
    assert resolve_mapping({"2978": "1"}) == {2978: 1}
    assert resolve_mapping(None) is None
