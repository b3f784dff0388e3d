"""Describing regions with open vision-language models through transformers: batched, validated, cached.

``VlmDescriber(model, ...)`` takes a manifest name (``manifests/describers/<name>.yaml``: hub id,
pinned revision, prompts), a hub id (resolved from the local cache only) or a local folder. Chat
models (Qwen2.5-VL, Qwen3-VL, SmolVLM/Idefics3, anything ``AutoModelForImageTextToText`` loads) are
asked with the presentation chosen (see ``presentation.py``); Florence-2 is asked its
``<REGION_TO_DESCRIPTION>`` task with the region's box, and its short answer is completed into
"Texture of <answer>, <size> region in the <position> of the image".

Each region goes through attempts until its answer passes ``prompts.answer_problem`` (the
validate.py rules, a junk filter, JSON parsing for overlays) and differs from the image's other
descriptions. The attempt plan for ``max_retries`` R is: the first stage of the presentation, the
second stage if any, then re-prompts that state why the last answer was rejected, then sampled
decoding (temperature 0.7, top-p 0.9, seed ``seed + attempt``): with greedy decoding an unchanged
retry would repeat itself. Regions still unanswered go to the fallback describer
(``OfflineDescriber`` unless given); if the merged descriptions still collide, the whole image
falls back. Provenance records per region its source, attempts and fallback reason.

Every decision is cached (``cache.py``) when ``cache_dir`` is set: a re-run asks the model nothing.
Generation batches ``batch_size`` prompts across regions and images (``describe_batch``), with left
padding for decoder-only models; decoding is greedy by default (deterministic).
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from textureade.describe import presentation as pres
from textureade.describe import prompts as pr
from textureade.describe.base import DescribeResult, RegionInfo
from textureade.describe.cache import DescriptionCache, cache_key, image_hash, mask_hash
from textureade.describe.vlm_flow import Answer, Job, run_flow
from textureade.errors import UserError
from textureade.fingerprint import weights_fingerprint
from textureade.hf import is_local, load_pretrained, pick_device, torch_dtype

FLORENCE = "florence2"


def read_describer_manifest(name: str) -> dict[str, Any] | None:
    """The mapping in the ``describers/<name>.yaml`` manifest, or None when there is no such manifest.

    Found by :func:`textureade.manifests.find_manifest` (built-in, ``$TEXTUREADE_MANIFESTS``, user folders).
    """
    from textureade.manifests import find_manifest
    from textureade.yamlfile import read_yaml_mapping

    path = None if "/" in name else find_manifest("describers", f"{name}.yaml")
    if path is None:
        return None
    data = read_yaml_mapping(path, "describer manifest")
    if not data.get("model"):
        raise UserError(f"describer manifest {path} must map 'model' to a hub id; fix the file")
    return data


def local_model_key(path: str) -> str:
    """ "<abs path>#<content hash>" (:func:`textureade.fingerprint.weights_fingerprint`): changes when
    the folder's model does, also for new weights of the same shapes."""
    return weights_fingerprint(path).short


def chosen_token_recorder() -> Any:
    """A LogitsProcessor that keeps, per generated step, only the log-probability of the token the
    model then chose: B floats a step instead of the B x V logits ``output_logits`` would keep
    (~700 MB per call for Qwen's vocabulary at 288 tokens x batch 4).

    It sees the scores after the model's own generation-config processors (repetition penalty and
    the like) and before any sampling warper (temperature/top-p are passed after it), so sampled
    retries are judged on the model's distribution, not the warped one. After ``generate``, call
    ``.finish(sequences)``: a B x T tensor of log-probabilities of the T generated tokens.
    """
    import torch
    from transformers import LogitsProcessor

    class _Recorder(LogitsProcessor):
        def __init__(self) -> None:
            self.prev: Any = None  # log-softmax of the last step (B x V), until its token is known
            self.steps: list[Any] = []

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if self.prev is not None:  # input_ids now ends with the token chosen from self.prev
                self.steps.append(self.prev.gather(1, input_ids[:, -1:])[:, 0])
            self.prev = scores.float().log_softmax(-1)
            return scores

        def finish(self, sequences: Any) -> Any:
            if self.prev is not None:
                self.steps.append(self.prev.gather(1, sequences[:, -1:])[:, 0])
                self.prev = None
            return torch.stack(self.steps, 1) if self.steps else sequences[:, :0].float()

    return _Recorder()


