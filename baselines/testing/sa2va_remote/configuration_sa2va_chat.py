"""Config of the tiny Sa2VA stand-in (test-only remote code; see ``baselines/testing/tiny_sa2va.py``)."""

from transformers import PretrainedConfig


class Sa2VAChatConfig(PretrainedConfig):
    """num_masks: [SEG] masks per answer; mask_stride: masks returned at 1/stride of the image size."""

    model_type = "sa2va_chat"

    def __init__(self, num_masks: int = 2, mask_stride: int = 1, **kwargs):
        self.num_masks = num_masks
        self.mask_stride = mask_stride
        super().__init__(**kwargs)
