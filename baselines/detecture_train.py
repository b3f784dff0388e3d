"""DETECTURE training (`bench train --method detecture`): the model-specific half of
:mod:`benchmark.training`, following the published recipe ``manifests/train/detecture.yaml``.

What trains (everything else is frozen, bit for bit):
- stage 1 (epochs 1..``stage1_epochs``): Bridge, mask head and dustbin embedding; the VLM runs
  without gradients (its LoRA and ``<|seg|>`` rows are frozen and the seg states detached);
- stage 2: + the VLM's LoRA (r=8, alpha=16, q_proj/v_proj of the language model) and the
  ``<|seg|>`` rows of ``embed_tokens`` and ``lm_head``; the Bridge's base LR is multiplied by
  ``stage2_bridge_factor`` once, at stage-2 entry. SAM 3 (resizer included) never trains.
The ``<|seg|>`` rows start as copies of ``<|im_end|>``'s. The authors unfreeze the whole embedding
and lm_head tensors with a gradient mask; here the two rows are their own float32 parameters,
spliced in by forward hooks (same function, same gradient, and no AdamW weight decay can touch
the other rows). Checkpoints hold the full tensors with the rows written in (the published layout).

One micro-batch: each sample's conversation (system + image + user prompt with N = "between 1 and
6", then ``TEXTURE_i: <description> <|seg|>`` lines and ``<|im_end|>``) is teacher-forced once
with the block-diagonal mask; the last-layer states at the ``<|seg|>`` tokens go through the Bridge,
SAM 3's resizer and the multiplexed SAM 3 mask path (:func:`baselines.detecture_arch.multiplexed_logits`,
the same code as inference). Loss = ce_weight * CE + dice_weight * Dice + lm_weight * LM with the
batch's normalisers (CE per pixel, Dice per live channel, LM per unit weight), each sample
backpropagated on its own (the sum is the batched loss; memory stays one sample deep).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np

from baselines.detecture import SYSTEM_PROMPT, USER_PROMPT, Detecture, assistant_text
from baselines.detecture_train_parts import (
    WarmupCosine,
    lm_loss_sum,
    lm_weights,
    mask_loss_sums,
    training_example,
)
from textureade.errors import UserError
from textureade.hf import load_pretrained, torch_dtype

GROUPS = ("qwen_lora", "bridge", "mask_head", "dustbin", "seg_rows")


class DetectureTrainer:
    """See the module docstring. params: the ``detecture`` method params (vlm, sam3, revisions,
    device, dtype, ...); recipe: the parsed ``manifests/train/detecture.yaml``."""

    def __init__(self, params: dict[str, Any], recipe: dict[str, Any]):
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from baselines import detecture_arch as arch
        from baselines._sam3 import Sam3Grounder
        from baselines.lora import LoraLinear, apply_lora

        self.torch, self.recipe = torch, recipe
        m, self.data, self.loss_cfg = recipe["model"], recipe["data"], recipe["loss"]
        self.grounder = Sam3Grounder(params["sam3"], revision=params.get("sam3_revision"),
                                     device=params.get("device", "auto"), dtype="float32")  # fmt: skip
        self.sam = self.grounder.model.requires_grad_(False)
        self.device, self.dtype = self.grounder.device, torch_dtype(params.get("dtype", "bfloat16"))
        vlm, rev = params["vlm"], params.get("vlm_revision")
        self.processor = load_pretrained(AutoProcessor, vlm, what="vlm processor", revision=rev)
        qwen = load_pretrained(
            AutoModelForImageTextToText, vlm, what="vlm model", revision=rev, dtype=self.dtype
        )
        tok = self.processor.tokenizer
        tok.add_tokens([arch.SEG_TOKEN], special_tokens=True)
        self.seg_id = tok.convert_tokens_to_ids(arch.SEG_TOKEN)
        ref = tok.convert_tokens_to_ids(m["seg_warmstart_token"])
        if ref is None or ref == tok.unk_token_id:
            raise UserError(
                f"recipe: warm-start token {m['seg_warmstart_token']!r} is not in the VLM's vocabulary"
            )
        qwen.resize_token_embeddings(len(tok))
        qwen.requires_grad_(False)
        embed, head = qwen.get_input_embeddings().weight, qwen.get_output_embeddings().weight
        with torch.no_grad():  # warm start: the <|seg|> rows of the frozen tensors too (what is saved)
            embed[self.seg_id] = embed[ref]
            head[self.seg_id] = head[ref]
        self.embed_row = torch.nn.Parameter(embed[ref].detach().float().clone().to(self.device))
        self.head_row = torch.nn.Parameter(head[ref].detach().float().clone().to(self.device))
        qwen.get_input_embeddings().register_forward_hook(self._embed_hook)
        qwen.get_output_embeddings().register_forward_hook(self._head_hook)
        apply_lora(qwen, tuple(m["lora_targets"]), int(m["lora_r"]), float(m["lora_alpha"]),
                   prefix="model.language_model.", dropout=float(m["lora_dropout"]))  # fmt: skip
        self.qwen = qwen.to(self.device)
        if m.get("gradient_checkpointing") and self.device.startswith("cuda"):
            self.qwen.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.lora = [p for n, mod in self.qwen.named_modules() if isinstance(mod, LoraLinear)
                     for p in (mod.lora_A.weight, mod.lora_B.weight)]  # fmt: skip
        cfg, scfg = qwen.config.text_config, self.sam.config
        heads = arch.DetectureHeads(cfg.hidden_size, scfg.text_config.hidden_size,
                                    scfg.detr_encoder_config.hidden_size, float(m["bridge_dropout"]))  # fmt: skip
        with torch.no_grad():
            heads.dustbin_embed.normal_(0.0, 0.02)  # the authors' init: randn * 0.02
        self.heads = heads.to(self.device)
        self.n_layers, self.size = cfg.num_hidden_layers, int(m["image_size"])
        lr = recipe["lr"]
        groups = {"qwen_lora": self.lora, "bridge": list(heads.bridge.parameters()),
                  "mask_head": list(heads.mask_head.parameters()), "dustbin": [heads.dustbin_embed],
                  "seg_rows": [self.embed_row, self.head_row]}  # fmt: skip
        self.optimizer = torch.optim.AdamW(
            [{"params": groups[g], "lr": float(lr[g]), "name": g} for g in GROUPS],
            weight_decay=float(recipe["training"]["weight_decay"]),
        )
        self.scheduler: WarmupCosine | None = None
        self.stage, self.stage2_entered = 1, False
        self.autocast = bool(recipe["training"].get("bf16_autocast")) and self.device.startswith("cuda")
        self.train_mode()

    # ---- the <|seg|> rows ------------------------------------------------------------------
    def _embed_hook(self, module: Any, args: tuple, out: Any) -> Any:
        hit = (args[0] == self.seg_id)[..., None]
        return self.torch.where(hit, self.embed_row.to(out.dtype), out) if bool(hit.any()) else out

    def _head_hook(self, module: Any, args: tuple, out: Any) -> Any:
        col = (args[0] @ self.head_row.to(args[0].dtype)).to(out.dtype)[..., None]
        return self.torch.cat([out[..., : self.seg_id], col, out[..., self.seg_id + 1 :]], dim=-1)

    # ---- the protocol of benchmark.training -------------------------------------------------
    def schedule(self, steps_per_epoch: int) -> None:
        tr = self.recipe["training"]
        self.scheduler = WarmupCosine(self.optimizer, int(tr["warmup_epochs"]) * steps_per_epoch,
                                      int(tr["epochs"]) * steps_per_epoch, float(tr["min_lr"]))  # fmt: skip

    def start_epoch(self, epoch: int) -> int:
        """Freeze/unfreeze for ``epoch`` (0-based); at stage-2 entry decay the Bridge's LR once."""
        self.stage = 1 if epoch < int(self.recipe["curriculum"]["stage1_epochs"]) else 2
        for p in [*self.lora, self.embed_row, self.head_row]:
            p.requires_grad_(self.stage == 2)
        if self.stage == 2 and not self.stage2_entered:
            assert self.scheduler is not None
            i = GROUPS.index("bridge")
            factor = float(self.recipe["curriculum"]["stage2_bridge_factor"])
            self.scheduler.base_lrs[i] *= factor
            self.optimizer.param_groups[i]["lr"] *= factor
            self.stage2_entered = True
        return self.stage

    def train_mode(self) -> None:
        self.qwen.train()
        self.heads.train()

    def _conversation(self, image: np.ndarray, descriptions: list[str]) -> tuple[Any, int]:
        """Processor inputs of the teacher-forced conversation, and the first assistant token's index."""
        n = self.data["train_prompt_n"]
        messages = [{"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": USER_PROMPT.format(N=n)}]}]  # fmt: skip
        chat = self.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        full = chat + assistant_text(descriptions) + "<|im_end|>\n"  # the chat template's assistant turn
        head = self.processor(text=[chat], images=[image], return_tensors="pt")["input_ids"][0]
        inputs = self.processor(text=[full], images=[image], return_tensors="pt")
        if not bool((inputs["input_ids"][0, : len(head)] == head).all()):
            raise UserError(
                "detecture training: the prompt does not tokenise as a prefix of the conversation"
            )
        return inputs.to(self.device), len(head)

    def micro_batch(self, samples: list[Any], keys: list[tuple[int, ...]]) -> dict[str, float]:
        """Forward + backward of one micro-batch (loss / grad_accum); returns its loss terms."""
        d, lc = self.data, self.loss_cfg
        accum = int(self.recipe["training"]["grad_accum"])
        examples = [
            training_example(
                s,
                self.size,
                int(d["max_textures"]),
                float(d["crop_prob"]),
                int(d["crop_min"]),
                int(d["crop_max"]),
                np.random.default_rng(list(k)),
            )  # fmt: skip
            for s, k in zip(samples, keys, strict=True)
        ]
        convs = [self._conversation(e.image, e.descriptions) for e in examples]
        weights = [lm_weights(c[0]["input_ids"][0], c[1], self.seg_id, float(lc["lm_alpha"])) for c in convs]
        n_pix = sum(e.target.size for e in examples)
        n_live = sum(len(e.descriptions) + 1 for e in examples)
        w_total = max(float(sum(w[1:].sum() for w in weights)), 1e-6)
        sums = {"loss_ce": 0.0, "loss_dice": 0.0, "loss_lm": 0.0}
        for ex, (inputs, start), w in zip(examples, convs, weights, strict=True):
            ce, dice, lm = self._sample_sums(ex, inputs, start, w)
            parts = {"loss_ce": ce / n_pix, "loss_dice": dice / n_live, "loss_lm": lm / w_total}
            total = (float(lc["ce_weight"]) * parts["loss_ce"] + float(lc["dice_weight"]) * parts["loss_dice"]
                     + float(lc["lm_weight"]) * parts["loss_lm"])  # fmt: skip
            (total / accum).backward()
            for k, v in parts.items():
                sums[k] += float(v.detach())
        loss = (float(lc["ce_weight"]) * sums["loss_ce"] + float(lc["dice_weight"]) * sums["loss_dice"]
                + float(lc["lm_weight"]) * sums["loss_lm"])  # fmt: skip
        return {"loss": loss / accum, **{k: v / accum for k, v in sums.items()}}

    def _sample_sums(self, ex: Any, inputs: Any, start: int, w: Any) -> tuple[Any, Any, Any]:
        from baselines.detecture_arch import block_diagonal_mask, multiplexed_logits

        torch = self.torch
        ids = inputs["input_ids"]
        amp = torch.autocast("cuda", dtype=torch.bfloat16) if self.autocast else nullcontext()
        grad = nullcontext() if self.stage == 2 else torch.no_grad()
        with amp:
            with grad:
                pos, _ = self.qwen.model.get_rope_index(
                    ids, mm_token_type_ids=inputs["mm_token_type_ids"], image_grid_thw=inputs["image_grid_thw"],
                    attention_mask=torch.ones_like(ids),
                )  # fmt: skip
                out = self.qwen(
                    input_ids=ids, pixel_values=inputs["pixel_values"].to(self.dtype),
                    image_grid_thw=inputs["image_grid_thw"], mm_token_type_ids=inputs["mm_token_type_ids"],
                    attention_mask=block_diagonal_mask(ids[0], self.seg_id, start, self.dtype),
                    position_ids=pos, output_hidden_states=True,
                )  # fmt: skip
                lm = lm_loss_sum(out.logits[0], ids[0], w)
            where = [p for p in (ids[0] == self.seg_id).nonzero().flatten().tolist() if p >= start]
            states = out.hidden_states[-1][0, where].float()
            states = states if self.stage == 2 else states.detach()
            with torch.no_grad():
                pixels = self.grounder.processor(images=ex.image, return_tensors="pt")["pixel_values"]
                vision = self.sam.get_vision_features(pixel_values=pixels.to(self.device, self.sam.dtype))
            logits = multiplexed_logits(self.sam, self.heads, vision, states)
        target = torch.as_tensor(ex.target, device=self.device)
        ce, dice = mask_loss_sums(logits, target, float(self.loss_cfg["dice_smooth"]))
        return ce, dice, lm

    def optimizer_step(self) -> dict[str, float]:
        """Clip, step, zero the gradients, advance the schedule; the grad norm and each group's LR used."""
        torch = self.torch
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.requires_grad]
        norm = torch.nn.utils.clip_grad_norm_(params, float(self.recipe["training"]["max_grad_norm"]))
        used = {f"lr_{g['name']}": float(g["lr"]) for g in self.optimizer.param_groups}
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        assert self.scheduler is not None
        self.scheduler.step()
        return {"grad_norm": float(norm), **used}

    def trainable(self) -> dict[str, Any]:
        """The published ``model_trainable`` dict (full embedding / lm_head with the seg rows in)."""
        from baselines import detecture_arch as arch
        from baselines.lora import LoraLinear

        torch = self.torch
        flat: dict[str, Any] = {}
        with torch.no_grad():
            for key, weight, row in ((arch.EMBED_KEY, self.qwen.get_input_embeddings().weight, self.embed_row),
                                     (arch.LM_HEAD_KEY, self.qwen.get_output_embeddings().weight, self.head_row)):  # fmt: skip
                full = weight.detach().cpu().clone()
                full[self.seg_id] = row.detach().cpu().to(full.dtype)
                flat[key] = full
            for name, mod in self.qwen.named_modules():
                if isinstance(mod, LoraLinear):
                    for ab in ("A", "B"):
                        w = getattr(mod, f"lora_{ab}").weight
                        flat[f"{arch.PEFT_PREFIX}{name}.lora_{ab}.default.weight"] = w.detach().cpu().clone()
            flat.update({k: v.detach().cpu().clone() for k, v in self.heads.state_dict().items()})
        return flat

    def checkpoint(self) -> dict[str, Any]:
        """The published layout (model_trainable, dustbin_embed, optimizer, phase) + our resume state."""
        flat = self.trainable()
        assert self.scheduler is not None
        return {
            "model_trainable": flat, "dustbin_embed": flat["dustbin_embed"], "phase": self.stage,
            "optimizer": self.optimizer.state_dict(),
            "trainer_state": {"scheduler": self.scheduler.state_dict(), "stage": self.stage,
                              "stage2_entered": self.stage2_entered, "embed_row": self.embed_row.detach().cpu(),
                              "head_row": self.head_row.detach().cpu()},
        }  # fmt: skip

    def load_checkpoint(self, ckpt: dict[str, Any]) -> None:
        """Restore every trainable tensor, the optimizer, the schedule and the stage (resume)."""
        from baselines import detecture_arch as arch
        from baselines.lora import LoraLinear

        torch, flat, st = self.torch, ckpt["model_trainable"], ckpt["trainer_state"]
        with torch.no_grad():
            for name, mod in self.qwen.named_modules():
                if isinstance(mod, LoraLinear):
                    for ab in ("A", "B"):
                        getattr(mod, f"lora_{ab}").weight.copy_(
                            flat[f"{arch.PEFT_PREFIX}{name}.lora_{ab}.default.weight"]
                        )
            self.heads.load_state_dict({k: flat[k] for k in self.heads.state_dict()}, strict=True)
            self.embed_row.copy_(st["embed_row"])
            self.head_row.copy_(st["head_row"])
        self.stage, self.stage2_entered = int(st["stage"]), bool(st["stage2_entered"])
        for p in [*self.lora, self.embed_row, self.head_row]:
            p.requires_grad_(self.stage == 2)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        assert self.scheduler is not None
        self.scheduler.load_state_dict(st["scheduler"])

    def predictor(self) -> Detecture:
        """The ``detecture`` method over these very modules (eval mode), for the live validation."""
        self.qwen.eval()
        self.heads.eval()
        ev = self.recipe["eval"]
        return Detecture.from_parts(self.grounder, self.processor, self.qwen, self.heads, self.dtype,
                                    max_new_tokens=int(ev["max_new_tokens"]), image_size=self.size)  # fmt: skip

    def eval_extras(self, pred: Any) -> dict[str, float]:
        """Per-image extras averaged into eval.csv: did the model emit ``<|seg|>``; how many regions."""
        return {"seg_emitted": 0.0 if pred.extras.get("seg_fallback", True) else 1.0,
                "k_pred": float(pred.extras.get("k_pred", 0))}  # fmt: skip
