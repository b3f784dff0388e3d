"""The training-free VLM -> SAM 3 pipeline shared by ``detecture-zs`` (all three fixes on) and
``naive-coupling`` (the fixes off, masks painted in order): a VLM proposes region descriptions, SAM 3
grounds each one, regions compete only at the final per-pixel argmax with a dustbin.

Pipeline for one image (descriptions in Detecture's form ``Texture of <name>, <features>, <place>``):
1. names: oracle-k skips the VLM and uses the GT descriptions; oracle-k-blind asks the VLM for
   exactly K short region names, autonomous for 1..``max_regions`` (one causal generation: names
   are short labels, the grounding inputs are the descriptions of step 2).
2. descriptions, with fix 1 (``isolate=True``, no language leakage): region k's description is
   generated in its own batch row whose context is the system prompt, the image, an instruction
   and region k's name only -- it cannot see any other region's text. ``isolate=False`` generates
   them in ONE growing causal context (``TEXTURE_1: ...`` then ``TEXTURE_2: ...``), the leaky design.
3. prompts, fix 3 (``native_text=True``, no semantic distortion): descriptions enter SAM 3 through
   its own text encoder, optionally rewritten into short phrases (``rewrite="short"``: the
   semantic name before the first comma, at most ``rewrite_max_words`` words); every rewrite is
   recorded in ``extras["rewrites"]``. ``native_text=False`` is the projector design: the VLM's last
   hidden state of each description goes through a linear projector (``projector=PATH``, a
   torch/safetensors state dict with ``weight`` (D_sam, D_vlm) and ``bias``) into SAM 3's prompt space.
4. grounding, fix 2 (``multiplex=True``, no prompt competition): each prompt is its own SAM 3 batch
   row over vision features computed once per image (:meth:`Sam3Grounder.ground`);
   ``multiplex=False`` runs all prompts jointly in one pass (:meth:`Sam3Grounder.ground_joint`).
5. scores: [dustbin_logit, map_1..map_K] at the image resolution; argmax happens downstream.

Timings per image (seconds) are in ``extras["timings"]``: vlm_generate, sam3_vision, sam3_text_decode.
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np

from baselines._sam3 import Sam3Grounder, stack_scores, torchvision_reason
from benchmark.method import MethodUnavailable
from textureade.describe.validate import PREFIX, description_problem, normalise
from textureade.errors import UserError
from textureade.hf import load_pretrained, pick_device, torch_dtype
from textureade.types import Prediction

SYSTEM_PROMPT = (
    "You describe the surface textures of images. Answer in exactly the requested format, nothing else."
)
FALLBACK_PLACES = ["top", "bottom", "left", "right", "centre", "background"]


def names_prompt(n: int, exact: bool) -> str:
    """Ask for short names of the image's visually distinct regions, one ``REGION_i:`` line each."""
    count = f"exactly {n}" if exact else f"between 1 and {n}"
    return (
        f"Split this image into {count} visually distinct regions (surfaces or materials, each a whole "
        "area rather than single objects). Name each region in two to four words, one per line:\n"
        "REGION_1: <name>\nREGION_2: <name>\n..."
    )


def describe_prompt(name: str) -> str:
    """Ask for one description of ONE region (its name is the only region text in the context)."""
    return (
        f"Look at the region of this image showing: {name}.\nWrite one phrase of about 10-15 words for "
        "this region only: its material name, its colour, pattern or texture, and where it is "
        "(e.g. foreground, top-left). Format:\nTEXTURE: Texture of <name>, <visual features>, <position>"
    )


def joint_prompt(names: list[str]) -> str:
    """The leaky design: all regions described in one answer (``TEXTURE_i:`` lines)."""
    listing = "\n".join(f"{i + 1}. {n}" for i, n in enumerate(names))
    return (
        f"This image has these regions:\n{listing}\nWrite one phrase of about 10-15 words for each, "
        "one per line:\nTEXTURE_1: Texture of <name>, <visual features>, <position>\nTEXTURE_2: ..."
    )


def parse_names(text: str, n: int) -> list[str]:
    """Region names from ``REGION_i: name`` (or numbered / plain) lines; at most n, deduplicated."""
    names: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:REGION|TEXTURE)?[_\s]*\d*\s*[:.)\-]\s*", "", line.strip(), flags=re.I)
        line = normalise(line).strip(" .,;")
        if not re.search(r"[A-Za-z0-9]", line) or line.lower() in (x.lower() for x in names):
            continue
        names.append(" ".join(line.split()[:8]))
        if len(names) == n:
            break
    return names


def as_description(continuation: str) -> str:
    """``Texture of `` + the first line of a generated continuation, whitespace-normalised."""
    first = continuation.split("\n", 1)[0]
    return normalise(PREFIX + normalise(first))


def shorten(description: str, max_words: int = 6) -> str:
    """A short phrase SAM 3 grounds well: the semantic name (text before the first comma), no prefix."""
    text = normalise(description)
    if text.lower().startswith(PREFIX.lower()):
        text = text[len(PREFIX) :]
    head = text.split(",", 1)[0].strip(" .;") or text
    words = [w for w in head.split() if w.lower() not in ("a", "an", "the")]
    return " ".join(words[:max_words]) or text


