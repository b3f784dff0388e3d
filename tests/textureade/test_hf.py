"""textureade.hf.load_pretrained: a checkpoint of another model type is refused in one line."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from textureade.errors import UserError  # noqa: E402
from textureade.hf import load_pretrained  # noqa: E402


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from transformers import CLIPConfig, CLIPModel

    cfg = CLIPConfig(
        text_config=dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=16),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=16),
        projection_dim=8,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("clip")
    CLIPModel(cfg).save_pretrained(path)
    return path


def test_matching_types_and_sub_towers_load(tiny_clip):
    from transformers import CLIPModel, CLIPTextModel

    assert isinstance(load_pretrained(CLIPModel, str(tiny_clip), what="clip model"), CLIPModel)
    # a tower inside the checkpoint is a legitimate sub-model
    text = load_pretrained(CLIPTextModel, str(tiny_clip), what="clip text")
    assert text.config.hidden_size == 16


def test_a_checkpoint_of_another_model_type_is_refused(tiny_clip, tmp_path):
    from transformers import Sam3Model, SamConfig, SamModel

    # transformers alone would warn and return a randomly initialised SamModel here
    with pytest.raises(UserError) as err:
        load_pretrained(SamModel, str(tiny_clip), what="sam model")
    assert "'clip' model, not 'sam'" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UserError, match="not 'sam3'"):
        load_pretrained(Sam3Model, str(tiny_clip), what="sam3 model")
    SamConfig().save_pretrained(tmp_path / "sam")  # a config alone is enough to be refused
    from transformers import CLIPModel

    with pytest.raises(UserError, match="'sam' model, not 'clip'"):
        load_pretrained(CLIPModel, str(tmp_path / "sam"), what="clip model")
