"""DETECTURE, the published trained model (manifest ``detecture``), run from a user-supplied checkpoint.

Inference for one image (the authors' ``inference_forward``, re-implemented over transformers):
1. The image is resized to ``image_size`` x ``image_size`` (1008, bilinear, as the authors' training
   and evaluation code does before the Qwen processor; ``image_size=None`` keeps it as is), and
   Qwen3-VL (+ LoRA, + ``<|seg|>``) answers the training prompt with ``TEXTURE_i: Texture of ...
   <|seg|>`` lines (greedy, ``max_new_tokens``). oracle-k instead teacher-forces the K GT
   descriptions in that format; oracle-k-blind asks for exactly K regions, autonomous for
   "between 1 and 6" (the authors' evaluation prompts).
2. The sequence is re-read once with a block-diagonal attention mask (each TEXTURE block sees the
   shared prefix and itself; ``block_diagonal=False`` gives plain causal attention, the leaky
   variant) and the last-layer hidden state at each ``<|seg|>`` (at most 6) is taken. If the model
   wrote TEXTURE lines but no ``<|seg|>``, the lines are re-tokenised with the token appended
   (the authors instead read pass-1 states at line ends; recorded as ``extras["seg_fallback"]``).
3. Queries [dustbin, seg_1..seg_K] -> Bridge -> SAM 3's frozen resizer (``text_projection``) ->
   each query alone through SAM 3's fusion encoder and prompt cross-attention (batch
   multiplexing), pixel decoder -> mask head -> (K + 1, h, w) logits; pad slots are never computed
   (they would be -inf). SAM 3's vision encoder runs once per image.
4. Logits are upsampled to the image size; the harness takes the argmax (dustbin = channel 0).
Widths come from the loaded configs (4096 / 1024 / 256 for the 8B VLM and SAM 3).
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np

from baselines._sam3 import Sam3Grounder, torchvision_reason
from benchmark.method import MethodUnavailable
from textureade.errors import UserError, first_line
from textureade.hf import load_pretrained, torch_dtype
from textureade.types import Prediction

# The authors' training prompts: the LoRA was trained on exactly this wording (kept verbatim as the
# model's input contract, like a chat template); {N} is "2", "between 1 and 6", ...
SYSTEM_PROMPT = "You analyze surface textures in images. Always respond in the exact format requested, with no extra text."
USER_PROMPT = (
    "This image contains {N} main visually distinct regions separated by a boundary (for example, a "
    "prominent foreground object and its background, or contrasting materials).\n\nWrite a single, highly "
    "descriptive phrase (approximately 10-15 words) for each region. Include the following precise "
    "information:\n1. Semantic Name: A natural, common name for the material or object.\n2. Distinct "
    "Visual Features: The core visual attributes like color, pattern, or texture that strongly contrast "
    "with other regions.\n3. Spatial Context: A brief note on its general position (e.g., 'foreground', "
    "'background', 'top-left').\n\nIMPORTANT: Describe the ENTIRE region as a collective group, NOT "
    "individual objects within it. Think of each region as a surface/area, not as a single object.\n\n"
    "Format your response exactly like this for the number of regions present:\n"
    "TEXTURE_1: Texture of <description> <|seg|>\nTEXTURE_2: Texture of <description> <|seg|>\n..."
)
LINE = re.compile(r"^\s*TEXTURE[_\s]*\d+\s*:\s*(.+?)\s*$", re.I)


def assistant_text(descriptions: list[str], seg: str = "<|seg|>") -> str:
    """``TEXTURE_i: <description> <|seg|>`` lines, as the model was trained to write them."""
    return "\n".join(f"TEXTURE_{i + 1}: {d} {seg}" for i, d in enumerate(descriptions))


def square_resize(image: np.ndarray, size: int | None) -> np.ndarray:
    """H x W x 3 uint8 -> size x size x 3 (PIL bilinear); ``size=None`` or already square-sized: unchanged."""
    if not size or image.shape[:2] == (size, size):
        return image
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def parse_lines(text: str, seg: str = "<|seg|>") -> list[str]:
    """The descriptions of ``TEXTURE_i:`` lines (seg tokens removed), in order."""
    out = []
    for line in text.splitlines():
        m = LINE.match(line.replace(seg, " "))
        if m and m.group(1).strip():
            out.append(" ".join(m.group(1).split()))
    return out


class Detecture:
    """The trained DETECTURE; see the module docstring."""

    name = "detecture"

    def __init__(
        self,
        checkpoint: str | None = None,
        vlm: str = "Qwen/Qwen3-VL-8B-Instruct",
        sam3: str = "facebook/sam3",
        vlm_revision: str | None = None,
        sam3_revision: str | None = None,
        device: str = "auto",
        dtype: str = "bfloat16",
        lora_r: int = 8,
        lora_alpha: float = 16.0,
        max_new_tokens: int = 300,
        block_diagonal: bool = True,
        image_size: int | None = 1008,
    ):
        reason = torchvision_reason()  # weights: the registry checks them from the manifest
        if reason:
            raise MethodUnavailable(f"{self.name}: {reason}")
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from baselines.detecture_arch import SEG_TOKEN

        self.torch = torch
        self.grounder = Sam3Grounder(sam3, revision=sam3_revision, device=device, dtype="float32")
        self.device, self.dtype = self.grounder.device, torch_dtype(dtype)
        self.processor = load_pretrained(AutoProcessor, vlm, what="vlm processor", revision=vlm_revision)
        qwen = load_pretrained(
            AutoModelForImageTextToText, vlm, what="vlm model", revision=vlm_revision, dtype=self.dtype
        )
        self.processor.tokenizer.add_tokens([SEG_TOKEN], special_tokens=True)
        self.seg_id = self.processor.tokenizer.convert_tokens_to_ids(SEG_TOKEN)
        self.heads = self._load(qwen, checkpoint, int(lora_r), float(lora_alpha))
        self.qwen = qwen.to(self.device).eval()  # VLM in `dtype`, LoRA adapters stay float32
        self.heads = self.heads.to(self.device).eval()
        self.max_new_tokens, self.block_diagonal = int(max_new_tokens), bool(block_diagonal)
        self.image_size = int(image_size) if image_size else None
        self.timings = {"vlm_generate": 0.0}

    @classmethod
    def from_parts(cls, grounder: Sam3Grounder, processor: Any, qwen: Any, heads: Any, dtype: Any,
                   max_new_tokens: int = 300, block_diagonal: bool = True,
                   image_size: int | None = 1008) -> Detecture:  # fmt: skip
        """A Detecture over models already in memory (the training loop evaluates through it).

        Nothing is loaded or copied: ``qwen`` (with LoRA and ``<|seg|>`` in its vocabulary), ``heads``
        and ``grounder`` are used as they are, so the evaluation runs exactly the inference path above.
        """
        from baselines.detecture_arch import SEG_TOKEN

        self = cls.__new__(cls)
        self.torch = __import__("torch")
        self.grounder, self.processor, self.qwen, self.heads = grounder, processor, qwen, heads
        self.device, self.dtype = grounder.device, dtype
        self.seg_id = processor.tokenizer.convert_tokens_to_ids(SEG_TOKEN)
        self.max_new_tokens, self.block_diagonal = int(max_new_tokens), bool(block_diagonal)
        self.image_size = int(image_size) if image_size else None
        self.timings = {"vlm_generate": 0.0}
        return self

    @classmethod
    def check_available(cls, params: dict[str, Any]) -> str | None:
        """torchvision present (the weights are checked from the manifest, :mod:`benchmark.weights`)."""
        return torchvision_reason()

    def _load(self, qwen: Any, checkpoint: str, r: int, alpha: float) -> Any:
        """Resize the vocabulary, add LoRA, load every published tensor strictly; return the heads."""
        from baselines import detecture_arch as arch
        from baselines.lora import apply_lora

        torch, cfg = self.torch, qwen.config.text_config
        flat = arch.read_checkpoint(checkpoint, cfg.num_hidden_layers)
        rows = flat[arch.EMBED_KEY].shape[0]
        if rows != len(self.processor.tokenizer):
            raise UserError(
                f"detecture checkpoint {checkpoint}: {rows} vocabulary rows but this VLM's tokenizer has "
                f"{len(self.processor.tokenizer)} tokens with <|seg|>; use the VLM the checkpoint was trained on"
            )
        qwen.resize_token_embeddings(rows)
        try:
            with torch.no_grad():
                qwen.get_input_embeddings().weight.copy_(flat[arch.EMBED_KEY])
                qwen.get_output_embeddings().weight.copy_(flat[arch.LM_HEAD_KEY])
            wrapped = apply_lora(qwen, arch.LORA_TARGETS, r, alpha, prefix="model.language_model.")
            for name in wrapped:
                module = qwen.get_submodule(name)
                for ab in ("A", "B"):
                    getattr(module, f"lora_{ab}").weight.data.copy_(
                        flat[f"{arch.PEFT_PREFIX}{name}.lora_{ab}.default.weight"]
                    )
            sam = self.grounder.model.config
            heads = arch.DetectureHeads(
                cfg.hidden_size, sam.text_config.hidden_size, sam.detr_encoder_config.hidden_size
            )
            heads.load_state_dict({k: flat[k] for k in heads.state_dict()}, strict=True)
        except (RuntimeError, KeyError, ValueError) as exc:
            raise UserError(
                f"detecture checkpoint {checkpoint} does not fit these models: {first_line(exc)[:240]}"
            ) from None
        return heads

    # ---- VLM -------------------------------------------------------------------------
    def _chat(self, n: str) -> str:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": USER_PROMPT.format(N=n)}],
            },
        ]
        return self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def vlm_image(self, image: np.ndarray) -> np.ndarray:
        """The image as the VLM sees it: ``image_size`` x ``image_size`` (bilinear), or unchanged."""
        return square_resize(image, self.image_size)

    def _encode(self, image: np.ndarray, text: str) -> Any:
        image = self.vlm_image(image)
        inputs = self.processor(text=[text], images=[image], return_tensors="pt").to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return inputs

    def seg_states(self, inputs: Any, start: int) -> Any:
        """(K, D_llm) last-layer states at the ``<|seg|>`` tokens after ``start`` (at most 6)."""
        from baselines.detecture_arch import MAX_TEXTURES, block_diagonal_mask

        torch = self.torch
        ids = inputs["input_ids"]
        with torch.inference_mode():
            ones = torch.ones_like(ids)
            pos, _ = self.qwen.model.get_rope_index(
                ids,
                mm_token_type_ids=inputs["mm_token_type_ids"],
                image_grid_thw=inputs["image_grid_thw"],
                attention_mask=ones,
            )
            if self.block_diagonal:
                mask = block_diagonal_mask(ids[0], self.seg_id, start, self.dtype)
            else:
                mask = block_diagonal_mask(ids[0], -1, start, self.dtype)  # no seg blocks: plain causal
            out = self.qwen(
                input_ids=ids,
                pixel_values=inputs["pixel_values"],
                image_grid_thw=inputs["image_grid_thw"],
                mm_token_type_ids=inputs["mm_token_type_ids"],
                attention_mask=mask,
                position_ids=pos,
                output_hidden_states=True,
            )
        where = [int(p) for p in (ids[0] == self.seg_id).nonzero().flatten() if int(p) >= start][
            :MAX_TEXTURES
        ]
        return out.hidden_states[-1][0, where].float()

    def _vision_tokens(self) -> list[int]:
        """Ids of the image/video placeholder tokens: never generated (they would break pass 2)."""
        tok, names = (
            self.processor.tokenizer,
            ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"),
        )
        ids = [tok.convert_tokens_to_ids(n) for n in names]
        return [i for i in ids if i is not None and i != tok.unk_token_id]

    def _block_texts(self, new: Any) -> list[str]:
        """The text of each generated block ending in ``<|seg|>``, ``TEXTURE_i:`` label removed."""
        texts, begin = [], 0
        for p in (new == self.seg_id).nonzero().flatten().tolist():
            block = self.processor.tokenizer.decode(new[begin:p], skip_special_tokens=True).strip()
            texts.append(" ".join(re.sub(r"^\s*TEXTURE[_\s]*\d+\s*:", "", block, flags=re.I).split()))
            begin = p + 1
        return texts

    def read(
        self, image: np.ndarray, k: int | None, descriptions: list[str] | None
    ) -> tuple[Any, list[str], dict]:
        """(seg states (K, D_llm), descriptions, extras): teacher-forced for GT descriptions, else generated."""
        t0 = time.perf_counter()
        chat = self._chat(str(k) if k is not None else "between 1 and 6")
        start = self._encode(image, chat)["input_ids"].shape[1]
        extras: dict[str, Any] = {}
        if descriptions:
            texts = list(descriptions)
            inputs = self._encode(image, chat + assistant_text(texts))
        else:
            inputs = self._encode(image, chat)
            with self.torch.inference_mode():
                gen = self.qwen.generate(
                    **inputs,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    suppress_tokens=self._vision_tokens(),
                )
            new = gen[0, start:]
            answer = self.processor.tokenizer.decode(new, skip_special_tokens=False)
            extras.update(generated_text=answer, seg_fallback=bool((new != self.seg_id).all()))
            if extras["seg_fallback"]:  # no <|seg|>: re-tokenise the TEXTURE lines with it appended
                texts = parse_lines(answer)
                inputs = self._encode(image, chat + assistant_text(texts))
            else:  # re-read the generated sequence itself (the authors' pass 2)
                texts = self._block_texts(new)
                mm = inputs["mm_token_type_ids"]
                pad = self.torch.zeros((1, gen.shape[1] - mm.shape[1]), dtype=mm.dtype, device=mm.device)
                inputs["input_ids"], inputs["mm_token_type_ids"] = gen, self.torch.cat([mm, pad], dim=1)
        states = self.seg_states(inputs, start)
        self.timings["vlm_generate"] += time.perf_counter() - t0
        return states, texts[: states.shape[0]], extras

    # ---- SAM 3 -----------------------------------------------------------------------
    def mask_logits(self, feats: Any, states: Any) -> Any:
        """(K + 1, h, w) logits for [dustbin, seg_1..seg_K], each query in its own SAM 3 row."""
        from baselines.detecture_arch import multiplexed_logits

        torch, sam = self.torch, self.grounder.model
        t0 = time.perf_counter()
        with torch.inference_mode():
            logits = multiplexed_logits(sam, self.heads, feats.vision, states)
        self.grounder.timings["sam3_text_decode"] += time.perf_counter() - t0
        return logits

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        before = {**self.grounder.timings, **self.timings}
        states, texts, extras = self.read(image, k, descriptions)
        feats = self.grounder.encode_image(image)
        scores = self.grounder.upsample(self.mask_logits(feats, states), feats.size)
        after = {**self.grounder.timings, **self.timings}
        extras.update(k_pred=len(texts), timings={s: after[s] - before[s] for s in after})
        return Prediction(scores=scores, descriptions=texts, extras=extras)