class ChatVlm:
    """A transformers VLM used for generation and hidden states; timings in ``timings``."""

    def __init__(self, vlm: str, revision: str | None, device: str, dtype: str):
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.torch = torch
        self.device = pick_device(device)
        self.processor = load_pretrained(AutoProcessor, vlm, what="vlm processor", revision=revision)
        if not getattr(self.processor, "chat_template", None):  # every prompt goes through it
            raise UserError(
                f"vlm {vlm} has no chat template (a base, not an instruction-tuned, checkpoint?); "
                "pass a chat VLM such as Qwen/Qwen3-VL-8B-Instruct"
            )
        self.processor.tokenizer.padding_side = "left"
        model = load_pretrained(
            AutoModelForImageTextToText, vlm, what="vlm model", revision=revision, dtype=torch_dtype(dtype)
        )
        self.model = model.to(self.device).eval()
        self.timings = {"vlm_generate": 0.0}

    def _inputs(self, image: np.ndarray, prompts: list[str], prefixes: list[str]) -> Any:
        texts = []
        for prompt, prefix in zip(prompts, prefixes):
            messages = [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]},
            ]
            chat = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            texts.append(chat + prefix)
        inputs = self.processor(text=texts, images=[image] * len(texts), padding=True, return_tensors="pt")
        return inputs.to(self.device)

    def generate(
        self,
        image: np.ndarray,
        prompts: list[str],
        prefixes: list[str],
        max_new_tokens: int,
        one_line: bool = False,
    ) -> list[str]:
        """One greedy continuation per (prompt, assistant prefix) row; rows are independent.

        one_line: stop each row at its first newline.
        """
        t0 = time.perf_counter()
        inputs = self._inputs(image, prompts, prefixes)
        stop = {"stop_strings": ["\n"], "tokenizer": self.processor.tokenizer} if one_line else {}
        with self.torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, **stop)
        start = inputs["input_ids"].shape[1]
        texts = self.processor.tokenizer.batch_decode(out[:, start:], skip_special_tokens=True)
        self.timings["vlm_generate"] += time.perf_counter() - t0
        return texts

    def last_hidden(self, image: np.ndarray, prompts: list[str], answers: list[str]) -> Any:
        """(N, D_vlm) last-layer hidden state at the final token of each row's answer."""
        t0 = time.perf_counter()
        inputs = self._inputs(image, prompts, answers)
        with self.torch.inference_mode():
            out = self.model(**inputs, output_hidden_states=True)
        self.timings["vlm_generate"] += time.perf_counter() - t0
        return out.hidden_states[-1][:, -1].float()  # left padding: the last position is real


