"""A random checkpoint in the published DETECTURE layout, sized for a (tiny) VLM and SAM 3 (no download).

Loading it goes through :class:`baselines.detecture.Detecture`'s strict loader, the same path as the
authors' ``best.pt``.
"""

from __future__ import annotations

from pathlib import Path


def save_random_checkpoint(vlm: str, sam3: str, out: str | Path, seed: int = 0) -> Path:
    """A random checkpoint in the published layout sized for these (tiny) models; for tests/smoke."""
    import torch
    from transformers import AutoConfig, AutoProcessor

    from baselines.detecture_arch import SEG_TOKEN, random_published_state

    vcfg = AutoConfig.from_pretrained(vlm, local_files_only=True).text_config
    scfg = AutoConfig.from_pretrained(sam3, local_files_only=True)
    tok = AutoProcessor.from_pretrained(vlm, local_files_only=True).tokenizer
    tok.add_tokens([SEG_TOKEN], special_tokens=True)
    head_dim = getattr(vcfg, "head_dim", None) or vcfg.hidden_size // vcfg.num_attention_heads
    state = random_published_state(
        vcfg.num_hidden_layers, vcfg.hidden_size, vcfg.num_attention_heads * head_dim,
        vcfg.num_key_value_heads * head_dim, len(tok), scfg.text_config.hidden_size,
        scfg.detr_encoder_config.hidden_size, seed=seed,
    )  # fmt: skip
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"epoch": 29, "model_trainable": state, "dustbin_embed": state["dustbin_embed"], "phase": 2}, out
    )
    return out
