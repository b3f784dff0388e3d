"""A tiny local Sa2VA-like model folder that loads only through transformers' remote-code path.

``save_tiny_sa2va(out_dir, heads)`` writes ``config.json`` with an ``auto_map`` to the remote-code
files of :mod:`baselines.testing.sa2va_remote` (copied into the folder, as on the hub), the weights
(``model.safetensors``) and a character-level Qwen2 tokenizer with Sa2VA's ``[SEG]`` token. Then
``AutoModel.from_pretrained(folder, trust_remote_code=True)`` loads it offline, exactly as
``ByteDance/Sa2VA-4B`` loads, and without ``trust_remote_code`` transformers refuses it.

heads: one (w_r, w_g, w_b, bias) per [SEG] mask: mask = (rgb / 255 @ w + bias > 0).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

REMOTE = Path(__file__).parent / "sa2va_remote"
FILES = ("configuration_sa2va_chat.py", "modeling_sa2va_chat.py")
DEFAULT_HEADS = ((1.0, -1.0, 0.0, 0.0), (-1.0, 1.0, 0.0, 0.0))  # redder / greener than the other


def save_tiny_sa2va(
    out_dir: str | Path,
    heads: tuple[tuple[float, float, float, float], ...] = DEFAULT_HEADS,
    mask_stride: int = 1,
) -> Path:
    """Write the folder (config with auto_map, remote code, weights, tokenizer); return its path."""
    import torch
    from safetensors.torch import save_file
    from transformers import Qwen2Tokenizer

    from textureade.testing.tiny_vlm import byte_vocab

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(REMOTE / name, out / name)
    config = {
        "model_type": "sa2va_chat",
        "architectures": ["Sa2VAChatModel"],
        "auto_map": {
            "AutoConfig": "configuration_sa2va_chat.Sa2VAChatConfig",
            "AutoModel": "modeling_sa2va_chat.Sa2VAChatModel",
        },
        "num_masks": len(heads),
        "mask_stride": int(mask_stride),
        "torch_dtype": "float32",
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    table = torch.tensor(heads, dtype=torch.float32).reshape(-1, 4)
    save_file(
        {"colour_heads.weight": table[:, :3].contiguous(), "colour_heads.bias": table[:, 3].contiguous()},
        str(out / "model.safetensors"),
        metadata={"format": "pt"},
    )
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "[SEG]", "<p>", "</p>"]
    tokenizer = Qwen2Tokenizer(
        vocab=byte_vocab(specials),
        merges=[],
        unk_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=specials[1:],
    )
    tokenizer.save_pretrained(out)
    return out
