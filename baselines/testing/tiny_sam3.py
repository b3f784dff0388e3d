"""A tiny random SAM 3 (transformers ``Sam3Model`` + ``Sam3Processor``) saved to a folder.

About 0.26 M parameters, 112 px input, 10 queries, a character-level CLIP tokenizer built in
place (no download). Loading it back goes through the same code as the real ``facebook/sam3``
(``textureade.hf.load_pretrained``), so tests exercise the production path offline.
"""

from __future__ import annotations

from pathlib import Path

TINY_IMAGE_SIZE = 112
# A wider random init than the default 0.02 so that prompts visibly move the outputs (tests compare
# maps across prompts; with 0.02 the text path of a 1-layer model barely reaches the masks).
INIT = {"initializer_range": 0.2}


def _char_tokenizer():
    """A CLIPTokenizer whose vocabulary is the 256 byte-level characters and their ``</w>`` forms."""
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    chars = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab[special] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=32)


def tiny_sam3_config():
    """The Sam3Config of the tiny model (hidden 32 everywhere, 1-2 layers)."""
    from transformers import Sam3Config

    vit = {
        "model_type": "sam3_vit_model",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": TINY_IMAGE_SIZE,
        "patch_size": 14,
        "window_size": 4,
        "global_attn_indexes": [1],
        "pretrain_image_size": 56,
        **INIT,
    }
    small = {"hidden_size": 32, "num_layers": 1, "num_attention_heads": 2, "intermediate_size": 64, **INIT}
    return Sam3Config(
        vision_config={
            "backbone_config": vit,
            "fpn_hidden_size": 32,
            "backbone_feature_sizes": [[32, 32], [16, 16], [8, 8]],
            **INIT,
        },
        text_config={
            "vocab_size": 2 * 256 + 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "projection_dim": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "bos_token_id": 512,
            "eos_token_id": 513,
            "pad_token_id": 513,
            **INIT,
        },
        geometry_encoder_config=dict(small),
        detr_encoder_config=dict(small),
        detr_decoder_config={**small, "num_queries": 10},
        mask_decoder_config={"hidden_size": 32, "num_attention_heads": 2, **INIT},
        **INIT,
    )


def save_tiny_sam3(out_dir: str | Path, seed: int = 0) -> Path:
    """Build a tiny random SAM 3 and its processor, ``save_pretrained`` them to ``out_dir``; return it."""
    import torch
    from transformers import Sam3ImageProcessor, Sam3Model, Sam3Processor

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = Sam3Model(tiny_sam3_config()).eval()
    model.save_pretrained(out)
    tokenizer = _char_tokenizer()
    image_processor = Sam3ImageProcessor(
        size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE},
        mask_size={"height": 32, "width": 32},
    )
    Sam3Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(out)
    return out
