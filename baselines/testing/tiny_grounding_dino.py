"""A tiny random Grounding DINO (transformers ``GroundingDinoForObjectDetection`` + processor) in a folder.

Swin backbone 16 wide with one block per stage, a 1-layer BERT text encoder 32 wide, d_model 32,
one encoder and two decoder layers, 20 queries, 128 px input (64 leaves a 1x1 extra level that GroupNorm rejects); a WordPiece tokenizer whose vocabulary
is BERT's special tokens, the ASCII letters/digits/punctuation and a few whole words, built in
place (no download). Loading it back goes through the same code as ``IDEA-Research/grounding-dino-tiny``
(``AutoProcessor`` / ``AutoModelForZeroShotObjectDetection`` via ``textureade.hf.load_pretrained``).
"""

from __future__ import annotations

import string
from pathlib import Path

TINY_DINO_SIZE = 128
WORDS = ["texture", "regions", "foreground", "background", "water", "surface"]


def _tokenizer(folder: Path):
    """A BertTokenizer over special tokens, single characters (and their ## forms) and WORDS."""
    from transformers import BertTokenizer

    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *("##" + c for c in chars), *WORDS]
    path = folder / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n")
    return BertTokenizer(str(path), do_lower_case=True, model_max_length=256)


def tiny_grounding_dino_config():
    """The GroundingDinoConfig of the tiny model."""
    from transformers import BertConfig, GroundingDinoConfig, SwinConfig

    backbone = SwinConfig(
        image_size=TINY_DINO_SIZE,
        patch_size=4,
        embed_dim=16,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 2, 2],
        window_size=2,
        out_features=["stage2", "stage3", "stage4"],
    )
    text = BertConfig(
        vocab_size=128,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    return GroundingDinoConfig(
        backbone_config=backbone,
        text_config=text,
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,  # 1 breaks transformers' bbox_embed weight tying
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        num_queries=20,
        num_feature_levels=4,
        encoder_n_points=2,
        decoder_n_points=2,
        max_text_len=256,
        init_std=0.2,
    )


def save_tiny_grounding_dino(out_dir: str | Path, seed: int = 0) -> Path:
    """Build the tiny random Grounding DINO and its processor, ``save_pretrained`` both; return the folder."""
    import torch
    from transformers import (
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(out)
    config = tiny_grounding_dino_config()
    config.text_config.vocab_size = len(tokenizer)
    torch.manual_seed(seed)
    model = GroundingDinoForObjectDetection(config).eval()
    model.save_pretrained(out)
    image_processor = GroundingDinoImageProcessor(
        size={"shortest_edge": TINY_DINO_SIZE, "longest_edge": TINY_DINO_SIZE}
    )
    GroundingDinoProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(out)
    return out
