"""A minimal LoRA wrapper for ``nn.Linear`` layers (no peft dependency).

``LoraLinear(base, r, alpha)`` computes ``base(x) + (x @ A^T @ B^T) * alpha / r`` with
``lora_A: Linear(in, r, bias=False)`` and ``lora_B: Linear(r, out, bias=False)``; B starts at zero
so a fresh wrapper leaves the output unchanged. ``apply_lora`` swaps the named Linear layers of a
model in place. The adapter runs in float32 (like peft's default autocast of adapters) and its
result is cast back to the input dtype. Imported lazily (it imports torch at module level).
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn  # this module is imported lazily, by code that already needs torch


class LoraLinear(nn.Module):
    """A frozen Linear plus a trainable low-rank update. Shapes: x (..., in) -> (..., out)."""

    def __init__(self, base: Any, r: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        if r <= 0:
            raise ValueError(f"LoRA rank must be positive, got {r}")
        self.base = base
        self.r, self.alpha, self.scaling = int(r), float(alpha), float(alpha) / int(r)
        device = base.weight.device
        self.lora_A = nn.Linear(base.in_features, r, bias=False, device=device)
        self.lora_B = nn.Linear(r, base.out_features, bias=False, device=device)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        nn.init.kaiming_uniform_(self.lora_A.weight, a=5**0.5)
        nn.init.zeros_(self.lora_B.weight)
        for p in self.base.parameters():
            p.requires_grad_(False)

    @property
    def weight(self) -> Any:  # some callers read .weight of q_proj/v_proj (dtype/device probes)
        return self.base.weight

    def forward(self, x: Any) -> Any:
        out = self.base(x)
        h = self.lora_B(self.lora_A(self.dropout(x.to(self.lora_A.weight.dtype))))
        return out + (h * self.scaling).to(out.dtype)


def apply_lora(
    model: Any, targets: tuple[str, ...], r: int, alpha: float, prefix: str = "", dropout: float = 0.0
) -> list[str]:
    """Wrap every ``nn.Linear`` whose name ends in one of ``targets`` and starts with ``prefix``.

    Returns the wrapped module names (sorted). Raises ValueError when nothing matched.
    """
    names = sorted(
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.startswith(prefix) and name.rsplit(".", 1)[-1] in targets
    )
    if not names:
        raise ValueError(f"no Linear layer named {targets} under {prefix!r}")
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoraLinear(getattr(parent, child), r, alpha, dropout))
    return names
