"""Label maps as PNG (``textureade.store.schema.encode_label_png``, our own writer): lossless round
trips at 8 and 16 bits, standard PNGs that Pillow (what `datasets` uses) and OpenCV (libpng) read,
and a clear refusal of what a PNG cannot hold."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("top", [2, 255, 256, 40000])
def test_label_maps_round_trip_losslessly(top):
    from textureade.store.schema import decode_png, encode_png

    lm = np.random.default_rng(top).integers(0, top + 1, (17, 23)).astype(np.int32)
    lm[0, 0] = top
    back = decode_png(encode_png(lm), rgb=False)
    assert back.dtype == np.int32 and np.array_equal(back, lm)


@pytest.mark.parametrize("top", [0, 1, 255, 256, 65535])
@pytest.mark.parametrize("shape", [(1, 1), (1, 40), (40, 1), (31, 57)])
def test_label_png_is_a_standard_png_every_decoder_reads(top, shape):
    """Our label-map PNG writer: Pillow (what `datasets` uses) and OpenCV (libpng) decode the same map,
    8-bit greyscale up to 255 and 16-bit above; the first row unfiltered, the rest with "Up"."""
    import io
    import zlib

    import cv2
    from PIL import Image

    from textureade.store.schema import encode_label_png

    lm = np.random.default_rng(top).integers(0, top + 1, shape)
    lm.flat[0] = top
    lm[shape[0] // 2 :] = lm[shape[0] // 2]  # some rows repeat the one above, as in a real map
    data = encode_label_png(lm)
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == ("L" if top <= 255 else "I;16") and np.array_equal(np.asarray(im), lm)
    assert np.array_equal(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED), lm)
    idat = data[33 + 8 : -12 - 4]  # signature 8 + IHDR 25, then the IDAT's length + type ... crc
    stride = shape[1] * (1 if top <= 255 else 2) + 1
    filters = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(shape[0], stride)[:, 0]
    assert filters[0] == 0 and (filters[1:] == 2).all()


@pytest.mark.parametrize("bad", [np.array([[0, -1]]), np.array([[65536]]), np.zeros((0, 3), np.int32)])
def test_label_png_refuses_what_a_png_cannot_hold(bad):
    from textureade.store.schema import encode_label_png

    with pytest.raises(ValueError, match="label map"):
        encode_label_png(bad)
