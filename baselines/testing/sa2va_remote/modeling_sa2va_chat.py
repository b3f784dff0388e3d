"""A tiny stand-in for Sa2VA's remote code, written from its published ``predict_forward`` interface.

``predict_forward(image=PIL, text=str, past_text="", mask_prompts=None, tokenizer=...)`` returns
``{"prediction": answer text, "prediction_masks": [bool array (1, H, W) per [SEG] token]}`` as
Sa2VA does for one image. Here each [SEG] mask is a linear colour test: mask_i = (rgb @ w_i + b_i > 0)
on the image's pixels scaled to [0, 1] (``colour_heads``), so tests can choose masks by choosing
weights. The answer names one ``<p>region i</p> [SEG]`` per mask and goes through the tokenizer it
is given. Test-only: loaded by transformers' remote-code path (``trust_remote_code=True``).
"""

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_sa2va_chat import Sa2VAChatConfig


class Sa2VAChatModel(PreTrainedModel):
    config_class = Sa2VAChatConfig
    base_model_prefix = "sa2va"

    def __init__(
        self, config: Sa2VAChatConfig, use_flash_attn: bool = True
    ):  # Sa2VA takes use_flash_attn too
        super().__init__(config)
        self.use_flash_attn = use_flash_attn
        self.colour_heads = nn.Linear(3, config.num_masks)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)

    def predict_forward(
        self, image=None, text=None, past_text="", mask_prompts=None, tokenizer=None, **kwargs
    ):
        if image is None:
            return {"prediction": "", "prediction_masks": []}
        if "<image>" not in text:
            raise ValueError("the prompt must contain <image>")
        rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0)
        with torch.no_grad():
            logits = self.colour_heads(rgb.to(self.colour_heads.weight.dtype)).permute(2, 0, 1)
        stride = int(self.config.mask_stride)
        logits = logits[:, ::stride, ::stride]
        masks = [(channel > 0).float().cpu().numpy().astype(bool)[None] for channel in logits]
        answer = " ".join(f"<p>region {i + 1}</p> [SEG]" for i in range(len(masks)))
        ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
        return {"prediction": tokenizer.decode(ids), "prediction_masks": masks}