class VlmSam3Pipeline:
    """A VLM names and describes regions, SAM 3 grounds them; see the module docstring.

    Fix switches: isolate, multiplex, native_text (all on: training-free DETECTURE). Subclasses set
    ``name`` (used in every message) and may change how the maps become a prediction.
    """

    name = "vlm-sam3"

    def __init__(
        self,
        vlm: str = "Qwen/Qwen3-VL-8B-Instruct",
        sam3: str = "facebook/sam3",
        vlm_revision: str | None = None,
        sam3_revision: str | None = None,
        device: str = "auto",
        dtype: str = "float32",
        vlm_dtype: str | None = None,
        output: str = "semantic",
        dustbin_logit: float = 0.0,
        max_regions: int = 6,
        isolate: bool = True,
        multiplex: bool = True,
        native_text: bool = True,
        projector: str | None = None,
        rewrite: str = "none",
        rewrite_max_words: int = 6,
        max_new_tokens: int = 40,
    ):
        if rewrite not in ("none", "short"):
            raise UserError(f"{self.name}: rewrite must be 'none' or 'short', got {rewrite!r}")
        if not native_text and not projector:
            raise UserError(
                f"{self.name}: native_text=false needs a trained projector; pass --option projector=PATH"
            )
        reason = torchvision_reason()  # weights: the registry checks them from the manifest
        if reason:
            raise MethodUnavailable(f"{self.name}: {reason}")
        self.grounder = Sam3Grounder(sam3, revision=sam3_revision, device=device, dtype=dtype)
        self._vlm_args = (vlm, vlm_revision, device, vlm_dtype or dtype)
        self._vlm: ChatVlm | None = None
        self.output, self.dustbin_logit, self.max_regions = output, float(dustbin_logit), int(max_regions)
        self.isolate, self.multiplex, self.native_text = bool(isolate), bool(multiplex), bool(native_text)
        self.rewrite, self.rewrite_max_words, self.max_new_tokens = (
            rewrite,
            int(rewrite_max_words),
            int(max_new_tokens),
        )
        self.projector = self._load_projector(projector) if not native_text else None

    @classmethod
    def check_available(cls, params: dict[str, Any]) -> str | None:
        """torchvision present (the weights are checked from the manifest, :mod:`benchmark.weights`)."""
        return torchvision_reason()

    @property
    def vlm(self) -> ChatVlm:
        """The VLM, loaded on first use (oracle-k with GT descriptions never needs it).

        A VLM that fails to load is MethodUnavailable (the run stops, exit 2), not a failure per image.
        """
        if self._vlm is None:
            try:
                self._vlm = ChatVlm(*self._vlm_args)
            except MethodUnavailable:
                raise
            except UserError as exc:
                raise MethodUnavailable(f"{self.name}: {exc}") from None
        return self._vlm

    def _load_projector(self, path: str) -> Any:
        import torch

        from baselines.safe_ckpt import load_state_dict

        state = load_state_dict(path, what=f"{self.name} projector")
        if set(state) != {"weight", "bias"}:
            raise UserError(
                f"{self.name}: projector {path} must hold exactly 'weight' and 'bias', got {sorted(state)[:4]}"
            )
        want = self.grounder.model.config.detr_encoder_config.hidden_size
        if state["weight"].ndim != 2 or state["weight"].shape[0] != want:
            raise UserError(
                f"{self.name}: projector weight must be ({want}, D_vlm), got {tuple(state['weight'].shape)}"
            )
        layer = torch.nn.Linear(state["weight"].shape[1], want)
        layer.load_state_dict(state)
        return layer.eval()

    # ---- steps -------------------------------------------------------------------------
    def propose_names(self, image: np.ndarray, k: int | None) -> tuple[list[str], int]:
        """(names, number of fallback names added). k: exactly k names; None: 1..max_regions."""
        n = k if k is not None else self.max_regions
        text = self.vlm.generate(
            image, [names_prompt(n, k is not None)], ["REGION_1:"], self.max_new_tokens * n
        )[0]
        names = parse_names("REGION_1:" + text, n)
        need = (k if k is not None else 1) - len(names)
        fallbacks = [f"the {p} area" for p in FALLBACK_PLACES if f"the {p} area" not in names][: max(need, 0)]
        return names + fallbacks, len(fallbacks)

    def describe_regions(self, image: np.ndarray, names: list[str]) -> list[str]:
        """One description per name: isolated rows (fix 1) or one growing causal context (leaky)."""
        if self.isolate:
            prompts = [describe_prompt(n) for n in names]
            outs = self.vlm.generate(
                image, prompts, ["TEXTURE: Texture of"] * len(names), self.max_new_tokens, True
            )
            return [as_description(o) for o in outs]
        prompt, answer, descriptions = joint_prompt(names), "", []
        for i in range(len(names)):
            answer += f"TEXTURE_{i + 1}: Texture of"
            out = self.vlm.generate(image, [prompt], [answer], self.max_new_tokens, True)[0]
            descriptions.append(as_description(out))
            answer += " " + descriptions[-1][len(PREFIX) :] + "\n"
        return descriptions

    def grounding_prompts(self, descriptions: list[str]) -> tuple[list[str], list[list[str]]]:
        """Text SAM 3 receives per region, and the recorded [original, rewrite] pairs."""
        if self.rewrite == "none":
            return list(descriptions), []
        prompts = [shorten(d, self.rewrite_max_words) for d in descriptions]
        return prompts, [[d, p] for d, p in zip(descriptions, prompts) if d != p]

    def ground(
        self, image: np.ndarray, feats: Any, prompts: list[str], names: list[str] | None
    ) -> np.ndarray:
        """(K, H, W) logit maps for the K prompts."""
        if not self.native_text:
            contexts = (
                [describe_prompt(n) for n in names]
                if names
                else [describe_prompt("this region")] * len(prompts)
            )
            hidden = self.vlm.last_hidden(image, contexts, [f"TEXTURE: {p}" for p in prompts])
            with self.grounder.torch.inference_mode():
                embeds = self.projector(hidden)[:, None, :]
            return self.grounder.ground_embeddings(feats, embeds, self.output)
        if self.multiplex:
            return self.grounder.ground(feats, prompts, self.output)
        return self.grounder.ground_joint(feats, prompts)

    def _clock(self) -> dict[str, float]:
        t = dict(self.grounder.timings)
        t["vlm_generate"] = self._vlm.timings["vlm_generate"] if self._vlm is not None else 0.0
        return t

    def predict(self, image: np.ndarray, k: int | None, descriptions: list[str] | None) -> Prediction:
        before = self._clock()
        names: list[str] | None = None
        extras: dict[str, Any] = {
            "isolate": self.isolate,
            "multiplex": self.multiplex,
            "native_text": self.native_text,
        }
        if descriptions:
            descriptions = [normalise(d) for d in descriptions]
        else:
            names, n_fallback = self.propose_names(image, k)
            descriptions = self.describe_regions(image, names)
            extras.update(names=names, name_fallbacks=n_fallback)
            extras["description_problems"] = [description_problem(d) for d in descriptions]
        prompts, rewrites = self.grounding_prompts(descriptions)
        feats = self.grounder.encode_image(image)
        maps = self.ground(image, feats, prompts, names)
        after = self._clock()
        extras.update(prompts=prompts, rewrites=rewrites, timings={s: after[s] - before[s] for s in after})
        return Prediction(
            scores=stack_scores(maps, self.dustbin_logit, k), descriptions=list(descriptions), extras=extras
        )
