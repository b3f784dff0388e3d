"""Tiny random vision-language models for tests: real transformers classes, no download.

``save_tiny_vlm(family, out_dir)`` builds a model of the given family from a small config (hidden
sizes 32-64, 1-2 layers, random weights, seeded), a character-level byte BPE tokenizer built in code
(the 256 byte symbols, no merges, plus the family's special tokens and a chat template), the family's
image processor at 56-64 px, and ``save_pretrained``s model and processor into ``out_dir``. The folder
then loads back with ``AutoProcessor`` / ``AutoModelForImageTextToText`` (or
``Florence2ForConditionalGeneration``) and ``local_files_only=True``, i.e. through the production
path of :class:`textureade.describe.vlm.VlmDescriber`.

Families (``FAMILIES``): ``qwen2_5_vl`` (Qwen2.5-VL), ``qwen3_vl`` (Qwen3-VL), ``smolvlm`` (SmolVLM v1 =
Idefics3 + Llama text), ``florence2`` (Florence-2, BART encoder-decoder + DaViT vision). Each folder
is 1-3 MB and generates 20 tokens in well under a second on one CPU core. Its outputs are random
junk (what validation, retry and fallback tests need).

``fit_answers(model, tokenizer, generate_kwargs, answers, eos)`` then replaces a decoder-only
model's output layer by a least-squares fit so that greedy decoding of those exact prompts yields
chosen answers: a real model that really generates valid text, for tests of the accepting path
(build it wider, e.g. ``hidden_size=160``, so the fit has room).

Reuse (e.g. a Qwen-VL inside another method): the tokenizers are ``Qwen2Tokenizer`` objects (Idefics3
too) over the 256 byte symbols, so any text round-trips; add tokens with ``tokenizer.add_tokens`` and
``model.resize_token_embeddings(len(tokenizer))``. Token ids of the special tokens are read from the
tokenizer, never hard-coded; the configs' image/video/vision-start ids and the generation config's
eos/pad ids are set from them.

torch and transformers are imported inside the functions (``import textureade.testing`` stays light).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FAMILIES = ("qwen2_5_vl", "qwen3_vl", "smolvlm", "florence2")

QWEN_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# A compact but real Qwen chat template: string or list-of-parts content, images as
# <|vision_start|><|image_pad|><|vision_end|> (the processor expands the pad to the patch count).
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SMOLVLM_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>",
                   "<image>", "<global-img>"]  # fmt: skip

# SmolVLM's template shape: "<|im_start|>User:<image>text<end_of_utterance>\nAssistant:".
SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<image>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


def byte_vocab(specials: list[str], extra: list[str] | None = None) -> dict[str, int]:
    """The GPT-2 byte-to-unicode alphabet (256 symbols, ids 0..255), then ``specials`` and ``extra``.

    With no merges a byte-level BPE over this vocabulary is a character-level tokenizer that can
    encode any text (every byte has a symbol).
    """
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {ch: i for i, ch in enumerate(sorted(bytes_to_unicode().values(), key=ord))}
    for tok in [*specials, *(extra or [])]:
        if tok not in vocab:
            vocab[tok] = len(vocab)
    return vocab


def _qwen_tokenizer(specials: list[str], chat_template: str) -> Any:
    from transformers import Qwen2Tokenizer

    vocab = byte_vocab(specials)
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=[],
        unk_token="<|endoftext|>",
        eos_token="<|im_end|>" if "<|im_end|>" in specials else "<end_of_utterance>",
        pad_token="<|endoftext|>",
        extra_special_tokens=[t for t in specials if t != "<|endoftext|>"],
    )
    tok.chat_template = chat_template
    return tok


def _pad_vocab(n: int) -> int:
    return ((n + 63) // 64) * 64


def _seed() -> None:
    import torch

    torch.manual_seed(0)


def _qwen2_5_vl(out: Path, hidden: int) -> None:
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tok = _qwen_tokenizer(QWEN_SPECIAL, QWEN_CHAT_TEMPLATE)
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    text = dict(
        vocab_size=_pad_vocab(len(tok)), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
        num_attention_heads=hidden // 16, num_key_value_heads=2, max_position_embeddings=2048,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
    )  # fmt: skip
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                  patch_size=14, spatial_merge_size=2, window_size=56, fullatt_block_indexes=[1])  # fmt: skip
    config = Qwen2_5_VLConfig(
        text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )  # fmt: skip
    _seed()
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    _set_generation(model, eos=ids["<|im_end|>"], pad=ids["<|endoftext|>"])
    pixels = {"shortest_edge": 56 * 56, "longest_edge": 112 * 112}
    proc = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=pixels, patch_size=14, merge_size=2),
        tokenizer=tok,
        video_processor=Qwen2VLVideoProcessor(size=pixels, patch_size=14, merge_size=2),
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    model.save_pretrained(out)
    proc.save_pretrained(out)


def _qwen3_vl(out: Path, hidden: int) -> None:
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
    )
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    tok = _qwen_tokenizer(QWEN_SPECIAL, QWEN_CHAT_TEMPLATE)
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    text = dict(
        vocab_size=_pad_vocab(len(tok)), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
        num_attention_heads=hidden // 16, num_key_value_heads=2, head_dim=16, max_position_embeddings=2048,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2],
                         "mrope_interleaved": True},
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
    )  # fmt: skip
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                  patch_size=16, spatial_merge_size=2, num_position_embeddings=64,
                  deepstack_visual_indexes=[0])  # fmt: skip
    config = Qwen3VLConfig(
        text_config=text, vision_config=vision, image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"], vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )  # fmt: skip
    _seed()
    model = Qwen3VLForConditionalGeneration(config).eval()
    _set_generation(model, eos=ids["<|im_end|>"], pad=ids["<|endoftext|>"])
    pixels = {"shortest_edge": 64 * 64, "longest_edge": 128 * 128}
    norm = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    proc = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=pixels, patch_size=16, merge_size=2, **norm),
        tokenizer=tok,
        video_processor=Qwen3VLVideoProcessor(size=pixels, patch_size=16, merge_size=2, **norm),
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    model.save_pretrained(out)
    proc.save_pretrained(out)


def _smolvlm(out: Path, hidden: int) -> None:
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
    )

    rows = [f"<row_{i + 1}_col_{j + 1}>" for i in range(6) for j in range(6)]
    tok = _qwen_tokenizer(SMOLVLM_SPECIAL, SMOLVLM_CHAT_TEMPLATE)
    tok.add_tokens(rows)
    ids = {t: tok.convert_tokens_to_ids(t) for t in SMOLVLM_SPECIAL}
    text = dict(
        model_type="llama", vocab_size=_pad_vocab(len(tok)), hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=2, num_attention_heads=hidden // 16, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=ids["<|im_start|>"], eos_token_id=ids["<end_of_utterance>"],
        pad_token_id=ids["<|endoftext|>"],
    )  # fmt: skip
    vision = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  image_size=64, patch_size=16)  # fmt: skip
    config = Idefics3Config(
        text_config=text, vision_config=vision, image_token_id=ids["<image>"], scale_factor=2,
        pad_token_id=ids["<|endoftext|>"],
    )  # fmt: skip
    _seed()
    model = Idefics3ForConditionalGeneration(config).eval()
    _set_generation(model, eos=ids["<end_of_utterance>"], pad=ids["<|endoftext|>"])
    improc = Idefics3ImageProcessor(
        size={"longest_edge": 64}, max_image_size={"longest_edge": 64}, do_image_splitting=False
    )
    proc = Idefics3Processor(
        image_processor=improc, tokenizer=tok, image_seq_len=4, chat_template=SMOLVLM_CHAT_TEMPLATE
    )
    model.save_pretrained(out)
    proc.save_pretrained(out)


def _florence2(out: Path, hidden: int) -> None:
    from transformers import (
        BartTokenizer,
        CLIPImageProcessor,
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
    )

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<image>"]
    locs = [f"<loc_{i}>" for i in range(1000)]
    vocab = byte_vocab(specials)
    tok = BartTokenizer(
        vocab=vocab, merges=[], bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
        extra_special_tokens={"image_token": "<image>"},
    )  # fmt: skip
    tok.add_tokens(locs)
    ids = {t: tok.convert_tokens_to_ids(t) for t in specials}
    text = dict(
        model_type="bart", vocab_size=_pad_vocab(len(tok)), d_model=32, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        max_position_embeddings=256, bos_token_id=ids["<s>"], eos_token_id=ids["</s>"],
        pad_token_id=ids["<pad>"], decoder_start_token_id=ids["</s>"], forced_bos_token_id=ids["<s>"],
        forced_eos_token_id=ids["</s>"],
    )  # fmt: skip
    vision = dict(
        depths=[1, 1, 1, 1], embed_dim=[16, 16, 32, 32], num_heads=[2, 2, 2, 2], num_groups=[2, 2, 2, 2],
        window_size=2, projection_dim=32, max_position_embeddings=8, max_temporal_embeddings=8,
        drop_path_rate=0.0,
    )  # fmt: skip
    # untied output layer (real Florence-2 ties it): lets fit_answers change answers, not inputs
    text["tie_word_embeddings"] = False
    config = Florence2Config(
        text_config=text, vision_config=vision, image_token_id=ids["<image>"], tie_word_embeddings=False
    )
    _seed()
    model = Florence2ForConditionalGeneration(config).eval()
    _set_generation(model, eos=ids["</s>"], pad=ids["<pad>"])
    model.generation_config.decoder_start_token_id = ids["</s>"]
    improc = CLIPImageProcessor(
        size={"height": 64, "width": 64}, crop_size={"height": 64, "width": 64}, do_center_crop=False,
        image_seq_length=1 + (64 // 32) ** 2,
    )  # fmt: skip
    proc = Florence2Processor(image_processor=improc, tokenizer=tok)
    model.save_pretrained(out)
    proc.save_pretrained(out)


def _set_generation(model: Any, *, eos: int, pad: int) -> None:
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    model.generation_config.do_sample = False


_BUILDERS = {"qwen2_5_vl": _qwen2_5_vl, "qwen3_vl": _qwen3_vl, "smolvlm": _smolvlm, "florence2": _florence2}


def save_tiny_vlm(family: str, out_dir: str | Path, hidden_size: int = 64) -> Path:
    """Build the tiny random ``family`` model + processor and save both into ``out_dir``.

    family: one of :data:`FAMILIES`. hidden_size: width of the text model (a multiple of 32; heads of
    16 dims); wider models let a test fit the output layer to chosen answers (``fit_answers``).
    Florence-2 is always 32 wide. Returns ``out_dir`` as a Path (created if needed). Deterministic:
    the weights are drawn after ``torch.manual_seed(0)``. Raises ValueError for an unknown family.
    """
    if family not in _BUILDERS:
        raise ValueError(f"unknown tiny VLM family {family!r}; use one of {', '.join(FAMILIES)}")
    if hidden_size % 32 or hidden_size < 32:
        raise ValueError(f"hidden_size must be a positive multiple of 32, got {hidden_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _BUILDERS[family](out, hidden_size)
    return out


def fit_answers(
    model: Any, tokenizer: Any, inputs: dict[str, Any], answers: list[str], eos_token: str
) -> None:
    """Fit a model's output layer so greedy decoding of given prompts answers ``answers`` (in place).

    inputs: the keyword arguments a ``generate`` call received for a batch of prompts (decoder-only:
    left-padded ``input_ids`` B x P, ``attention_mask``, pixel tensors, ...; encoder-decoder such as
    Florence-2: the encoder inputs); answers: B target strings, each followed by ``eos_token``. The
    hidden states feeding ``lm_head`` are read with the answers teacher-forced after the prompts (for
    an encoder-decoder, after the decoder start and any forced BOS token), and ``lm_head.weight`` is
    replaced by the least-squares map that scores each next target token highest. Hidden states
    depend only on the prefix, so greedy decoding then reproduces every answer exactly. Needs an
    output layer not tied to the input embeddings and ``hidden_size`` >= the number of answer tokens
    (build with ``save_tiny_vlm(..., hidden_size=160)`` for a few short answers); raises ValueError
    otherwise.
    """
    import torch

    if model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr():
        raise ValueError("fit_answers needs an output layer that is not tied to the input embeddings")
    eos = tokenizer.convert_tokens_to_ids(eos_token)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    gen = model.generation_config
    encdec = bool(model.config.is_encoder_decoder)
    forced = [gen.forced_bos_token_id] if encdec and gen.forced_bos_token_id is not None else []
    targets = [forced + tokenizer(a, add_special_tokens=False)["input_ids"] + [eos] for a in answers]
    length = max(map(len, targets))
    tgt = torch.tensor([t + [pad] * (length - len(t)) for t in targets])
    keep = torch.tensor([[True] * len(t) + [False] * (length - len(t)) for t in targets])
    extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask", "generation_config")}
    if encdec:  # decoder reads [start, t_0 .. t_{n-2}] and predicts t_0 .. t_{n-1}
        start = torch.full((len(targets), 1), gen.decoder_start_token_id)
        feed = dict(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                    decoder_input_ids=torch.cat([start, tgt[:, :-1]], 1),
                    decoder_attention_mask=torch.cat([torch.ones_like(start), keep[:, :-1].long()], 1))  # fmt: skip
        first = 0
    else:  # the state at position p predicts token p + 1: the prompt's end predicts the first answer token
        if "mm_token_type_ids" in extra:  # Qwen-VL: text tokens are type 0
            extra["mm_token_type_ids"] = torch.cat([extra["mm_token_type_ids"], torch.zeros_like(tgt)], 1)
        feed = dict(input_ids=torch.cat([inputs["input_ids"], tgt], 1),
                    attention_mask=torch.cat([inputs["attention_mask"], keep.long()], 1))  # fmt: skip
        first = inputs["input_ids"].shape[1] - 1
    captured: dict[str, Any] = {}
    hook = model.lm_head.register_forward_hook(lambda m, i, o: captured.__setitem__("x", i[0].detach()))
    try:
        with torch.no_grad():
            model(**feed, **extra)
    finally:
        hook.remove()
    states = captured["x"][:, first : first + length][keep].double()
    labels = tgt[keep]
    goal = torch.full((states.shape[0], model.lm_head.weight.shape[0]), -1.0, dtype=torch.float64)
    goal[torch.arange(labels.numel()), labels] = 10.0
    weight = torch.linalg.lstsq(states, goal).solution.T.to(model.lm_head.weight.dtype)
    if not bool(((states.to(weight.dtype) @ weight.T).argmax(1) == labels).all()):
        raise ValueError(f"cannot fit {labels.numel()} answer tokens with hidden size {states.shape[1]}")
    with torch.no_grad():
        model.lm_head.weight.copy_(weight)
        if getattr(model.lm_head, "bias", None) is not None:
            model.lm_head.bias.zero_()
