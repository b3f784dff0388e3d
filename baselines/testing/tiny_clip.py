"""A tiny random-weight CLIP checkpoint for tests and smoke runs (no download, no real weights).

``save_tiny_clip(out_dir)`` writes a transformers ``CLIPModel`` (hidden 32, 2 layers, 64 px images,
patch 8, projection 16), a character-level ``CLIPTokenizer`` (vocabulary = the 256 byte-to-unicode
symbols and their ``</w>`` forms, no merges) and a ``CLIPImageProcessor`` into one folder that
``from_pretrained(..., local_files_only=True)`` loads back. Outputs are junk by design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TINY_IMAGE = 64
TINY_PATCH = 8


def _char_vocab() -> dict[str, int]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = sorted(bytes_to_unicode().values(), key=ord)
    vocab = {ch: i for i, ch in enumerate(chars)}
    for ch in chars:
        vocab[ch + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


def tiny_clip_config(max_text_positions: int = 77) -> Any:
    """The CLIPConfig of the tiny model (text max positions as CLIP's 77 by default)."""
    from transformers import CLIPConfig

    vocab_size = len(_char_vocab())
    text = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=max_text_positions,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
    )
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=TINY_IMAGE,
        patch_size=TINY_PATCH,
    )
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)


def save_tiny_clip(out_dir: str | Path, seed: int = 0) -> Path:
    """Build the tiny CLIP (model + tokenizer + image processor), save it to ``out_dir``; return it."""
    import torch
    from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = CLIPModel(tiny_clip_config()).eval()
    model.save_pretrained(out)
    tokenizer = CLIPTokenizer(vocab=_char_vocab(), merges=[], model_max_length=77)
    tokenizer.save_pretrained(out)
    processor = CLIPImageProcessor(
        size={"shortest_edge": TINY_IMAGE}, crop_size={"height": TINY_IMAGE, "width": TINY_IMAGE}
    )
    processor.save_pretrained(out)
    return out


def tiny_code_config() -> Any:
    """A tiny CoDe config sharing the tiny CLIP's tokenizer (vocab 514, 77 positions)."""
    from baselines.code_arch import CoDeConfig

    return CoDeConfig(
        vision_width=32,
        vision_layers=2,
        vision_heads=2,
        patch=TINY_PATCH,
        grid=TINY_IMAGE // TINY_PATCH,
        text_width=32,
        text_layers=2,
        text_heads=2,
        vocab=len(_char_vocab()),
        context=77,
        embed_dim=16,
        n_ctx=4,
        decoder_layers=2,
    )


def save_tiny_code(out_dir: str | Path, seed: int = 0) -> Path:
    """A random checkpoint in the official CoDe layout (``{"model": ..., "config": ..., "step": ...}``).

    Holds every key of ``official_layout`` plus a few training-only keys and a non-tensor
    pickled config object, as the official training code saves them. Returns the .pth path.
    """
    import argparse

    import torch

    from baselines.code_arch import official_layout

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    sd: dict[str, Any] = {}
    for key, shape in official_layout(tiny_code_config()).items():
        if key.endswith(("ln_1.weight", "ln_2.weight", "ln_pre.weight", "ln_final.weight", "ln.weight")):
            sd[key] = torch.ones(shape)
        else:
            sd[key] = torch.randn(shape, generator=gen) * 0.1
    sd["masker.sim2mask.w"], sd["masker.sim2mask.b"] = torch.tensor(10.0), torch.tensor(-2.5)
    te, pl = "clip_text_encoder.text_encoder.", "clip_text_encoder.prompt_learner.clip_model."
    for key in [k for k in sd if k.startswith(te)]:  # one shared text tower, saved under both names
        sd[pl + key[len(te) :]] = sd[key]
    sd["frozen_clip.logit_scale"] = torch.tensor(4.6)
    sd["pamr.aff_x.kernel"] = torch.zeros(8, 1, 3, 3)
    sd["tcli_loss.logit_scale"] = torch.tensor(2.0)
    path = out / "checkpoint.pth"
    torch.save({"model": sd, "config": argparse.Namespace(tag="tiny"), "step": 7}, path)
    return path


def tiny_lseg_config() -> Any:
    """A tiny LSeg config (ViT 32 wide, 4 blocks, patch 16, 64 px) sharing the tiny char tokenizer."""
    from baselines.lseg_arch import LSegConfig

    return LSegConfig(
        vit_width=32,
        vit_depth=4,
        vit_heads=2,
        patch=16,
        grid=4,
        hooks=(0, 1, 2, 3),
        level_channels=(8, 16, 32, 32),
        features=16,
        out_c=16,
        text_width=32,
        text_layers=2,
        text_heads=2,
        vocab=len(_char_vocab()),
        context=77,
    )


def save_tiny_lseg(out_dir: str | Path, seed: int = 0) -> Path:
    """A random Lightning-style checkpoint in the official LSeg layout; returns the .ckpt path.

    ``{"state_dict": {"net.…": tensor}, "epoch": …, "hyper_parameters": <object>}`` with a few
    unused keys (CLIP's image tower, timm's classifier), as Lightning saves LSegModule.
    """
    import argparse

    import torch

    from baselines.lseg_arch import official_layout

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    sd: dict[str, Any] = {}
    for key, shape in official_layout(tiny_lseg_config()).items():
        if key.endswith("num_batches_tracked"):
            sd[key] = torch.tensor(5)
        elif key.endswith(("running_var", "norm1.weight", "norm2.weight", "norm.weight", "ln_final.weight")):
            sd[key] = torch.ones(shape)
        elif key.endswith(("ln_1.weight", "ln_2.weight", "bn1.weight", "bn2.weight")):
            sd[key] = torch.ones(shape)
        elif key.endswith("running_mean"):
            sd[key] = torch.zeros(shape)
        else:
            sd[key] = torch.randn(shape, generator=gen) * 0.1
    sd["net.clip_pretrained.visual.proj"] = torch.zeros(32, 16)
    sd["net.pretrained.model.head.weight"] = torch.zeros(10, 32)
    path = out / "demo_tiny.ckpt"
    hp = argparse.Namespace(backbone="clip_vitl16_384", arch_option=0)
    torch.save({"state_dict": sd, "epoch": 200, "hyper_parameters": hp}, path)
    return path
