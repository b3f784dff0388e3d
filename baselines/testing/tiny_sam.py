"""Tiny random-weight SAM and DINOv2 checkpoints for tests and smoke runs (no download, junk outputs).

``save_tiny_sam(out_dir)``: a transformers ``SamModel`` (ViT 32 wide, 2 layers, 64 px, patch 8;
prompt encoder and mask decoder 16 wide) and its ``SamProcessor``. ``save_tiny_dinov2(out_dir)``: a
``Dinov2Model`` (hidden 32, 2 layers, patch 8) and a ``BitImageProcessor`` with ImageNet mean/std.
"""

from __future__ import annotations

from pathlib import Path


def save_tiny_sam(out_dir: str | Path, seed: int = 0) -> Path:
    import torch
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = SamConfig(
        vision_config=dict(
            hidden_size=32,
            output_channels=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=64,
            patch_size=8,
            window_size=4,
            global_attn_indexes=[1],
            mlp_dim=64,
            num_pos_feats=8,
        ),
        prompt_encoder_config=dict(hidden_size=16, image_size=64, patch_size=8, mask_input_channels=4),
        mask_decoder_config=dict(
            hidden_size=16, num_hidden_layers=2, num_attention_heads=2, mlp_dim=32, iou_head_hidden_dim=16
        ),
    )
    torch.manual_seed(seed)
    SamModel(cfg).eval().save_pretrained(out)
    ip = SamImageProcessor(
        size={"longest_edge": 64},
        pad_size={"height": 64, "width": 64},
        mask_size={"longest_edge": 16},
        mask_pad_size={"height": 16, "width": 16},
    )
    SamProcessor(image_processor=ip).save_pretrained(out)
    return out


def save_tiny_dinov2(out_dir: str | Path, seed: int = 0) -> Path:
    import torch
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = Dinov2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        patch_size=8,
        image_size=64,
    )
    torch.manual_seed(seed)
    Dinov2Model(cfg).eval().save_pretrained(out)
    BitImageProcessor(
        image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225], do_convert_rgb=True
    ).save_pretrained(out)
    return out