def token_confidence(logp: Any, tokens: Any, eos: list[int]) -> list[float]:
    """Per row, the mean probability of the tokens the model produced, up to and including its first
    end token. logp: B x T log-probabilities of the generated tokens (``chosen_token_recorder``);
    tokens: B x T generated ids. A model that answers what it has learnt scores well above 0.1; a
    random one ~1 / vocabulary size, whatever words its vocabulary holds."""
    import torch

    ended = (
        torch.isin(tokens, torch.tensor(eos, device=tokens.device)).long()
        if eos
        else torch.zeros_like(tokens)
    )
    keep = (ended.cumsum(1) - ended) == 0  # up to and including the first end token
    probs = logp.exp() * keep
    return (probs.sum(1) / keep.sum(1).clamp(min=1)).tolist()


class VlmDescriber:
    """A Describer backed by a transformers vision-language model (see the module docstring).

    model: manifest name, hub id or local folder. revision: hub revision (the manifest's if None).
    presentation: one of ``presentation.PRESENTATIONS``; None = the manifest's, else "overlay" for
    chat models and "box" for Florence-2. max_new_tokens: None = 48 + 40 per region for an overlay,
    64 per region otherwise. fallback: a Describer for regions the model fails (default
    ``textureade.describe.offline.OfflineDescriber()``, imported on first need). prompt_manifest: a
    YAML of prompt templates overriding the manifest's and the defaults. min_confidence: an answer whose
    tokens the model gave a mean probability below this (``token_confidence``) is rejected as a guess
    (a random model's real-looking words never pass); 0 turns the check off.
    """

    name = "vlm"

    def __init__(self, model: str, revision: str | None = None, device: str = "auto", dtype: str = "float32",
                 presentation: str | None = None, batch_size: int = 4, max_retries: int = 2,
                 cache_dir: str | Path | None = None, hints: bool = True, fallback: Any = None,
                 max_new_tokens: int | None = None, prompt_manifest: str | Path | None = None,
                 seed: int = 0, trust_remote_code: bool = False, min_confidence: float = 0.05):  # fmt: skip
        manifest = read_describer_manifest(str(model)) or {}
        self.model_id = str(manifest.get("model", model))
        self.revision = revision or manifest.get("revision")
        self.dtype_name = dtype
        self.batch_size, self.max_retries = int(batch_size), int(max_retries)
        if self.batch_size < 1 or self.max_retries < 0:
            raise UserError("vlm describer: batch_size must be >= 1 and max_retries >= 0")
        self.min_confidence = float(min_confidence)
        if not 0.0 <= self.min_confidence < 1.0:
            raise UserError(f"vlm describer: min_confidence must be in [0, 1), got {min_confidence}")
        self.hints, self.seed, self.max_new_tokens = bool(hints), int(seed), max_new_tokens
        self.trust_remote_code = trust_remote_code
        if prompt_manifest:
            self.prompts = pr.PromptSet.from_yaml(prompt_manifest)
        else:
            self.prompts = pr.PromptSet.from_mapping(manifest.get("prompts"), where=f"describer {model}")
        from transformers import AutoConfig

        config = load_pretrained(AutoConfig, self.model_id, what="vlm describer model", revision=self.revision,
                                 trust_remote_code=trust_remote_code)  # fmt: skip
        self.family = str(getattr(config, "model_type", "unknown"))
        self.presentation = (
            presentation or manifest.get("presentation") or ("box" if self.family == FLORENCE else "overlay")
        )
        try:
            pres.stages(self.presentation)
        except ValueError as exc:
            raise UserError(f"vlm describer: {exc}") from None
        if self.family == FLORENCE and self.presentation not in ("box", "crop"):
            raise UserError(f"vlm describer: Florence-2 answers one region per call; use presentation "
                            f"box or crop, not {self.presentation}")  # fmt: skip
        if self.family != FLORENCE and self.presentation == "box":
            raise UserError("vlm describer: presentation 'box' is Florence-2's; use overlay, crop, "
                            "crop+overlay or overlay+crop")  # fmt: skip
        # the commit actually found in the local HF cache (a manifest's "main" resolves to a sha here)
        self.commit = getattr(config, "_commit_hash", None)
        self.model_key = (local_model_key(self.model_id) if is_local(self.model_id)
                          else f"{self.model_id}@{self.commit or self.revision or 'unpinned'}")  # fmt: skip
        self.device = pick_device(device)  # one-line UserErrors now, not at the first image
        torch_dtype(dtype)
        self.prompt_hash = pr.prompt_hash(self.prompts, self.presentation, self.hints)
        # cached decisions also depend on how hard the model was asked and on its number format
        settings = (
            f"{self.prompt_hash}|{self.max_new_tokens}|{self.max_retries}|{self.seed}|{torch_dtype(dtype)}"
            f"|{self.min_confidence}"
        )
        self.cache_hash = hashlib.sha256(settings.encode()).hexdigest()[:16]
        self.cache = DescriptionCache(cache_dir) if cache_dir else None
        self._fallback = fallback
        self._model: Any = None
        self._processor: Any = None
        self.stats = {"generate_calls": 0, "prompts": 0, "regions": 0, "cache_hits": 0, "fallback_regions": 0}

    def __getstate__(self) -> dict[str, Any]:  # ship to workers without the loaded weights
        state = dict(self.__dict__)
        state["_model"] = state["_processor"] = None
        return state

    # ---- model -------------------------------------------------------------------------------

    def load(self) -> None:
        """Load processor and model (once) onto the chosen device and dtype."""
        if self._model is not None:
            return
        from transformers import AutoModelForImageTextToText, AutoProcessor

        kw = {
            "what": "vlm describer model",
            "revision": self.revision,
            "trust_remote_code": self.trust_remote_code,
        }
        self._processor = load_pretrained(AutoProcessor, self.model_id, **kw)
        if self.family == FLORENCE:
            from transformers import Florence2ForConditionalGeneration as loader
        else:
            loader = AutoModelForImageTextToText
            tok = getattr(self._processor, "tokenizer", None)
            if tok is not None:
                tok.padding_side = "left"  # decoder-only generation needs prompts right-aligned
        model = load_pretrained(loader, self.model_id, dtype=torch_dtype(self.dtype_name), **kw)
        self._model = model.to(self.device).eval()

    def _max_tokens(self, job: Job) -> int:
        if self.max_new_tokens:
            return int(self.max_new_tokens)
        return 48 + 40 * len(job.numbers) if job.kind == "overlay" else 64

    def generate(self, jobs: list[Job], attempt: int) -> list[Answer]:
        """Raw decoded answers of ``jobs`` (same order) with the model's confidence in each,
        ``batch_size`` prompts per generate call."""
        import torch
        from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

        self.load()
        out: list[Answer] = []
        for start in range(0, len(jobs), self.batch_size):
            batch = jobs[start : start + self.batch_size]
            proc, model = self._processor, self._model
            if self.family == FLORENCE:
                inputs = proc(text=[j.text for j in batch], images=[pres.to_pil(j.images[0]) for j in batch],
                              return_tensors="pt", padding=True)  # fmt: skip
            else:
                texts = []
                for j in batch:
                    content = [{"type": "image"} for _ in j.images] + [{"type": "text", "text": j.text}]
                    msgs = [{"role": "user", "content": content}]
                    texts.append(proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False))
                images = [[pres.to_pil(im) for im in j.images] for j in batch]
                inputs = proc(text=texts, images=images, return_tensors="pt", padding=True)
            inputs = inputs.to(self.device)
            for key, value in inputs.items():
                if torch.is_floating_point(value):
                    inputs[key] = value.to(model.dtype)
            cfg = copy.deepcopy(model.generation_config)
            cfg.max_new_tokens = max(self._max_tokens(j) for j in batch)
            cfg.return_dict_in_generate = True
            cfg.output_logits = cfg.output_scores = False
            sample = any(j.sample for j in batch)
            recorder = chosen_token_recorder()  # the confidence, one step of logits at a time
            processors = LogitsProcessorList([recorder])
            # warpers come after the recorder (so it sees the model's distribution), not from cfg
            cfg.do_sample, cfg.temperature, cfg.top_p, cfg.top_k = sample, None, None, None
            if sample:
                processors += [TemperatureLogitsWarper(0.7), TopPLogitsWarper(0.9)]
            cuda = [torch.device(self.device).index or 0] if str(self.device).startswith("cuda") else []
            with torch.random.fork_rng(devices=cuda), torch.inference_mode():  # callers' RNG untouched
                if sample:
                    torch.manual_seed(self.seed + attempt)
                res = model.generate(**inputs, generation_config=cfg, logits_processor=processors)
            self.stats["generate_calls"] += 1
            self.stats["prompts"] += len(batch)
            seqs = res.sequences
            if not model.config.is_encoder_decoder:
                seqs = seqs[:, inputs["input_ids"].shape[1] :]
            eos = cfg.eos_token_id if isinstance(cfg.eos_token_id, list) else [cfg.eos_token_id]
            logp = recorder.finish(res.sequences)
            generated = res.sequences[:, res.sequences.shape[1] - logp.shape[1] :]
            conf = token_confidence(logp, generated, [e for e in eos if e is not None])
            texts = proc.batch_decode(seqs, skip_special_tokens=True)
            out.extend(Answer(t, c) for t, c in zip(texts, conf))
        return out

    # ---- describing ----------------------------------------------------------------------------

    def describe(self, image: np.ndarray, label_map: np.ndarray, regions: list[RegionInfo]) -> DescribeResult:
        """K valid, distinct descriptions of the regions 1..K of ``label_map`` (see Describer)."""
        return self.describe_batch([(image, label_map, regions)])[0]

    def describe_batch(
        self, items: list[tuple[np.ndarray, np.ndarray, list[RegionInfo]]]
    ) -> list[DescribeResult]:
        """``describe`` for several images at once: prompts of all images share generate batches."""
        return run_flow(self, items)

    def fallback_describer(self) -> Any:
        if self._fallback is None:
            from textureade.describe.offline import OfflineDescriber

            self._fallback = OfflineDescriber()
        return self._fallback

    def region_key(self, img_h: str, label_map: np.ndarray, rid: int, group: list[int] | None) -> str:
        """Cache key of region ``rid``; presentations with an overlay stage include the group's layout."""
        context = None
        if "overlay" in self.presentation and group:
            context = np.where(np.isin(label_map, group), label_map, 0)
        return cache_key(img_h, mask_hash(label_map == rid, context), self.model_key, self.cache_hash)

    def provenance(self) -> dict[str, Any]:
        return {
            "describer": self.name,
            "model": self.model_id,
            "revision": self.revision,
            "commit": self.commit,
            "model_key": self.model_key,
            "family": self.family,
            "presentation": self.presentation,
            "prompt_hash": self.prompt_hash,
            "cache_hash": self.cache_hash,
            "hints": self.hints,
            "decoding": {
                "first": "greedy",
                "sampled_retries": "temperature 0.7, top_p 0.9",
                "seed": self.seed,
            },
            "max_retries": self.max_retries,
            "min_confidence": self.min_confidence,
        }


__all__ = ["VlmDescriber", "image_hash", "read_describer_manifest"]
