import subprocess
import sys

import numpy as np
import pytest

from textureade.types import Prediction, Sample, Scene, ValidationError, scores_to_partition


def _img(h=4, w=5):
    return np.zeros((h, w, 3), np.uint8)


def test_sample_validates_region_ids_against_descriptions():
    lm = np.array([[0, 1], [2, 2]])
    s = Sample(id="a", image=_img(2, 2), label_map=lm, descriptions=["x", "y"])
    assert s.k == 2 and s.label_map.dtype == np.int32 and s.base_id == "a"
    with pytest.raises(ValidationError, match="region id 2 but only 1"):
        Sample(id="a", image=_img(2, 2), label_map=lm, descriptions=["x"])


def test_shape_mismatch_is_one_line_error():
    with pytest.raises(ValidationError, match="labels is 3x2 but the image is 5x4"):
        Scene(id="s", image=_img(), labels=np.zeros((2, 3), np.uint8))


def test_image_must_be_uint8_rgb():
    with pytest.raises(ValidationError, match="uint8"):
        Scene(id="s", image=np.zeros((2, 2, 3), np.float32), labels=np.zeros((2, 2), np.int32))
    with pytest.raises(ValidationError, match="H x W x 3"):
        Scene(id="s", image=np.zeros((2, 2), np.uint8), labels=np.zeros((2, 2), np.int32))


def test_scores_to_partition_dustbin_first_and_ties():
    scores = np.zeros((3, 1, 3), np.float32)
    scores[0, 0, 0] = 0.5  # the dustbin wins only when strictly higher
    scores[1, 0, 1] = 1.0
    scores[2, 0, 2] = 2.0
    scores[1, 0, 2] = 2.0  # tie between 1 and 2 -> lowest channel
    assert scores_to_partition(scores).tolist() == [[0, 1, 1]]
    assert scores_to_partition(np.zeros((3, 1, 1), np.float32)).tolist() == [
        [1]
    ]  # texture beats a tied dustbin
    assert scores_to_partition(np.zeros((1, 2, 2), np.float32)).tolist() == [[0, 0], [0, 0]]  # K = 0
    scores[:, 0, 0] = [np.nan, 0.5, 0.1]
    assert scores_to_partition(scores)[0, 0] == 1


def test_prediction_exactly_one_output():
    with pytest.raises(ValidationError):
        Prediction()
    with pytest.raises(ValidationError):
        Prediction(scores=np.zeros((2, 2, 2)), label_map=np.zeros((2, 2), int))
    p = Prediction(label_map=np.array([[0, 3]], np.uint16))
    assert p.partition().dtype == np.int32 and p.shape == (1, 2)


def test_import_textureade_does_not_import_torch():
    code = "import sys, textureade, textureade.types, benchmark.registry; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
